//! Validation: every rule over a merged [`Spec`], returning *all* findings; the only way to
//! obtain a [`ValidSpec`] (the spec with built-in defaults applied and every value checked).
//! The rules live here, one file per part of the spec; the values they resolve into are the
//! [`crate::model`].

mod access;
mod config;
mod container;
mod deploy;
mod image;
mod metadata;
mod monitoring;
pub mod names;
mod network;
mod probes;
mod scheduling;

use crate::error::{Finding, Severity};
use crate::model::{Resolved, ValidSpec, defaults};
use crate::quantity::Quantity;
use crate::source::join_path;
use crate::spec::{self, PodManagementPolicy, PullPolicy, Spec};
use crate::tdengine::{self, MAX_MNODES};

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
        Some(ValidSpec::sealed(resolved))
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

    /// Every value with its default, checked field by field in the spec's order (findings
    /// keep it), then the checks across fields.
    fn resolve(&mut self, spec: &Spec) -> Resolved {
        self.envelope(spec);
        let meta = spec.metadata.clone().unwrap_or_default();
        let cluster = spec.spec.clone().unwrap_or_default();
        let image = cluster.image.clone().unwrap_or_default();
        let data = cluster.storage.clone().and_then(|s| s.data).unwrap_or_default();
        let dnodes = self.dnodes(cluster.dnodes);
        let repository = image.repository.unwrap_or_else(|| defaults::REPOSITORY.into());
        let tag = image.tag.unwrap_or_else(|| defaults::TAG.into());
        let version = self.image(&repository, &tag, image.digest.as_deref());
        let data_size = data.size.as_deref().unwrap_or(defaults::DATA_SIZE);
        let (data_size, data_bytes) = self.size("spec.storage.data.size", data_size);
        let mut config = self.config(cluster.config.clone().unwrap_or_default(), version);
        if let Some(bytes) = data_bytes {
            self.data_size_vs_reserve(bytes, &config);
        }
        let name = meta.name.unwrap_or_else(|| defaults::NAME.into());
        let mnodes = self.mnodes(cluster.mnodes, dnodes);
        let mut deploy = self.deploy(&cluster, &name, dnodes, mnodes, version);
        deploy.monitoring = self.monitoring(&monitoring::Context {
            cluster: &cluster,
            namespace: meta.namespace.as_deref(),
            version,
            config: &config,
            data_bytes,
            backup_schedule: deploy.backup.as_ref().map(|b| b.schedule.as_str()),
        });
        if deploy.monitoring.is_some() {
            // taosKeeper runs, and taosd reports to it.
            deploy.keeper = true;
            self.monitor_parameters(&mut config);
        }
        let service = cluster.service.clone().and_then(|s| s.name);
        let service_name = service.unwrap_or_else(|| defaults::service_name(&name));
        let labels = self.labels(meta.labels.unwrap_or_default());
        let annotations = self.annotations(meta.annotations.unwrap_or_default());
        let server_port = self.port("spec.serverPort", cluster.server_port);
        let [startup_probe, readiness_probe, liveness_probe] = self.probes(cluster.probes.clone().unwrap_or_default());
        let resolved = Resolved {
            name,
            namespace: meta.namespace,
            labels,
            annotations,
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
            server_port,
            service_name,
            data_size,
            data_storage_class: data.storage_class_name.flatten(),
            startup_probe,
            readiness_probe,
            liveness_probe,
            pod_management_policy: cluster
                .pod_management_policy
                .unwrap_or(PodManagementPolicy::OrderedReady),
            config,
            deploy,
        };
        self.across_fields(&resolved, metadata::cluster_service_set(spec));
        resolved
    }

    /// The rules that need several resolved values at once.
    fn across_fields(&mut self, resolved: &Resolved, explicit_service: bool) {
        self.file_mode_values(resolved);
        self.names(resolved, explicit_service);
        self.fqdn_budget(resolved);
        self.timezone(&resolved.timezone);
        self.probe_relations(resolved);
    }

    /// A line break in a taos.cfg value would start a new parameter line in the file.
    fn file_mode_values(&mut self, r: &Resolved) {
        if r.deploy.config_mode != spec::ConfigMode::File {
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
        let mnodes = value.unwrap_or(if dnodes >= MAX_MNODES { i64::from(MAX_MNODES) } else { 1 });
        if mnodes != 1 && mnodes != i64::from(MAX_MNODES) {
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
        let Some(port) = u16::try_from(port)
            .ok()
            .filter(|p| (1..=tdengine::MAX_SERVER_PORT).contains(p))
        else {
            let message = if (1..=i64::from(u16::MAX)).contains(&port) {
                format!("taosd takes serverPort up to {}, not {port}", tdengine::MAX_SERVER_PORT)
            } else {
                format!("{port} is not a TCP port")
            };
            self.error(
                "port-range",
                path,
                message,
                format!(
                    "use a number from 1 to {}; {} is TDengine's default",
                    tdengine::MAX_SERVER_PORT,
                    tdengine::DEFAULT_SERVER_PORT
                ),
            );
            return defaults::SERVER_PORT;
        };
        if let Some(component) = tdengine::COMPONENTS.iter().find(|c| c.port == port) {
            self.error(
                "port-collision",
                path,
                format!(
                    "serverPort {port} collides with {}, which the image starts in every pod",
                    component.name
                ),
                format!(
                    "choose another port; {} is TDengine's default",
                    tdengine::DEFAULT_SERVER_PORT
                ),
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
        // taosd's own bound, below the TCP one.
        assert_eq!(codes("spec: {serverPort: 65057}"), ["port-range"]);
        assert!(codes("spec: {serverPort: 65056}").is_empty());
    }

    #[test]
    fn config_integers_stay_within_the_bounds_taosd_registers() {
        assert_eq!(codes("spec: {config: {supportVnodes: -5}}"), ["config-out-of-range"]);
        assert_eq!(
            codes("spec: {config: {supportVnodes: '5000'}}"),
            ["config-out-of-range"]
        );
        assert!(codes("spec: {config: {supportVnodes: 4096}}").is_empty());
        assert!(codes("spec: {config: {supportVnodes: 0}}").is_empty());
    }
}
