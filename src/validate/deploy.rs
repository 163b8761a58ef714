//! Rules for the production deployment knobs, resolved into [`Deploy`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, EnvVar, Toleration, Volume, VolumeMount};

use super::Validator;
use super::names::{dns_label, dns_subdomain, qualified_name};
use crate::quantity::Quantity;
use crate::source::join_path;
use crate::spec::{self, AntiAffinityMode, ClusterSpec, ConfigMode, SecurityProfile};
use crate::version::Version;

/// The oldest Kubernetes version tdgen renders for, and the default target.
pub const MIN_KUBERNETES: u32 = 25;
/// The newest Kubernetes version tdgen knows.
pub const MAX_KUBERNETES: u32 = 37;
/// Default target: the oldest version still in wide use on managed platforms.
pub const DEFAULT_KUBERNETES: u32 = 29;
/// TDengine versions that read the root password from a Secret.
pub const PASSWORD_ENV_SINCE: Version = Version([3, 3, 6, 6]);
/// TDengine versions that read the root password from a mounted file.
pub const PASSWORD_FILE_SINCE: Version = Version([3, 3, 8, 8]);
/// TDengine versions whose `taos-check` has `startup` / `service` modes.
pub const PROBE_MODES_SINCE: Version = Version([3, 4, 1, 0]);

/// Environment variable names tdgen sets itself.
pub const OWNED_ENV: [&str; 13] = [
    "POD_NAME",
    "SERVICE_NAME",
    "STS_NAME",
    "STS_NAMESPACE",
    "TZ",
    "TAOS_SERVER_PORT",
    "TAOS_FIRST_EP",
    "TAOS_FQDN",
    "TAOS_DISABLE_ADAPTER",
    "TAOS_DISABLE_KEEPER",
    "TAOS_DISABLE_EXPLORER",
    "TAOS_ROOT_PASSWORD",
    "TAOS_ROOT_PASSWORD_FILE",
];
/// Volume names tdgen uses itself.
pub const OWNED_VOLUMES: [&str; 5] = ["taosdata", "taoslog", "taoscfg", "root-password", "tmp"];

/// How the root password reaches the pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordDelivery {
    /// `TAOS_ROOT_PASSWORD_FILE` pointing at the mounted Secret key (TDengine >= 3.3.8.8).
    File,
    /// `TAOS_ROOT_PASSWORD` from `secretKeyRef` (TDengine >= 3.3.6.6).
    Env,
}

/// A reference to the root password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRef {
    /// Secret name.
    pub secret_name: String,
    /// Key in the Secret.
    pub key: String,
    /// How it is delivered.
    pub delivery: PasswordDelivery,
}

/// The resolved client Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientServiceSettings {
    /// Service type.
    pub type_: String,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// LoadBalancer source ranges.
    pub load_balancer_source_ranges: Vec<String>,
    /// External traffic policy (NodePort / LoadBalancer only).
    pub external_traffic_policy: Option<String>,
}

/// The resolved production knobs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Deploy {
    /// Oldest Kubernetes minor version (1.x) the output must apply to.
    pub kubernetes_minor: u32,
    /// How spec.config reaches taosd.
    pub config_mode: ConfigMode,
    /// Canonical resource requests.
    pub requests: BTreeMap<String, String>,
    /// Canonical resource limits.
    pub limits: BTreeMap<String, String>,
    /// Node selector.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations.
    pub tolerations: Vec<Toleration>,
    /// Raw affinity.
    pub affinity: Option<Affinity>,
    /// Anti-affinity mode.
    pub anti_affinity: AntiAffinityMode,
    /// Anti-affinity topology key.
    pub anti_affinity_topology_key: String,
    /// Weight of a preferred anti-affinity term.
    pub anti_affinity_weight: i32,
    /// Zone spread: topology key, max skew, whenUnsatisfiable.
    pub topology_spread: Option<(String, i32, String)>,
    /// PriorityClass.
    pub priority_class_name: Option<String>,
    /// Pod termination grace period.
    pub termination_grace_period_seconds: i64,
    /// Pod-only labels.
    pub pod_labels: BTreeMap<String, String>,
    /// Pod-only annotations.
    pub pod_annotations: BTreeMap<String, String>,
    /// PDB: maxUnavailable and unhealthy-pod eviction policy.
    pub disruption_budget: Option<(i32, String)>,
    /// NetworkPolicy: client peers and DNS selector.
    pub network_policy: Option<(Vec<spec::ClientPeer>, BTreeMap<String, String>)>,
    /// ServiceAccount: (create, name).
    pub service_account: Option<(bool, String)>,
    /// Image pull secrets.
    pub image_pull_secrets: Vec<String>,
    /// Security profile.
    pub security_profile: SecurityProfile,
    /// UID/GID for the hardened profile.
    pub run_as_user: i64,
    /// The client Service, when enabled.
    pub client_service: Option<ClientServiceSettings>,
    /// taosAdapter on.
    pub adapter: bool,
    /// taosKeeper on.
    pub keeper: bool,
    /// taosExplorer on.
    pub explorer: bool,
    /// Log volume: canonical size and storage class.
    pub logs: Option<(String, Option<String>)>,
    /// PVC retention (whenDeleted, whenScaled).
    pub retention: (String, String),
    /// Root password reference.
    pub root_password: Option<PasswordRef>,
    /// Mnode bootstrap Job: seconds to wait for dnodes.
    pub mnode_bootstrap: Option<i64>,
    /// Extra env.
    pub extra_env: Vec<EnvVar>,
    /// Extra volumes.
    pub extra_volumes: Vec<Volume>,
    /// Extra volume mounts.
    pub extra_volume_mounts: Vec<VolumeMount>,
    /// Whether the image's taos-check has `startup` / `service` modes.
    pub probe_modes: bool,
}

impl Validator {
    /// Resolve and check every production knob.
    pub(super) fn deploy(
        &mut self,
        c: &ClusterSpec,
        name: &str,
        dnodes: u32,
        mnodes: u32,
        version: Option<Version>,
    ) -> Deploy {
        let kubernetes_minor = self.kubernetes_version(c.kubernetes_version.as_deref());
        let resources = c.resources.clone().unwrap_or_default();
        let (requests, limits) = self.resources(
            resources.requests.unwrap_or_default(),
            resources.limits.unwrap_or_default(),
        );
        let anti = c.anti_affinity.clone().unwrap_or_default();
        let pod = c.pod.clone().unwrap_or_default();
        let components = c.components.clone().unwrap_or_default();
        let enabled =
            |component: Option<spec::Component>, default: bool| component.and_then(|c| c.enabled).unwrap_or(default);
        let security = c.security.clone().unwrap_or_default();
        let deploy = Deploy {
            kubernetes_minor,
            config_mode: c.config_mode.unwrap_or(ConfigMode::Env),
            requests,
            limits,
            node_selector: self.label_map("spec.nodeSelector", c.node_selector.clone().unwrap_or_default(), false),
            tolerations: c.tolerations.clone().unwrap_or_default(),
            affinity: c.affinity.clone(),
            anti_affinity: anti.mode.unwrap_or(AntiAffinityMode::Preferred),
            anti_affinity_topology_key: self.topology_key(
                "spec.antiAffinity.topologyKey",
                anti.topology_key,
                "kubernetes.io/hostname",
            ),
            anti_affinity_weight: self.bounded("spec.antiAffinity.weight", anti.weight, 100, 1, 100),
            topology_spread: self.topology_spread(c.topology_spread.clone().unwrap_or_default()),
            priority_class_name: self.subdomain_opt("spec.priorityClassName", c.priority_class_name.clone()),
            termination_grace_period_seconds: self.grace_period(c.termination_grace_period_seconds),
            pod_labels: self.label_map("spec.pod.labels", pod.labels.unwrap_or_default(), true),
            pod_annotations: self.annotation_map("spec.pod.annotations", pod.annotations.unwrap_or_default()),
            disruption_budget: self.disruption_budget(
                c.disruption_budget.clone().unwrap_or_default(),
                dnodes,
                kubernetes_minor,
            ),
            network_policy: self.network_policy(c.network_policy.clone().unwrap_or_default()),
            service_account: self.service_account(c.service_account.clone().unwrap_or_default(), name),
            image_pull_secrets: self.names_list(
                "spec.imagePullSecrets",
                c.image_pull_secrets.clone().unwrap_or_default(),
            ),
            security_profile: security.profile.unwrap_or(SecurityProfile::OfficialImage),
            run_as_user: self
                .bounded(
                    "spec.security.runAsUser",
                    security.run_as_user,
                    10001,
                    1,
                    i64::from(i32::MAX),
                )
                .into(),
            client_service: self.client_service(c.client_service.clone().unwrap_or_default()),
            adapter: enabled(components.adapter, true),
            keeper: enabled(components.keeper, false),
            explorer: enabled(components.explorer, false),
            logs: self.log_volume(c.storage.clone().and_then(|s| s.logs)),
            retention: self.retention(
                c.storage.clone().and_then(|s| s.retention).unwrap_or_default(),
                kubernetes_minor,
            ),
            root_password: self.root_password(c.root_password.clone(), version),
            mnode_bootstrap: self.mnode_bootstrap(c.mnode_bootstrap.clone().unwrap_or_default(), mnodes),
            extra_env: self.extra_env(c.extra_env.clone().unwrap_or_default(), config_variables(c)),
            extra_volumes: c.extra_volumes.clone().unwrap_or_default(),
            extra_volume_mounts: c.extra_volume_mounts.clone().unwrap_or_default(),
            probe_modes: version.is_some_and(|v| v >= PROBE_MODES_SINCE),
        };
        self.volumes(&deploy);
        deploy
    }

    fn kubernetes_version(&mut self, text: Option<&str>) -> u32 {
        let Some(text) = text else { return DEFAULT_KUBERNETES };
        let minor = text
            .trim_start_matches('v')
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok());
        match minor {
            Some(m) if (MIN_KUBERNETES..=MAX_KUBERNETES).contains(&m) => m,
            _ => {
                self.error("kubernetes-version", "spec.kubernetesVersion", format!("`{text}` is not a Kubernetes version tdgen renders for"), format!("write `1.{MIN_KUBERNETES}` to `1.{MAX_KUBERNETES}`: the oldest API server the manifests must apply to"));
                DEFAULT_KUBERNETES
            }
        }
    }

    fn resources(
        &mut self,
        requests: BTreeMap<String, String>,
        limits: BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let mut canonical = |which: &str, map: BTreeMap<String, String>| -> BTreeMap<String, (String, i128)> {
            let mut out = BTreeMap::new();
            for (resource, text) in map {
                let path = join_path(&format!("spec.resources.{which}"), &resource);
                if !["cpu", "memory", "ephemeral-storage"].contains(&resource.as_str())
                    && !resource.starts_with("hugepages-")
                {
                    self.error(
                        "unknown-resource",
                        &path,
                        format!("`{resource}` is not a container resource"),
                        "use `cpu`, `memory`, `ephemeral-storage` or `hugepages-<size>`",
                    );
                    continue;
                }
                match Quantity::parse(&text) {
                    Ok(q) => {
                        let spelled = q.canonical();
                        if spelled != text {
                            self.warn("non-canonical-quantity", &path, format!("`{text}` is not the canonical spelling of this quantity"), format!("write `{spelled}`: the API server stores `{spelled}`, so GitOps tools would show a permanent diff (tdgen renders `{spelled}`)"));
                        }
                        out.insert(resource, (spelled, q.milli_units()));
                    }
                    Err(e) => self.error(
                        "invalid-quantity",
                        &path,
                        e.to_string(),
                        "use a quantity such as `500m` or `2` for cpu, `8Gi` for memory",
                    ),
                }
            }
            out
        };
        let requests = canonical("requests", requests);
        let limits = canonical("limits", limits);
        for (resource, (limit, limit_value)) in &limits {
            if let Some((request, request_value)) = requests.get(resource)
                && request_value > limit_value
            {
                self.error(
                    "request-exceeds-limit",
                    &join_path("spec.resources.requests", resource),
                    format!("the {resource} request {request} exceeds its limit {limit}"),
                    "Kubernetes rejects the pod; raise the limit or lower the request",
                );
            }
        }
        let strip = |m: BTreeMap<String, (String, i128)>| m.into_iter().map(|(k, (v, _))| (k, v)).collect();
        (strip(requests), strip(limits))
    }

    fn topology_key(&mut self, path: &str, key: Option<String>, default: &str) -> String {
        let key = key.unwrap_or_else(|| default.to_owned());
        if let Err(why) = qualified_name(&key) {
            self.error(
                "invalid-topology-key",
                path,
                format!("`{key}` is not a valid topology key: {why}"),
                format!("use a node label key such as `{default}`"),
            );
        }
        key
    }

    fn bounded(&mut self, path: &str, value: Option<i64>, default: i64, min: i64, max: i64) -> i32 {
        let value = value.unwrap_or(default);
        if !(min..=max).contains(&value) {
            self.error(
                "out-of-range",
                path,
                format!("{value} is outside {min}..{max}"),
                format!("use a value from {min} to {max}"),
            );
            return i32::try_from(default).unwrap_or(i32::MAX);
        }
        i32::try_from(value).unwrap_or(i32::MAX)
    }

    fn topology_spread(&mut self, spread: spec::TopologySpread) -> Option<(String, i32, String)> {
        if !spread.enabled.unwrap_or(false) {
            return None;
        }
        let key = self.topology_key(
            "spec.topologySpread.topologyKey",
            spread.topology_key,
            "topology.kubernetes.io/zone",
        );
        let skew = self.bounded("spec.topologySpread.maxSkew", spread.max_skew, 1, 1, 1000);
        let when = spread.when_unsatisfiable.unwrap_or_else(|| "ScheduleAnyway".into());
        self.one_of(
            "spec.topologySpread.whenUnsatisfiable",
            &when,
            &["ScheduleAnyway", "DoNotSchedule"],
        );
        Some((key, skew, when))
    }

    fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            let suggestion = crate::suggest::did_you_mean(value, allowed.iter().copied());
            self.error(
                "invalid-choice",
                path,
                format!("`{value}` is not one of {}", allowed.join(", ")),
                format!("{suggestion}values are case-sensitive"),
            );
        }
    }

    fn subdomain_opt(&mut self, path: &str, name: Option<String>) -> Option<String> {
        if let Some(name) = &name
            && let Err(why) = dns_subdomain(name)
        {
            self.error(
                "invalid-reference-name",
                path,
                format!("`{name}` is not a valid object name: {why}"),
                "object names are lowercase DNS subdomains",
            );
        }
        name
    }

    fn names_list(&mut self, base: &str, names: Vec<String>) -> Vec<String> {
        for (i, name) in names.iter().enumerate() {
            self.subdomain_opt(&format!("{base}[{i}]"), Some(name.clone()));
        }
        names
    }

    fn grace_period(&mut self, value: Option<i64>) -> i64 {
        let value = value.unwrap_or(60);
        if value < 1 {
            self.error(
                "grace-period",
                "spec.terminationGracePeriodSeconds",
                format!("{value} s gives taosd no time to stop"),
                "StatefulSet pods must stop gracefully (Kubernetes calls 0 unsafe); 60 or more lets taosd flush",
            );
            return 60;
        }
        value
    }

    fn disruption_budget(&mut self, pdb: spec::DisruptionBudget, dnodes: u32, minor: u32) -> Option<(i32, String)> {
        let enabled = pdb.enabled.unwrap_or(dnodes >= 3);
        if !enabled {
            return None;
        }
        if dnodes < 2 {
            self.warn(
                "pdb-single-dnode",
                "spec.disruptionBudget.enabled",
                format!("a disruption budget over {dnodes} dnode blocks every node drain"),
                "leave it off for a single dnode",
            );
        }
        let max = pdb.max_unavailable.unwrap_or(1);
        if max < 1 {
            self.error(
                "pdb-blocks-drains",
                "spec.disruptionBudget.maxUnavailable",
                format!("maxUnavailable {max} blocks every voluntary eviction, so node drains hang forever"),
                "use 1: one dnode at a time keeps every 3-replica RAFT group writable",
            );
        } else if max > 1 && dnodes >= 3 {
            self.warn(
                "pdb-loses-quorum",
                "spec.disruptionBudget.maxUnavailable",
                format!("maxUnavailable {max} lets a drain take {max} dnodes at once"),
                "3-replica databases and 3 mnodes lose their majority with 2 dnodes down; use 1",
            );
        }
        let policy = pdb
            .unhealthy_pod_eviction_policy
            .unwrap_or_else(|| "AlwaysAllow".into());
        self.one_of(
            "spec.disruptionBudget.unhealthyPodEvictionPolicy",
            &policy,
            &["AlwaysAllow", "IfHealthyBudget"],
        );
        if minor < 27 {
            self.note(
                "field-needs-newer-kubernetes",
                "spec.kubernetesVersion",
                format!("unhealthyPodEvictionPolicy needs Kubernetes 1.27; it is left out for 1.{minor}"),
                "raise spec.kubernetesVersion once every cluster runs 1.27 or later",
            );
        }
        Some((max.clamp(1, i64::from(i32::MAX)) as i32, policy))
    }

    fn network_policy(
        &mut self,
        policy: spec::NetworkPolicy,
    ) -> Option<(Vec<spec::ClientPeer>, BTreeMap<String, String>)> {
        if !policy.enabled.unwrap_or(false) {
            return None;
        }
        let clients = policy.clients.unwrap_or_default();
        for (i, client) in clients.iter().enumerate() {
            self.label_map(
                &format!("spec.networkPolicy.clients[{i}].podSelector"),
                client.pod_selector.clone().unwrap_or_default(),
                false,
            );
            self.label_map(
                &format!("spec.networkPolicy.clients[{i}].namespaceSelector"),
                client.namespace_selector.clone().unwrap_or_default(),
                false,
            );
        }
        if clients.is_empty() {
            self.note(
                "network-policy-no-clients",
                "spec.networkPolicy",
                "no clients are allowed: only the dnodes reach each other".into(),
                "list the client pods' labels, e.g. `clients: [{podSelector: {app: ingest}}]`",
            );
        }
        let dns = policy
            .dns_selector
            .unwrap_or_else(|| BTreeMap::from([("k8s-app".to_owned(), "kube-dns".to_owned())]));
        Some((clients, self.label_map("spec.networkPolicy.dnsSelector", dns, false)))
    }

    fn service_account(&mut self, account: spec::ServiceAccount, name: &str) -> Option<(bool, String)> {
        let create = account.create.unwrap_or(false);
        let account_name = match (create, account.name) {
            (_, Some(n)) => n,
            (true, None) => name.to_owned(),
            (false, None) => return None,
        };
        self.subdomain_opt("spec.serviceAccount.name", Some(account_name.clone()));
        Some((create, account_name))
    }

    fn client_service(&mut self, service: spec::ClientService) -> Option<ClientServiceSettings> {
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
            self.note("native-clients-need-dnode-fqdns", "spec.clientService.type", format!("a {type_} Service carries REST/WebSocket (6041) to clients outside the cluster, not the native protocol"), "native clients (6030) learn each dnode's FQDN from the mnode and connect to it directly, which only resolves inside the cluster");
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

    fn log_volume(&mut self, logs: Option<spec::Volume>) -> Option<(String, Option<String>)> {
        let logs = logs?;
        let (size, _) = self.size("spec.storage.logs.size", logs.size.as_deref().unwrap_or("1Gi"));
        let class = logs.storage_class_name.flatten();
        self.storage_class("spec.storage.logs.storageClassName", class.as_deref());
        Some((size, class))
    }

    fn retention(&mut self, retention: spec::RetentionPolicy, minor: u32) -> (String, String) {
        let deleted = retention.when_deleted.unwrap_or_else(|| "Retain".into());
        let scaled = retention.when_scaled.unwrap_or_else(|| "Retain".into());
        self.one_of("spec.storage.retention.whenDeleted", &deleted, &["Retain", "Delete"]);
        self.one_of("spec.storage.retention.whenScaled", &scaled, &["Retain", "Delete"]);
        if scaled == "Delete" {
            self.warn("retention-delete-on-scale", "spec.storage.retention.whenScaled", "PVCs are deleted as soon as the StatefulSet scales in".into(), "only safe after `drop dnode` moved the dnode's vnodes away; a scale-in without it loses that dnode's data (see `tdgen plan scale`)");
        }
        if minor < 27 && (deleted != "Retain" || scaled != "Retain") {
            self.error(
                "field-needs-newer-kubernetes",
                "spec.storage.retention",
                format!("PVC retention policies need Kubernetes 1.27 (the field is ignored by 1.{minor})"),
                "raise spec.kubernetesVersion, or delete PVCs by hand",
            );
        }
        (deleted, scaled)
    }

    fn root_password(
        &mut self,
        reference: Option<spec::SecretKeyRef>,
        version: Option<Version>,
    ) -> Option<PasswordRef> {
        let reference = reference?;
        let path = "spec.rootPassword";
        let secret_name = reference.secret_name.unwrap_or_default();
        if let Err(why) = dns_subdomain(&secret_name) {
            self.error(
                "invalid-reference-name",
                "spec.rootPassword.secretName",
                format!("`{secret_name}` is not a valid Secret name: {why}"),
                "name an existing Secret holding the root password",
            );
        }
        let key = reference.key.unwrap_or_else(|| "password".into());
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) {
            self.error(
                "invalid-secret-key",
                "spec.rootPassword.key",
                format!("`{key}` is not a valid Secret key"),
                "keys are letters, digits, `-`, `_` and `.`",
            );
        }
        let delivery = match version {
            Some(v) if v < PASSWORD_ENV_SINCE => {
                self.error("root-password-unsupported", path, format!("TDengine {v} cannot take its root password from the environment (TAOS_ROOT_PASSWORD needs {PASSWORD_ENV_SINCE})"), "upgrade spec.image.tag to 3.3.6.6 or later, or remove spec.rootPassword and change the password with `ALTER USER root PASS` (then every probe and join needs it too)");
                PasswordDelivery::Env
            }
            Some(v) if v >= PASSWORD_FILE_SINCE => PasswordDelivery::File,
            _ => PasswordDelivery::Env,
        };
        Some(PasswordRef {
            secret_name,
            key,
            delivery,
        })
    }

    fn mnode_bootstrap(&mut self, bootstrap: spec::MnodeBootstrap, mnodes: u32) -> Option<i64> {
        let enabled = bootstrap.enabled.unwrap_or(mnodes == 3);
        if enabled && mnodes != 3 {
            self.warn(
                "bootstrap-without-mnodes",
                "spec.mnodeBootstrap.enabled",
                "the mnode bootstrap Job has nothing to do with 1 mnode".into(),
                "set spec.mnodes: 3, or remove spec.mnodeBootstrap",
            );
            return None;
        }
        if !enabled {
            return None;
        }
        let wait = bootstrap.wait_seconds.unwrap_or(600);
        if !(30..=86_400).contains(&wait) {
            self.error(
                "out-of-range",
                "spec.mnodeBootstrap.waitSeconds",
                format!("{wait} is outside 30..86400"),
                "the Job waits this long for 3 ready dnodes before it fails and retries",
            );
        }
        Some(wait.clamp(30, 86_400))
    }

    /// Extra variables: valid names, none that tdgen or spec.config sets, none twice, and no
    /// credential as a literal.
    fn extra_env(&mut self, env: Vec<EnvVar>, config: BTreeMap<String, String>) -> Vec<EnvVar> {
        let mut seen: Vec<&str> = Vec::new();
        for (i, var) in env.iter().enumerate() {
            let path = format!("spec.extraEnv[{i}].name");
            let valid = var
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || "-._".contains(c))
                && var.name.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
            let config_key = crate::plan::env_name_to_config_key(&var.name);
            if !valid {
                self.error(
                    "invalid-env-name",
                    &path,
                    format!("`{}` is not a valid environment variable name", var.name),
                    "use letters, digits, `_`, `-` and `.`, not starting with a digit",
                );
            } else if OWNED_ENV.contains(&var.name.as_str()) {
                self.error(
                    "env-owned",
                    &path,
                    format!("tdgen sets `{}` itself", var.name),
                    "use the spec field that derives it instead",
                );
            } else if seen.contains(&var.name.as_str()) {
                self.error(
                    "env-duplicate",
                    &path,
                    format!("`{}` appears twice in spec.extraEnv", var.name),
                    "keep one: the kubelet keeps the last, and `kubectl apply --server-side` refuses duplicate names",
                );
            } else if let Some(key) = config.get(&var.name) {
                self.error(
                    "env-duplicate",
                    &path,
                    format!("`{}` is also set by spec.config.{key}", var.name),
                    "keep one: duplicate variables are refused by `kubectl apply --server-side`, and which one taosd sees is an accident",
                );
            } else if let Some(key) = config_key.as_deref().filter(|k| crate::catalog::is_credential(k)) {
                if var.value.is_some() {
                    self.error(
                        "env-secret-literal",
                        &path,
                        format!(
                            "`{}` is the credential parameter `{key}`, written as a literal",
                            var.name
                        ),
                        super::config::secret_help(&var.name),
                    );
                }
            } else if let Some(key) = config_key.filter(|_| var.value_from.is_none()) {
                self.warn(
                    "env-is-config",
                    &path,
                    format!("`{}` is the taos.cfg parameter `{key}`", var.name),
                    format!("set spec.config.{key} instead, so tdgen checks it against the parameter catalog"),
                );
            }
            seen.push(&var.name);
        }
        env
    }

    fn volumes(&mut self, deploy: &Deploy) {
        let mut names: Vec<&str> = Vec::new();
        for (i, volume) in deploy.extra_volumes.iter().enumerate() {
            let path = format!("spec.extraVolumes[{i}].name");
            if let Err(why) = dns_label(&volume.name, 63) {
                self.error(
                    "invalid-volume-name",
                    &path,
                    format!("`{}` is not a valid volume name: {why}", volume.name),
                    "volume names are DNS labels",
                );
            }
            if OWNED_VOLUMES.contains(&volume.name.as_str()) || names.contains(&volume.name.as_str()) {
                self.error(
                    "volume-name-taken",
                    &path,
                    format!("the volume name `{}` is already used", volume.name),
                    format!("tdgen uses {}; pick another name", OWNED_VOLUMES.join(", ")),
                );
            }
            names.push(&volume.name);
        }
        for (i, mount) in deploy.extra_volume_mounts.iter().enumerate() {
            if !names.contains(&mount.name.as_str()) {
                let suggestion = crate::suggest::did_you_mean(&mount.name, names.iter().copied());
                self.error(
                    "mount-without-volume",
                    &format!("spec.extraVolumeMounts[{i}].name"),
                    format!("no volume `{}` in spec.extraVolumes", mount.name),
                    format!("{suggestion}add the volume to spec.extraVolumes"),
                );
            }
            if [
                crate::plan::DATA_MOUNT_PATH,
                crate::plan::LOG_MOUNT_PATH,
                "/etc/taos/taos.cfg",
            ]
            .iter()
            .any(|p| mount.mount_path == *p)
            {
                self.error(
                    "mount-path-taken",
                    &format!("spec.extraVolumeMounts[{i}].mountPath"),
                    format!("tdgen mounts {} itself", mount.mount_path),
                    "mount somewhere else",
                );
            }
        }
    }
}

/// The variables spec.config becomes in env mode, with the key each comes from.
fn config_variables(c: &ClusterSpec) -> BTreeMap<String, String> {
    if c.config_mode.unwrap_or(ConfigMode::Env) != ConfigMode::Env {
        return BTreeMap::new();
    }
    c.config
        .iter()
        .flatten()
        .map(|(key, _)| (crate::plan::config_env_name(key), key.clone()))
        .collect()
}

fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else { return false };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}
