//! The Prometheus Operator objects tdgen writes (`monitoring.coreos.com/v1`): typed subsets of
//! `PodMonitor` and `PrometheusRule` with the fields tdgen sets, named as the operator's CRDs
//! name them (`shared/realsys/crds/monitoring.coreos.com_*.yaml`). Unknown fields are refused
//! when read back, like every other kind tdgen writes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

/// The API group and version of both kinds.
const API_VERSION: &str = "monitoring.coreos.com/v1";

/// Declares a namespaced custom resource with `apiVersion`, `kind`, `metadata` and `spec`.
macro_rules! custom_resource {
    ($(#[$meta:meta])* $name:ident, $spec:ty, $plural:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name {
            /// Always `monitoring.coreos.com/v1`.
            pub api_version: String,
            /// The kind's name.
            pub kind: String,
            /// Name, namespace, labels, annotations.
            pub metadata: ObjectMeta,
            /// What the operator acts on.
            pub spec: $spec,
        }

        impl $name {
            /// An object of this kind.
            pub fn new(metadata: ObjectMeta, spec: $spec) -> Self {
                $name {
                    api_version: API_VERSION.into(),
                    kind: stringify!($name).into(),
                    metadata,
                    spec,
                }
            }
        }

        impl k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = API_VERSION;
            const GROUP: &'static str = "monitoring.coreos.com";
            const KIND: &'static str = stringify!($name);
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }
    };
}

custom_resource!(
    /// Which pods Prometheus scrapes, on which port, how often.
    PodMonitor,
    PodMonitorSpec,
    "podmonitors"
);
custom_resource!(
    /// Alerting rules Prometheus evaluates.
    PrometheusRule,
    PrometheusRuleSpec,
    "prometheusrules"
);

/// `PodMonitor.spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodMonitorSpec {
    /// The pods.
    pub selector: LabelSelector,
    /// Their namespaces, when not the PodMonitor's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<NamespaceSelector>,
    /// Where on each pod to scrape.
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

/// `PodMonitor.spec.namespaceSelector`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceSelector {
    /// The namespaces by name.
    pub match_names: Vec<String>,
}

/// One scrape endpoint of a pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodMetricsEndpoint {
    /// The container port's name.
    pub port: String,
    /// The HTTP path.
    pub path: String,
    /// How often.
    pub interval: String,
    /// Rewrites of the target's labels before the scrape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabelings: Vec<Relabeling>,
}

/// A relabeling rule (`action: replace` with a fixed replacement sets a label).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Relabeling {
    /// `replace`.
    pub action: String,
    /// The label written.
    pub target_label: String,
    /// Its value.
    pub replacement: String,
}

/// `PrometheusRule.spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusRuleSpec {
    /// The rule groups.
    pub groups: Vec<RuleGroup>,
}

/// A group of rules, evaluated together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleGroup {
    /// Unique within the Prometheus.
    pub name: String,
    /// The alerts.
    pub rules: Vec<AlertRule>,
}

/// One alerting rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRule {
    /// The alert's name.
    pub alert: String,
    /// The PromQL expression; every series it returns is an alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(rename = "for")]
    pub for_: String,
    /// Labels (severity and the user's).
    pub labels: BTreeMap<String, String>,
    /// Summary, description, runbook.
    pub annotations: BTreeMap<String, String>,
}
