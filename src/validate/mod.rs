//! Validation: every rule over a merged [`Spec`], returning *all* findings; the only way to
//! obtain a [`ValidSpec`] (the spec with built-in defaults applied and every value checked).

mod config;
pub mod deploy;
mod image;
pub mod names;

use std::collections::BTreeMap;
use std::ops::Deref;

pub use config::dedicated_field;
use names::{dns_1035_label, dns_label, dns_subdomain, label_value, qualified_name};

use crate::error::{Finding, Severity};
use crate::quantity::Quantity;
use crate::source::join_path;
use crate::spec::{self, PodManagementPolicy, ProbeTiming, PullPolicy, Spec};
use crate::version::Version;

/// Built-in defaults (the lowest layer): the TDengine doc's cluster.
pub mod defaults {
    /// `metadata.name`.
    pub const NAME: &str = "tdengine";
    /// `spec.image.repository`.
    pub const REPOSITORY: &str = "tdengine/tdengine";
    /// `spec.image.tag`: the doc's image.
    pub const TAG: &str = "3.0.7.1";
    /// `spec.dnodes`.
    pub const DNODES: u32 = 3;
    /// `spec.timezone`.
    pub const TIMEZONE: &str = "Asia/Shanghai";
    /// `spec.clusterDomain`.
    pub const CLUSTER_DOMAIN: &str = "cluster.local";
    /// `spec.serverPort`.
    pub const SERVER_PORT: u16 = 6030;
    /// `spec.service.name` of the doc's cluster.
    pub const SERVICE_NAME: &str = "taosd";

    /// `spec.service.name` when unset: the doc's `taosd` for its cluster `tdengine`, the
    /// cluster's own name otherwise, so that two clusters in one namespace never share a
    /// Service (the client Service adds `-client`).
    pub fn service_name(cluster: &str) -> String {
        if cluster == NAME {
            SERVICE_NAME.into()
        } else {
            cluster.into()
        }
    }
    /// `spec.storage.data.size`.
    pub const DATA_SIZE: &str = "5Gi";
}

/// taosAdapter's REST/WebSocket port, served by every dnode pod.
pub const ADAPTER_PORT: u16 = 6041;
/// Ports the official image's other components bind in every pod (taosAdapter, taosKeeper,
/// taosExplorer), which taosd's port must not take.
pub const COMPONENT_PORTS: [(u16, &str); 3] = [(6041, "taosAdapter"), (6043, "taosKeeper"), (6060, "taosExplorer")];
/// Label keys tdgen sets itself.
pub const OWNED_LABELS: [&str; 6] = [
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
];
/// The shortest startup budget (failureThreshold × periodSeconds) that lets a returning dnode
/// catch up; the doc warns that a small budget restart-loops it.
pub const MIN_STARTUP_BUDGET_SECONDS: i64 = 300;
/// TDengine's limit on an FQDN (`TSDB_FQDN_LEN` 128 including the terminating NUL).
pub const MAX_FQDN_LEN: usize = 127;
/// The longest StatefulSet name whose pods' `controller-revision-hash` label still fits 63.
pub const MAX_STATEFULSET_NAME_LEN: usize = 52;

/// A validated spec: every value checked, every default applied.
///
/// Only [`validate`] builds one, so holding a `ValidSpec` proves the spec passed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSpec(Resolved);

impl Deref for ValidSpec {
    type Target = Resolved;
    fn deref(&self) -> &Resolved {
        &self.0
    }
}

/// The resolved values of a [`ValidSpec`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Resolved {
    /// StatefulSet name.
    pub name: String,
    /// Pinned namespace, if any.
    pub namespace: Option<String>,
    /// Labels for every object.
    pub labels: BTreeMap<String, String>,
    /// Annotations for every object.
    pub annotations: BTreeMap<String, String>,
    /// Image repository.
    pub repository: String,
    /// Image tag (may be empty when a digest pins the image).
    pub tag: String,
    /// Image digest, when pinned.
    pub digest: Option<String>,
    /// The TDengine version the tag names, when it names one.
    pub version: Option<Version>,
    /// Image pull policy.
    pub pull_policy: PullPolicy,
    /// Number of dnodes.
    pub dnodes: u32,
    /// Number of mnodes (1 or 3).
    pub mnodes: u32,
    /// IANA time zone.
    pub timezone: String,
    /// Kubernetes cluster domain.
    pub cluster_domain: String,
    /// taosd server port.
    pub server_port: u16,
    /// Name of the headless governing Service (default: `taosd` for the doc's cluster
    /// `tdengine`, the cluster's own name otherwise, so no two clusters share it).
    pub service_name: String,
    /// Data volume size, canonical.
    pub data_size: String,
    /// Data volume storage class; `None` uses the cluster default.
    pub data_storage_class: Option<String>,
    /// Startup probe timing.
    pub startup_probe: ProbeTiming,
    /// Readiness probe timing.
    pub readiness_probe: ProbeTiming,
    /// Liveness probe timing.
    pub liveness_probe: ProbeTiming,
    /// Pod management policy.
    pub pod_management_policy: PodManagementPolicy,
    /// taos.cfg parameters by camelCase name.
    pub config: BTreeMap<String, String>,
    /// The production deployment knobs.
    pub deploy: deploy::Deploy,
}

/// Findings plus, when there is no error, the validated spec.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Every finding, errors first, then in spec order.
    pub findings: Vec<Finding>,
    /// The validated spec, present when no finding is an error.
    pub valid: Option<ValidSpec>,
}

/// Check a merged spec against every rule.
pub fn validate(spec: &Spec) -> Validation {
    let mut v = Validator::default();
    let resolved = v.resolve(spec);
    let mut findings = v.findings;
    findings.sort_by_key(|f| f.severity);
    let valid = if findings.iter().any(Finding::is_error) {
        None
    } else {
        Some(ValidSpec(resolved))
    };
    Validation { findings, valid }
}

#[derive(Default)]
struct Validator {
    findings: Vec<Finding>,
}

impl Validator {
    fn error(&mut self, code: &'static str, path: &str, message: String, help: impl Into<String>) {
        self.findings.push(Finding::error(code, path, message).with_help(help));
    }

    fn warn(&mut self, code: &'static str, path: &str, message: String, help: impl Into<String>) {
        self.findings
            .push(Finding::warning(code, path, message).with_help(help));
    }

    fn note(&mut self, code: &'static str, path: &str, message: String, help: impl Into<String>) {
        self.findings
            .push(Finding::new(Severity::Note, code, path, message).with_help(help));
    }

    fn resolve(&mut self, spec: &Spec) -> Resolved {
        self.envelope(spec);
        let meta = spec.metadata.clone().unwrap_or_default();
        let cluster = spec.spec.clone().unwrap_or_default();
        let image = cluster.image.clone().unwrap_or_default();
        let data = cluster.storage.clone().and_then(|s| s.data).unwrap_or_default();
        let probes = cluster.probes.clone().unwrap_or_default();
        let dnodes = self.dnodes(cluster.dnodes);
        let repository = image.repository.unwrap_or_else(|| defaults::REPOSITORY.into());
        let tag = image.tag.unwrap_or_else(|| defaults::TAG.into());
        let version = self.image(&repository, &tag, image.digest.as_deref());
        let (data_size, data_bytes) = self.size(
            "spec.storage.data.size",
            data.size.as_deref().unwrap_or(defaults::DATA_SIZE),
        );
        let config = self.config(cluster.config.clone().unwrap_or_default(), version);
        if let Some(bytes) = data_bytes {
            self.data_size_vs_reserve(bytes, &config);
        }
        let name = meta.name.unwrap_or_else(|| defaults::NAME.into());
        let mnodes = self.mnodes(cluster.mnodes, dnodes);
        let deploy = self.deploy(&cluster, &name, dnodes, mnodes, version);
        let service_name = cluster
            .service
            .clone()
            .and_then(|s| s.name)
            .unwrap_or_else(|| defaults::service_name(&name));
        let resolved = Resolved {
            name,
            namespace: meta.namespace,
            labels: self.labels(meta.labels.unwrap_or_default()),
            annotations: self.annotations(meta.annotations.unwrap_or_default()),
            repository,
            tag,
            digest: image.digest,
            version,
            pull_policy: image.pull_policy.unwrap_or(PullPolicy::IfNotPresent),
            dnodes,
            mnodes,
            timezone: cluster.timezone.unwrap_or_else(|| defaults::TIMEZONE.into()),
            cluster_domain: cluster
                .cluster_domain
                .unwrap_or_else(|| defaults::CLUSTER_DOMAIN.into()),
            server_port: self.port("spec.serverPort", cluster.server_port),
            service_name,
            data_size,
            data_storage_class: data.storage_class_name.flatten(),
            startup_probe: self.probe("startup", probes.startup, startup_default()),
            readiness_probe: self.probe("readiness", probes.readiness, readiness_default()),
            liveness_probe: self.probe("liveness", probes.liveness, liveness_default()),
            pod_management_policy: cluster
                .pod_management_policy
                .unwrap_or(PodManagementPolicy::OrderedReady),
            config,
            deploy,
        };
        self.file_mode_values(&resolved);
        let explicit_service = cluster_service_set(spec);
        self.names(&resolved, explicit_service);
        self.fqdn_budget(&resolved);
        self.timezone(&resolved.timezone);
        self.probe_relations(&resolved);
        resolved
    }

    /// A line break in a taos.cfg value would start a new parameter line in the file.
    fn file_mode_values(&mut self, r: &Resolved) {
        if r.deploy.config_mode != crate::spec::ConfigMode::File {
            return;
        }
        for (key, value) in &r.config {
            if value.contains(['\n', '\r']) {
                self.error("config-value-newline", &join_path("spec.config", key), format!("the value of `{key}` contains a line break"), "in configMode: file every parameter is one line of taos.cfg; a line break would inject another parameter");
            }
        }
    }

    fn envelope(&mut self, spec: &Spec) {
        if let Some(version) = spec.api_version.as_deref().filter(|v| *v != spec::API_VERSION) {
            self.error(
                "api-version",
                "apiVersion",
                format!("unsupported apiVersion `{version}`"),
                format!("this tdgen reads `apiVersion: {}`", spec::API_VERSION),
            );
        }
        if let Some(kind) = spec.kind.as_deref().filter(|k| *k != spec::KIND) {
            self.error(
                "kind",
                "kind",
                format!("unsupported kind `{kind}`"),
                format!("write `kind: {}`", spec::KIND),
            );
        }
    }

    fn dnodes(&mut self, value: Option<i64>) -> u32 {
        let path = "spec.dnodes";
        let dnodes = match value {
            None => defaults::DNODES,
            Some(n) if (1..=1000).contains(&n) => n as u32,
            Some(n) => {
                self.error(
                    "dnodes-range",
                    path,
                    format!("dnodes must be between 1 and 1000, not {n}"),
                    "a cluster needs at least one dnode",
                );
                return defaults::DNODES;
            }
        };
        if dnodes == 2 {
            self.warn("two-dnodes", path, "2 dnodes gain no fault tolerance over 1".into(), "RAFT needs a majority: with 2 dnodes, losing either one stops 2-replica data and the single mnode's dnode stops the cluster; use 3 dnodes (3 mnodes, 3-replica databases) to survive one loss, or 1 for development");
        }
        dnodes
    }

    fn mnodes(&mut self, value: Option<i64>, dnodes: u32) -> u32 {
        let path = "spec.mnodes";
        let mnodes = value.unwrap_or(if dnodes >= 3 { 3 } else { 1 });
        if mnodes != 1 && mnodes != 3 {
            self.error("mnodes-count", path, format!("mnodes must be 1 or 3, not {mnodes}"), "1 mnode: the cluster is unmanageable while its dnode is down; 3 mnodes: any one dnode can fail (2 would lose the RAFT majority with either one)");
            return 1;
        }
        if mnodes as u32 > dnodes {
            self.error(
                "mnodes-exceed-dnodes",
                path,
                format!("{mnodes} mnodes need at least {mnodes} dnodes, but dnodes is {dnodes}"),
                "each mnode lives on its own dnode: raise spec.dnodes to 3 or set spec.mnodes: 1",
            );
        }
        mnodes as u32
    }

    fn port(&mut self, path: &str, value: Option<i64>) -> u16 {
        let port = value.unwrap_or(i64::from(defaults::SERVER_PORT));
        let Some(port) = u16::try_from(port).ok().filter(|p| *p > 0) else {
            self.error(
                "port-range",
                path,
                format!("{port} is not a TCP port"),
                "use a number from 1 to 65535; 6030 is TDengine's default",
            );
            return defaults::SERVER_PORT;
        };
        if let Some((_, component)) = COMPONENT_PORTS.iter().find(|(p, _)| *p == port) {
            self.error(
                "port-collision",
                path,
                format!("serverPort {port} collides with {component}, which the image starts in every pod"),
                "choose another port; 6030 is TDengine's default",
            );
            return defaults::SERVER_PORT;
        }
        port
    }

    /// Parse a size; return its canonical spelling and its bytes (when it parsed).
    fn size(&mut self, path: &str, text: &str) -> (String, Option<i128>) {
        match Quantity::parse(text) {
            Ok(q) if q.ceil_units() > 0 => {
                let canonical = q.canonical();
                if canonical != text {
                    self.warn("non-canonical-quantity", path, format!("`{text}` is not the canonical spelling of this quantity"), format!("write `{canonical}`: the API server stores `{canonical}`, so GitOps tools would show a permanent diff (tdgen renders `{canonical}`)"));
                }
                (canonical, Some(q.ceil_units()))
            }
            Ok(_) => {
                self.error(
                    "quantity-not-positive",
                    path,
                    format!("`{text}` is not a positive size"),
                    "use a size such as `5Gi`",
                );
                (defaults::DATA_SIZE.into(), None)
            }
            Err(e) => {
                self.error(
                    "invalid-quantity",
                    path,
                    e.to_string(),
                    "use a binary size such as `5Gi` or `500Mi`",
                );
                (defaults::DATA_SIZE.into(), None)
            }
        }
    }

    fn probe(&mut self, which: &str, value: Option<ProbeTiming>, default: ProbeTiming) -> ProbeTiming {
        let given = value.unwrap_or_default();
        let probe = ProbeTiming {
            initial_delay_seconds: given.initial_delay_seconds.or(default.initial_delay_seconds),
            period_seconds: given.period_seconds.or(default.period_seconds),
            timeout_seconds: given.timeout_seconds.or(default.timeout_seconds),
            success_threshold: given.success_threshold.or(default.success_threshold),
            failure_threshold: given.failure_threshold.or(default.failure_threshold),
            termination_grace_period_seconds: given
                .termination_grace_period_seconds
                .or(default.termination_grace_period_seconds),
        };
        let base = format!("spec.probes.{which}");
        let fields = [
            ("initialDelaySeconds", probe.initial_delay_seconds, 0),
            ("periodSeconds", probe.period_seconds, 1),
            ("timeoutSeconds", probe.timeout_seconds, 1),
            ("successThreshold", probe.success_threshold, 1),
            ("failureThreshold", probe.failure_threshold, 1),
            (
                "terminationGracePeriodSeconds",
                probe.termination_grace_period_seconds,
                1,
            ),
        ];
        for (field, value, min) in fields {
            if let Some(v) = value.filter(|v| *v < min || *v > i64::from(i32::MAX)) {
                self.error(
                    "probe-range",
                    &format!("{base}.{field}"),
                    format!("{field} must be at least {min}, not {v}"),
                    "Kubernetes rejects the StatefulSet otherwise",
                );
            }
        }
        if which != "readiness" && probe.success_threshold.is_some_and(|s| s != 1) {
            self.error(
                "probe-success-threshold",
                &format!("{base}.successThreshold"),
                format!("{which} probes must have successThreshold 1"),
                "Kubernetes rejects any other value for liveness and startup probes; remove the field",
            );
        }
        if which == "readiness" && probe.termination_grace_period_seconds.is_some() {
            self.error(
                "probe-readiness-grace",
                &format!("{base}.terminationGracePeriodSeconds"),
                "readiness probes have no terminationGracePeriodSeconds".into(),
                "Kubernetes rejects it (\"must not be set for readinessProbes\"): a failing readiness probe never kills the pod; remove the field",
            );
        }
        match probe.timeout_seconds {
            Some(t) if t > MAX_PROBE_TIMEOUT => self.error("probe-timeout-absurd", &format!("{base}.timeoutSeconds"), format!("a {t} s timeout means a hung taos-check is never noticed"), format!("taos-check answers in well under a second; use 5 (at most {MAX_PROBE_TIMEOUT}). The TDengine doc's 5000 s is a mistake")),
            Some(t) if t > 60 => self.warn("probe-timeout-long", &format!("{base}.timeoutSeconds"), format!("a {t} s timeout hides a hung taos-check for minutes"), "taos-check answers in well under a second; 5 is ample"),
            _ => {}
        }
        probe
    }

    fn probe_relations(&mut self, r: &Resolved) {
        let startup = &r.startup_probe;
        let budget = startup
            .failure_threshold
            .unwrap_or(3)
            .saturating_mul(startup.period_seconds.unwrap_or(10));
        if budget < MIN_STARTUP_BUDGET_SECONDS {
            self.warn("startup-budget-short", "spec.probes.startup", format!("the startup probe gives a dnode only {budget} s (failureThreshold × periodSeconds) to start"), format!("a dnode returning after an outage replays its WAL and catches up; with less than {MIN_STARTUP_BUDGET_SECONDS} s it is killed and restart-loops (the TDengine doc's warning). The default is 360 × 10 s"));
        }
        if r.readiness_probe == r.liveness_probe {
            self.warn("probes-identical", "spec.probes.liveness", "the liveness probe is identical to the readiness probe".into(), "a dnode that is briefly unready (e.g. catching up) would also be restarted; give liveness a longer period or a higher failureThreshold");
        }
    }

    /// Labels tdgen puts on every object: the shared grammar, plus Kubernetes' reserved prefixes.
    fn labels(&mut self, labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
        for key in labels.keys() {
            self.reserved_prefix(&join_path("metadata.labels", key), key);
        }
        self.label_map("metadata.labels", labels, true)
    }

    /// Annotations tdgen puts on every object: the shared grammar, plus reserved prefixes.
    fn annotations(&mut self, annotations: BTreeMap<String, String>) -> BTreeMap<String, String> {
        for key in annotations.keys() {
            self.reserved_prefix(&join_path("metadata.annotations", key), key);
        }
        self.annotation_map("metadata.annotations", annotations)
    }

    /// Check a map of labels (or label selectors) at `base`. Maps tdgen writes onto its own
    /// objects (`onto_objects`) may not use the keys tdgen sets itself.
    fn label_map(&mut self, base: &str, map: BTreeMap<String, String>, onto_objects: bool) -> BTreeMap<String, String> {
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
                if onto_objects {
                    help.push_str(&format!("; put free text in {}", base.replace("labels", "annotations")));
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
    fn annotation_map(&mut self, base: &str, map: BTreeMap<String, String>) -> BTreeMap<String, String> {
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
    fn storage_class(&mut self, path: &str, class: Option<&str>) {
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

    fn names(&mut self, r: &Resolved, explicit_service: bool) {
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
        match dns_1035_label(&format!("{}-client", r.service_name)) {
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
    fn fqdn_budget(&mut self, r: &Resolved) {
        let fixed = format!(
            "{}-{}.{}..svc.{}",
            r.name,
            r.dnodes.saturating_sub(1),
            r.service_name,
            r.cluster_domain
        )
        .len();
        match &r.namespace {
            Some(ns) if fixed + ns.len() > MAX_FQDN_LEN => {
                let longest = format!(
                    "{}-{}.{}.{ns}.svc.{}",
                    r.name,
                    r.dnodes.saturating_sub(1),
                    r.service_name,
                    r.cluster_domain
                );
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

/// Whether the spec names the governing Service itself.
fn cluster_service_set(spec: &Spec) -> bool {
    spec.spec
        .as_ref()
        .and_then(|c| c.service.as_ref())
        .is_some_and(|s| s.name.is_some())
}

/// Exec probe timeouts above this are errors: no health check legitimately takes longer.
pub const MAX_PROBE_TIMEOUT: i64 = 300;

fn startup_default() -> ProbeTiming {
    // One hour: a dnode returning after an outage replays its WAL and catches up on vnodes;
    // a small budget restart-loops it (the doc's own warning).
    ProbeTiming {
        failure_threshold: Some(360),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

fn readiness_default() -> ProbeTiming {
    // The doc sets timeoutSeconds: 5000 (83 minutes), which only hides a hung check; 5 s is
    // ample for taos-check and is above the 1 s default that makes exec probes flap.
    ProbeTiming {
        initial_delay_seconds: Some(5),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

fn liveness_default() -> ProbeTiming {
    ProbeTiming {
        initial_delay_seconds: Some(15),
        period_seconds: Some(20),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(yaml: &str) -> Vec<&'static str> {
        let spec: Spec = crate::yaml::from_str(yaml).unwrap();
        validate(&spec).findings.into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn the_empty_spec_is_the_docs_cluster() {
        let v = validate(&Spec::default());
        assert!(v.findings.is_empty(), "{:?}", v.findings);
        let r = v.valid.unwrap();
        assert_eq!(
            (r.name.as_str(), r.service_name.as_str(), r.dnodes, r.mnodes),
            ("tdengine", "taosd", 3, 3)
        );
        assert_eq!(r.readiness_probe.timeout_seconds, Some(5));
    }

    #[test]
    fn topology_rules() {
        assert_eq!(
            codes("spec: {dnodes: 2, mnodes: 3}"),
            ["mnodes-exceed-dnodes", "two-dnodes"]
        );
        assert_eq!(codes("spec: {mnodes: 2}"), ["mnodes-count"]);
        assert_eq!(codes("spec: {dnodes: 0}"), ["dnodes-range"]);
        assert!(codes("spec: {dnodes: 1}").is_empty(), "1 dnode defaults to 1 mnode");
    }

    #[test]
    fn config_keys_with_dedicated_fields_point_to_the_field() {
        let spec: Spec = crate::yaml::from_str("spec: {config: {fqdn: x, serverPort: 1, firstEp: a}}").unwrap();
        let findings = validate(&spec).findings;
        assert_eq!(findings.len(), 3);
        assert!(findings.iter().all(|f| f.code == "config-has-field"));
        assert!(
            findings
                .iter()
                .any(|f| f.help.as_deref().unwrap().contains("spec.serverPort"))
        );
    }

    #[test]
    fn names_and_sizes() {
        assert_eq!(codes("metadata: {name: TD}"), ["invalid-name"]);
        assert_eq!(codes("spec: {service: {name: 1abc}}"), ["invalid-service-name"]);
        assert_eq!(codes("spec: {storage: {data: {size: 5GB}}}"), ["invalid-quantity"]);
        assert_eq!(
            codes("spec: {storage: {data: {size: 4096Mi}}}"),
            ["non-canonical-quantity"]
        );
        assert_eq!(codes("spec: {serverPort: 6041}"), ["port-collision"]);
        assert_eq!(codes("spec: {serverPort: 70000}"), ["port-range"]);
    }
}
