//! Validation: every rule over a merged [`Spec`], returning *all* findings; the only way to
//! obtain a [`ValidSpec`] (the spec with built-in defaults applied and every value checked).

use std::collections::BTreeMap;
use std::ops::Deref;

use crate::error::{Finding, Location};
use crate::quantity::Quantity;
use crate::source::SourceIndex;
use crate::spec::{self, PodManagementPolicy, ProbeTiming, PullPolicy, Spec};
use crate::suggest::did_you_mean;

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
    /// `spec.service.name`.
    pub const SERVICE_NAME: &str = "taosd";
    /// `spec.storage.data.size`.
    pub const DATA_SIZE: &str = "5Gi";
}

/// taosAdapter's REST/WebSocket port, served by every dnode pod.
pub const ADAPTER_PORT: u16 = 6041;
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
    /// Image repository.
    pub repository: String,
    /// Image tag.
    pub tag: String,
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
    /// Name of the headless governing Service.
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
    findings.sort_by_key(|f| !f.is_error());
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

    fn resolve(&mut self, spec: &Spec) -> Resolved {
        self.envelope(spec);
        let meta = spec.metadata.clone().unwrap_or_default();
        let cluster = spec.spec.clone().unwrap_or_default();
        let image = cluster.image.clone().unwrap_or_default();
        let data = cluster.storage.clone().and_then(|s| s.data).unwrap_or_default();
        let probes = cluster.probes.clone().unwrap_or_default();
        let dnodes = self.count("spec.dnodes", cluster.dnodes, defaults::DNODES);
        let resolved = Resolved {
            name: meta.name.unwrap_or_else(|| defaults::NAME.into()),
            namespace: meta.namespace,
            repository: image.repository.unwrap_or_else(|| defaults::REPOSITORY.into()),
            tag: image.tag.unwrap_or_else(|| defaults::TAG.into()),
            pull_policy: image.pull_policy.unwrap_or(PullPolicy::IfNotPresent),
            dnodes,
            mnodes: self.mnodes(cluster.mnodes, dnodes),
            timezone: cluster.timezone.unwrap_or_else(|| defaults::TIMEZONE.into()),
            cluster_domain: cluster
                .cluster_domain
                .unwrap_or_else(|| defaults::CLUSTER_DOMAIN.into()),
            server_port: self.port("spec.serverPort", cluster.server_port),
            service_name: cluster
                .service
                .and_then(|s| s.name)
                .unwrap_or_else(|| defaults::SERVICE_NAME.into()),
            data_size: self.size(
                "spec.storage.data.size",
                data.size.as_deref().unwrap_or(defaults::DATA_SIZE),
            ),
            data_storage_class: data.storage_class_name,
            startup_probe: self.probe("startup", probes.startup, startup_default()),
            readiness_probe: self.probe("readiness", probes.readiness, readiness_default()),
            liveness_probe: self.probe("liveness", probes.liveness, liveness_default()),
            pod_management_policy: cluster
                .pod_management_policy
                .unwrap_or(PodManagementPolicy::OrderedReady),
            config: self.config(cluster.config.unwrap_or_default()),
        };
        self.names(&resolved);
        self.image(&resolved);
        resolved
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

    fn count(&mut self, path: &str, value: Option<i64>, default: u32) -> u32 {
        match value {
            None => default,
            Some(n) if (1..=1000).contains(&n) => n as u32,
            Some(n) => {
                self.error(
                    "dnodes-range",
                    path,
                    format!("dnodes must be between 1 and 1000, not {n}"),
                    "a cluster needs at least one dnode",
                );
                default
            }
        }
    }

    fn mnodes(&mut self, value: Option<i64>, dnodes: u32) -> u32 {
        let path = "spec.mnodes";
        let mnodes = value.unwrap_or(if dnodes >= 3 { 3 } else { 1 });
        if mnodes != 1 && mnodes != 3 {
            self.error("mnodes-count", path, format!("mnodes must be 1 or 3, not {mnodes}"), "TDengine runs 1 mnode, or 3 for a management plane that survives one dnode loss (2 would lose quorum with either one)");
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
        match u16::try_from(port) {
            Ok(p) if p > 0 && p != ADAPTER_PORT => p,
            Ok(p) if p == ADAPTER_PORT => {
                self.error(
                    "port-collision",
                    path,
                    format!("serverPort {p} collides with taosAdapter's port"),
                    "choose another port; 6030 is TDengine's default",
                );
                defaults::SERVER_PORT
            }
            _ => {
                self.error(
                    "port-range",
                    path,
                    format!("{port} is not a TCP port"),
                    "use a number from 1 to 65535; 6030 is TDengine's default",
                );
                defaults::SERVER_PORT
            }
        }
    }

    fn size(&mut self, path: &str, text: &str) -> String {
        match Quantity::parse(text) {
            Ok(q) if q.ceil_units() > 0 => {
                let canonical = q.canonical();
                if canonical != text {
                    self.warn("non-canonical-quantity", path, format!("`{text}` is not the canonical spelling of this quantity"), format!("write `{canonical}`: the API server stores `{canonical}`, so GitOps tools would show a permanent diff (tdgen renders `{canonical}`)"));
                }
                canonical
            }
            Ok(_) => {
                self.error(
                    "quantity-not-positive",
                    path,
                    format!("`{text}` is not a positive size"),
                    "use a size such as `5Gi`",
                );
                defaults::DATA_SIZE.into()
            }
            Err(e) => {
                self.error(
                    "invalid-quantity",
                    path,
                    e.to_string(),
                    "use a binary size such as `5Gi` or `500Mi`",
                );
                defaults::DATA_SIZE.into()
            }
        }
    }

    fn probe(&mut self, which: &str, value: Option<ProbeTiming>, default: ProbeTiming) -> ProbeTiming {
        let given = value.unwrap_or_default();
        let pick = |a: Option<i64>, b: Option<i64>| a.or(b);
        let probe = ProbeTiming {
            initial_delay_seconds: pick(given.initial_delay_seconds, default.initial_delay_seconds),
            period_seconds: pick(given.period_seconds, default.period_seconds),
            timeout_seconds: pick(given.timeout_seconds, default.timeout_seconds),
            success_threshold: pick(given.success_threshold, default.success_threshold),
            failure_threshold: pick(given.failure_threshold, default.failure_threshold),
            termination_grace_period_seconds: pick(
                given.termination_grace_period_seconds,
                default.termination_grace_period_seconds,
            ),
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
        probe
    }

    fn config(&mut self, config: BTreeMap<String, spec::ConfigValue>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, value) in config {
            let path = format!("spec.config.{key}");
            if let Some(help) = dedicated_field(&key) {
                self.error(
                    "config-has-field",
                    &path,
                    format!("`{key}` is not set through spec.config"),
                    help,
                );
                continue;
            }
            if !is_config_key(&key) {
                self.error(
                    "config-key-syntax",
                    &path,
                    format!("`{key}` is not a taos.cfg parameter name"),
                    "parameters are camelCase words of letters and digits, e.g. `supportVnodes`, `debugFlag`",
                );
                continue;
            }
            out.insert(key, value.0);
        }
        out
    }

    fn names(&mut self, r: &Resolved) {
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
        let client = format!("{}-client", r.service_name);
        if let Err(why) = dns_1035_label(&client) {
            self.error("invalid-service-name", "spec.service.name", format!("`{}` is not a valid Service name: {why}", r.service_name), "start with a letter; use lowercase letters, digits and `-`; at most 56 characters (the client Service adds `-client`)");
        }
        if let Err(why) = dns_subdomain(&r.cluster_domain) {
            self.error(
                "invalid-cluster-domain",
                "spec.clusterDomain",
                format!("`{}` is not a valid cluster domain: {why}", r.cluster_domain),
                "use the kubelet's --cluster-domain, usually `cluster.local`",
            );
        }
        if let Some(class) = &r.data_storage_class
            && let Err(why) = dns_subdomain(class)
        {
            self.error(
                "invalid-storage-class",
                "spec.storage.data.storageClassName",
                format!("`{class}` is not a valid StorageClass name: {why}"),
                "omit the field to use the cluster's default class",
            );
        }
        if let Some(ns) = &r.namespace {
            let longest = format!(
                "{}-{}.{}.{ns}.svc.{}",
                r.name,
                r.dnodes.saturating_sub(1),
                r.service_name,
                r.cluster_domain
            );
            if longest.len() > MAX_FQDN_LEN {
                self.error(
                    "fqdn-too-long",
                    "metadata.name",
                    format!(
                        "the dnode FQDN `{longest}` has {} characters; TDengine allows {MAX_FQDN_LEN}",
                        longest.len()
                    ),
                    "shorten metadata.name, spec.service.name, the namespace or the cluster domain",
                );
            }
        }
        if r.timezone.trim().is_empty() {
            self.error(
                "invalid-timezone",
                "spec.timezone",
                "the time zone is empty".into(),
                "use an IANA zone such as `UTC` or `Asia/Shanghai`",
            );
        }
    }

    fn image(&mut self, r: &Resolved) {
        let repository_ok = !r.repository.is_empty()
            && r.repository
                .split('/')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c)));
        if !repository_ok {
            self.error(
                "invalid-image",
                "spec.image.repository",
                format!("`{}` is not an image repository", r.repository),
                "write it like `tdengine/tdengine` or `registry.example.com/tdengine/tdengine`",
            );
        }
        let tag_ok = r.tag.len() <= 128
            && r.tag
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && r.tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !tag_ok {
            self.error(
                "invalid-image-tag",
                "spec.image.tag",
                format!("`{}` is not an image tag", r.tag),
                "tags are letters, digits, `.`, `_` and `-`, e.g. `3.0.7.1`",
            );
        }
    }
}

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

/// How to set a taos.cfg parameter that tdgen derives or owns through a dedicated field.
pub fn dedicated_field(key: &str) -> Option<&'static str> {
    match key.to_ascii_lowercase().as_str() {
        "fqdn" => Some(
            "remove it: tdgen derives each dnode's TAOS_FQDN from metadata.name, spec.service.name and spec.clusterDomain",
        ),
        "firstep" => Some(
            "remove it: tdgen derives TAOS_FIRST_EP (dnode 0) from metadata.name, spec.service.name, spec.clusterDomain and spec.serverPort",
        ),
        "secondep" => Some(
            "remove it: dnodes join through TAOS_FIRST_EP, which tdgen derives; a second endpoint is not needed inside one StatefulSet",
        ),
        "serverport" => Some("remove it and set spec.serverPort, which also sets the container and Service ports"),
        _ => None,
    }
}

fn is_config_key(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && key.chars().all(|c| c.is_ascii_alphanumeric())
}

/// RFC 1123 label: lowercase alphanumerics and `-`, alphanumeric at both ends.
pub fn dns_label(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > max {
        return Err(format!("it has {} characters, more than {max}", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// RFC 1035 label (Service names): an RFC 1123 label that starts with a letter.
pub fn dns_1035_label(name: &str) -> Result<(), String> {
    dns_label(name, 63)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a letter".into());
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!("it has {} characters, more than 253", name.len()));
    }
    name.split('.').try_for_each(|label| dns_label(label, 63))
}

/// Turn a serde read error into a finding, naming the field's path and the closest valid name.
pub(crate) fn parse_finding(message: &str, location: Option<Location>, index: &SourceIndex) -> Finding {
    let message = strip_trailing_position(message);
    let message = message.as_str();
    let path = location
        .as_ref()
        .and_then(|l| {
            index.key_paths().find(|p| {
                index
                    .key(p)
                    .is_some_and(|s| Some((s.line, s.column)) == l.span.map(|at| (at.line, at.column)))
            })
        })
        .unwrap_or_default()
        .to_owned();
    let mut location = location;
    if let (Some(loc), Some(span)) = (location.as_mut(), index.key(&path)) {
        loc.span = Some(span);
    }
    if let Some((field, expected)) = unknown_field(message) {
        let help = format!(
            "{}valid fields here: {}",
            did_you_mean(&field, expected.iter().map(String::as_str)),
            expected.join(", ")
        );
        return Finding {
            location,
            ..Finding::error("unknown-field", path, format!("unknown field `{field}`")).with_help(help)
        };
    }
    Finding {
        location,
        ..Finding::error("invalid-value", path, message.to_owned())
            .with_help("see `tdgen schema` for every field's type")
    }
}

/// serde-saphyr appends ` at line N, column M`; findings carry the position themselves.
fn strip_trailing_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(", column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

/// Pull the field and the expected names out of serde's "unknown field" message.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.split("unknown field `").nth(1)?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected one of ")
        .or_else(|| rest.split_once("expected "))
        .map(|(_, list)| {
            list.replace(" or ", ", ")
                .split(", ")
                .map(|s| s.trim_matches(|c| c == '`' || c == ' ').to_owned())
                .collect()
        })
        .unwrap_or_default();
    Some((field.to_owned(), expected))
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
        assert_eq!(codes("spec: {dnodes: 2, mnodes: 3}"), ["mnodes-exceed-dnodes"]);
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
            codes("spec: {storage: {data: {size: 1024Mi}}}"),
            ["non-canonical-quantity"]
        );
        assert_eq!(codes("spec: {serverPort: 6041}"), ["port-collision"]);
        assert_eq!(codes("spec: {serverPort: 70000}"), ["port-range"]);
    }

    #[test]
    fn unknown_field_messages_are_parsed() {
        let (field, expected) =
            unknown_field("unknown field `sise`, expected `size` or `storageClassName`").unwrap_or_default();
        assert_eq!(field, "sise");
        assert!(!expected.is_empty());
    }
}
