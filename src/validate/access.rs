//! Rules for who reaches the dnodes: the client Service and the ServiceAccount (the
//! NetworkPolicy has `network.rs`).

use super::Validator;
use super::network::is_cidr;
use crate::model::ClientServiceSettings;
use crate::spec;
use crate::tdengine;

impl Validator {
    pub(super) fn service_account(&mut self, account: spec::ServiceAccount, name: &str) -> Option<(bool, String)> {
        let create = account.create.unwrap_or(false);
        let account_name = match (create, account.name) {
            (_, Some(n)) => n,
            (true, None) => name.to_owned(),
            (false, None) => return None,
        };
        self.subdomain_opt("spec.serviceAccount.name", Some(account_name.clone()));
        if !create {
            self.note(
                "service-account-external",
                "spec.serviceAccount.name",
                format!("the pods run as ServiceAccount `{account_name}`, which tdgen does not render"),
                format!("create it in the cluster's namespace before applying: until it exists the StatefulSet controller creates no pod (`error looking up service account <namespace>/{account_name}`)"),
            );
        }
        Some((create, account_name))
    }

    pub(super) fn client_service(&mut self, service: spec::ClientService) -> Option<ClientServiceSettings> {
        if !service.enabled.unwrap_or(true) {
            return None;
        }
        let type_ = service.type_.unwrap_or_else(|| "ClusterIP".into());
        self.one_of(
            "spec.clientService.type",
            &type_,
            &["ClusterIP", "NodePort", "LoadBalancer"],
        );
        let external = service.external_traffic_policy;
        if let Some(policy) = &external {
            self.one_of(
                "spec.clientService.externalTrafficPolicy",
                policy,
                &["Cluster", "Local"],
            );
            if type_ == "ClusterIP" {
                self.error(
                    "external-policy-needs-external-service",
                    "spec.clientService.externalTrafficPolicy",
                    "externalTrafficPolicy applies only to NodePort and LoadBalancer Services".into(),
                    "set spec.clientService.type, or remove the field",
                );
            }
        }
        let ranges = service.load_balancer_source_ranges.unwrap_or_default();
        for (i, range) in ranges.iter().enumerate() {
            if !is_cidr(range) {
                self.error(
                    "invalid-cidr",
                    &format!("spec.clientService.loadBalancerSourceRanges[{i}]"),
                    format!("`{range}` is not a CIDR"),
                    "write it like `10.0.0.0/8` or `2001:db8::/32`",
                );
            }
        }
        if !ranges.is_empty() && type_ != "LoadBalancer" {
            self.warn(
                "source-ranges-ignored",
                "spec.clientService.loadBalancerSourceRanges",
                "loadBalancerSourceRanges only apply to LoadBalancer Services".into(),
                "set spec.clientService.type: LoadBalancer, or remove them",
            );
        }
        if type_ == "NodePort" || type_ == "LoadBalancer" {
            self.note("native-clients-need-dnode-fqdns", "spec.clientService.type", format!("a {type_} Service carries REST/WebSocket ({}) to clients outside the cluster, not the native protocol", tdengine::ADAPTER.port), format!("native clients ({}) learn each dnode's FQDN from the mnode and connect to it directly, which only resolves inside the cluster", tdengine::DEFAULT_SERVER_PORT));
        }
        let annotations = self.annotation_map(
            "spec.clientService.annotations",
            service.annotations.unwrap_or_default(),
        );
        Some(ClientServiceSettings {
            type_,
            annotations,
            load_balancer_source_ranges: ranges,
            external_traffic_policy: external,
        })
    }
}
