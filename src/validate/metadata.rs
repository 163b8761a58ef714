//! Rules for names, labels and annotations: Kubernetes' grammars, the keys tdgen owns, and
//! TDengine's limit on the dnode FQDNs they make up.

use std::collections::BTreeMap;

use super::Validator;
use super::names::{dns_1035_label, dns_label, dns_subdomain, label_value, qualified_name};
use crate::model::{OWNED_LABELS, Resolved};
use crate::source::join_path;
use crate::spec::Spec;
use crate::tdengine::MAX_FQDN_LEN;

/// The longest StatefulSet name whose pods' `controller-revision-hash` label still fits 63.
pub const MAX_STATEFULSET_NAME_LEN: usize = 52;

impl Validator {
    /// Labels tdgen puts on every object: the shared grammar, plus Kubernetes' reserved prefixes.
    pub(super) fn labels(&mut self, labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
        for key in labels.keys() {
            self.reserved_prefix(&join_path("metadata.labels", key), key);
        }
        self.label_map("metadata.labels", labels, true)
    }

    /// Annotations tdgen puts on every object: the shared grammar, plus reserved prefixes.
    pub(super) fn annotations(&mut self, annotations: BTreeMap<String, String>) -> BTreeMap<String, String> {
        for key in annotations.keys() {
            self.reserved_prefix(&join_path("metadata.annotations", key), key);
        }
        self.annotation_map("metadata.annotations", annotations)
    }

    /// Check a map of labels (or label selectors) at `base`. Maps tdgen writes onto its own
    /// objects (`onto_objects`) may not use the keys tdgen sets itself.
    pub(super) fn label_map(
        &mut self,
        base: &str,
        map: BTreeMap<String, String>,
        onto_objects: bool,
    ) -> BTreeMap<String, String> {
        for (key, value) in &map {
            let path = join_path(base, key);
            if onto_objects && OWNED_LABELS.contains(&key.as_str()) {
                self.error("label-owned", &path, format!("tdgen sets the label `{key}` itself"), "it is part of the selector or the recommended labels; pick another key (e.g. `app.kubernetes.io/part-of`)");
            } else if let Err(why) = qualified_name(key) {
                self.error("invalid-label-key", &path, format!("`{key}` is not a valid label key: {why}"), "keys are `[prefix/]name`: a DNS-subdomain prefix and a name of at most 63 letters, digits, `-`, `_`, `.`");
            } else if let Err(why) = label_value(value) {
                let mut help =
                    "values are at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit"
                        .to_owned();
                // Where the spec has annotations beside these labels, free text belongs there.
                let annotations = base.replace("labels", "annotations");
                if onto_objects && crate::fields::expected_shape(&annotations).is_some() {
                    help.push_str(&format!("; put free text in {annotations}"));
                }
                self.error(
                    "invalid-label-value",
                    &path,
                    format!("`{value}` is not a valid label value: {why}"),
                    help,
                );
            }
        }
        map
    }

    /// Check a map of annotations at `base`: key grammar and Kubernetes' 256 KiB per object.
    pub(super) fn annotation_map(&mut self, base: &str, map: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut total = 0;
        for (key, value) in &map {
            total += key.len() + value.len();
            if let Err(why) = qualified_name(key) {
                self.error("invalid-annotation-key", &join_path(base, key), format!("`{key}` is not a valid annotation key: {why}"), "keys are `[prefix/]name`: a DNS-subdomain prefix and a name of at most 63 letters, digits, `-`, `_`, `.`");
            }
        }
        if total > 256 * 1024 {
            self.error(
                "annotations-too-large",
                base,
                format!("the annotations total {total} bytes"),
                "Kubernetes allows 256 KiB of annotations per object",
            );
        }
        map
    }

    /// A StorageClass name, when one is given (`""` is Kubernetes' "no dynamic provisioning").
    pub(super) fn storage_class(&mut self, path: &str, class: Option<&str>) {
        if let Some(class) = class.filter(|c| !c.is_empty())
            && let Err(why) = dns_subdomain(class)
        {
            self.error(
                "invalid-storage-class",
                path,
                format!("`{class}` is not a valid StorageClass name: {why}"),
                "write `null` for the cluster's default class, or `\"\"` for pre-provisioned volumes only",
            );
        }
    }

    fn reserved_prefix(&mut self, path: &str, key: &str) {
        let prefix = key.rsplit_once('/').map(|(p, _)| p).unwrap_or_default();
        if ["kubernetes.io", "k8s.io"]
            .iter()
            .any(|r| prefix == *r || prefix.ends_with(&format!(".{r}")))
            && !prefix.starts_with("app.kubernetes.io")
        {
            self.warn(
                "reserved-prefix",
                path,
                format!("`{prefix}/` is reserved for Kubernetes itself"),
                "use your own prefix (e.g. `example.com/`)",
            );
        }
    }

    pub(super) fn names(&mut self, r: &Resolved, explicit_service: bool) {
        let name_ok = dns_label(&r.name, MAX_STATEFULSET_NAME_LEN).is_ok();
        if let Err(why) = dns_label(&r.name, MAX_STATEFULSET_NAME_LEN) {
            self.error("invalid-name", "metadata.name", format!("`{}` is not a valid StatefulSet name: {why}", r.name), "use lowercase letters, digits and `-`, at most 52 characters (pods add `-<revision hash>` to reach the 63 limit)");
        }
        if let Some(ns) = &r.namespace
            && let Err(why) = dns_label(ns, 63)
        {
            self.error(
                "invalid-namespace",
                "metadata.namespace",
                format!("`{ns}` is not a valid namespace: {why}"),
                "use lowercase letters, digits and `-`, at most 63 characters",
            );
        }
        let service =
            dns_1035_label(&r.service_name).and_then(|()| dns_1035_label(&format!("{}-client", r.service_name)));
        match service {
            Err(why) if explicit_service => {
                self.error("invalid-service-name", "spec.service.name", format!("`{}` is not a valid Service name: {why}", r.service_name), "start with a letter; use lowercase letters, digits and `-`; at most 56 characters (the client Service adds `-client`)");
            }
            // The name itself is reported above; its Service would only repeat it.
            Err(why) if name_ok => {
                self.error(
                    "invalid-service-name",
                    "metadata.name",
                    format!(
                        "the Services are named after the cluster, and `{}` is not a valid Service name: {why}",
                        r.service_name
                    ),
                    "start metadata.name with a letter, or set spec.service.name",
                );
            }
            _ => {}
        }
        if let Err(why) = dns_subdomain(&r.cluster_domain) {
            self.error(
                "invalid-cluster-domain",
                "spec.clusterDomain",
                format!("`{}` is not a valid cluster domain: {why}", r.cluster_domain),
                "use the kubelet's --cluster-domain, usually `cluster.local`",
            );
        }
        self.storage_class("spec.storage.data.storageClassName", r.data_storage_class.as_deref());
    }

    /// TDengine keeps FQDNs in 128-byte buffers: the longest dnode FQDN must fit 127 characters.
    pub(super) fn fqdn_budget(&mut self, r: &Resolved) {
        let fixed = longest_fqdn(r, "").len();
        match &r.namespace {
            Some(ns) if fixed + ns.len() > MAX_FQDN_LEN => {
                let longest = longest_fqdn(r, ns);
                self.error(
                    "fqdn-too-long",
                    "metadata.name",
                    format!(
                        "the dnode FQDN `{longest}` has {} characters; TDengine allows {MAX_FQDN_LEN}",
                        longest.len()
                    ),
                    "shorten metadata.name, spec.service.name, the namespace or spec.clusterDomain",
                );
            }
            None if fixed >= MAX_FQDN_LEN => {
                self.error(
                    "fqdn-too-long",
                    "metadata.name",
                    format!(
                        "the dnode FQDNs leave no room for a namespace within TDengine's {MAX_FQDN_LEN} characters"
                    ),
                    "shorten metadata.name, spec.service.name or spec.clusterDomain",
                );
            }
            None if MAX_FQDN_LEN - fixed < 63 => {
                let budget = MAX_FQDN_LEN - fixed;
                self.warn("namespace-budget", "metadata.namespace", format!("the dnode FQDNs fit TDengine's {MAX_FQDN_LEN} characters only in namespaces of at most {budget} characters"), format!("apply into a namespace of at most {budget} characters, pin metadata.namespace, or shorten metadata.name / spec.service.name / spec.clusterDomain"));
            }
            _ => {}
        }
    }
}

/// The FQDN of the last dnode (the longest) in `namespace`.
fn longest_fqdn(r: &Resolved, namespace: &str) -> String {
    let last = r.dnodes.saturating_sub(1);
    format!(
        "{}-{last}.{}.{namespace}.svc.{}",
        r.name, r.service_name, r.cluster_domain
    )
}

/// Whether the spec names the governing Service itself.
pub(super) fn cluster_service_set(spec: &Spec) -> bool {
    spec.spec
        .as_ref()
        .and_then(|c| c.service.as_ref())
        .is_some_and(|s| s.name.is_some())
}
