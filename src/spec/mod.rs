//! The user-facing spec (`apiVersion: tdgen/v1`, `kind: TDengineCluster`): serde + schemars types only.
//!
//! Every field is optional so that one type serves as a *layer* (built-in defaults < preset <
//! spec file < `--set`, see [`crate::layer`]). Unknown fields are found all at once by
//! [`crate::layer`], against the JSON Schema (where every object says
//! `additionalProperties: false`); serde itself skips them, so that every other field is still
//! read and checked. Doc comments become the JSON Schema's descriptions. No cross-field logic
//! lives here: that belongs to [`mod@crate::validate`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

mod deploy;
pub use deploy::*;

/// The `apiVersion` every spec carries.
pub const API_VERSION: &str = "tdgen/v1";
/// The `kind` every spec carries.
pub const KIND: &str = "TDengineCluster";

/// The JSON Schema of the spec, for editors, CI and the unknown-field check. Its `$id`
/// ([`SCHEMA_ID`]) names the spec's version and the tdgen that wrote it; the same schema is
/// kept in the repository as `schema/tdenginecluster-v1.schema.json`.
pub fn json_schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(Spec);
    schema.insert("$id".into(), SCHEMA_ID.into());
    schema
}

/// The schema's `$id`: `urn:tdgen:schema:<apiVersion>:<kind>:<tdgen version>`.
pub const SCHEMA_ID: &str = concat!("urn:tdgen:schema:tdgen/v1:TDengineCluster:", env!("CARGO_PKG_VERSION"));

/// A TDengine cluster spec: the whole input of `tdgen`.
///
/// The envelope looks like a Kubernetes object so it is familiar and can evolve by version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
#[schemars(title = "TDengineCluster")]
pub struct Spec {
    /// Must be `tdgen/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Must be `TDengineCluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and namespace of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The cluster's desired shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ClusterSpec>,
}

/// Identity of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Metadata {
    /// StatefulSet name, also the `app` selector label and the prefix of every pod name.
    /// Default `tdengine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When set, every rendered object carries this namespace. When unset, objects are
    /// namespace-less (use `kubectl apply -n NS`) and pods learn their namespace at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels added to every rendered object (and the pods), never to selectors or claim
    /// templates. Keys tdgen sets itself (`app`, `app.kubernetes.io/*`) are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations added to every rendered object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The cluster's desired shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Start from this preset (`seed`, `dev`, `ha`, `production`; see `tdgen presets`). Default `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The TDengine server image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Number of dnodes (StatefulSet replicas). Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub dnodes: Option<i64>,
    /// Number of mnodes: 1 or 3. Default 3 when dnodes >= 3, else 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3))]
    pub mnodes: Option<i64>,
    /// IANA time zone for every dnode (`TZ`). Default `Asia/Shanghai`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The Kubernetes cluster domain used in every FQDN. Default `cluster.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// taosd's server port (`serverPort`), 1 to 65056 (taosd's own bound). Default 6030.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = crate::tdengine::MAX_SERVER_PORT))]
    pub server_port: Option<i64>,
    /// The governing (headless) Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    /// Persistent storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    /// Probe timing. The handlers (`taos-check`) are chosen by tdgen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    /// `OrderedReady` (the doc's, default) or `Parallel` (restarts after a full outage without
    /// waiting pod by pod). Immutable once the StatefulSet exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<PodManagementPolicy>,
    /// Any taos.cfg parameter by its camelCase name, e.g. `supportVnodes: 16`. Rendered as
    /// `TAOS_*` environment variables (`supportVnodes` → `TAOS_SUPPORT_VNODES`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, ConfigValue>>,
    /// `env` (default): parameters as `TAOS_*` variables; `file`: a taos.cfg ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_mode: Option<ConfigMode>,
    /// Oldest Kubernetes version the manifests must apply to (`1.25`..`1.37`); fields newer than
    /// it are left out. Default `1.29`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// CPU and memory requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Node labels the pods must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Tolerations, as in a pod spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Tolerations>,
    /// Raw affinity, as in a pod spec; the anti-affinity preset is added to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<RawAffinity>,
    /// Keep dnodes apart (default: preferred, per node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinity>,
    /// Spread dnodes across zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread: Option<TopologySpread>,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Seconds taosd gets to flush and stop; default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub termination_grace_period_seconds: Option<i64>,
    /// Labels and annotations for the pods only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodMetadata>,
    /// The PodDisruptionBudget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudget>,
    /// The NetworkPolicy (opt-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<NetworkPolicy>,
    /// The pods' ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccount>,
    /// Names of Secrets for pulling the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// Security profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// The client Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_service: Option<ClientService>,
    /// taosAdapter, taosKeeper and taosExplorer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Components>,
    /// The root password, by reference to an existing Secret (TDengine >= 3.3.6.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_password: Option<SecretKeyRef>,
    /// The Job that creates the extra mnodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnode_bootstrap: Option<MnodeBootstrap>,
    /// Scheduled taosdump backups into a PVC of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
    /// Metrics, alerts and a dashboard (opt-in; the `production` preset turns it on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    /// Extra environment variables (after tdgen's own; `$(VAR)` may use them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_env: Option<ExtraEnv>,
    /// Extra pod volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_volumes: Option<ExtraVolumes>,
    /// Extra volume mounts for the TDengine container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_volume_mounts: Option<ExtraVolumeMounts>,
}

/// The container image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Image {
    /// Image repository. Default `tdengine/tdengine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Image tag. Default `3.0.7.1` (the doc's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Optional digest (`sha256:…`) that pins the image; rendered as `repository:tag@digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `Always`, `IfNotPresent` (default) or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
}

/// Kubernetes `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    /// Pull on every start.
    Always,
    /// Pull only when the node lacks the image.
    IfNotPresent,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// StatefulSet `podManagementPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PodManagementPolicy {
    /// Start pods one at a time, each Ready before the next.
    OrderedReady,
    /// Start and stop all pods at once.
    Parallel,
}

impl PodManagementPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderedReady => "OrderedReady",
            Self::Parallel => "Parallel",
        }
    }
}

/// The governing Service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Name of the headless Service that gives each dnode its DNS name. Default `taosd`.
    /// The client Service is named `<name>-client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Persistent storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Storage {
    /// The data volume (`/var/lib/taos`, claim template `taosdata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Volume>,
    /// A persistent log volume (`/var/log/taos`, claim template `taoslog`); when omitted,
    /// logs live on the image's anonymous volume and die with the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Volume>,
    /// PVC retention when the StatefulSet is deleted or scaled in (default Retain/Retain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
}

/// One persistent volume claim template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Volume {
    /// Requested size as a Kubernetes quantity. Default `5Gi` for data and logs, `20Gi` for backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// StorageClass: a name; `null` for the cluster's default class (also over a preset's
    /// class); `""` for no dynamic provisioning (pre-provisioned volumes only).
    #[serde(default, deserialize_with = "explicit_null", skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<Option<String>>,
}

/// Probe timing for the three probes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Probes {
    /// Startup probe. Default `failureThreshold: 360, periodSeconds: 10` (one hour: a dnode that
    /// returns after an outage needs time to catch up, and a short budget restart-loops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<ProbeTiming>,
    /// Readiness probe. Default `initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ProbeTiming>,
    /// Liveness probe. Default `initialDelaySeconds: 15, periodSeconds: 20, timeoutSeconds: 5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<ProbeTiming>,
}

/// The standard Kubernetes probe fields (the handler is tdgen's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ProbeTiming {
    /// Seconds after start before the first probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub initial_delay_seconds: Option<i64>,
    /// Seconds between probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub period_seconds: Option<i64>,
    /// Seconds before one probe times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<i64>,
    /// Consecutive successes to count as passing (must be 1 for liveness and startup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub success_threshold: Option<i64>,
    /// Consecutive failures to count as failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub failure_threshold: Option<i64>,
    /// Grace period when this probe's failure kills the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub termination_grace_period_seconds: Option<i64>,
}

/// A field where `null` is a choice of its own (it overrides a lower layer's value): absent is
/// `None`, `null` is `Some(None)`, a value is `Some(Some(value))`.
fn explicit_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// One taos.cfg parameter value, kept exactly as written (`16`, `1.50`, `on`).
///
/// YAML numbers and booleans are accepted and kept in their source spelling, so `1.50` stays
/// `1.50` and `on` stays `on`; nested maps and lists are rejected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ConfigValue(pub String);

impl ConfigValue {
    /// The value as taosd will read it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Asking for a string makes the YAML reader hand over the scalar's source text, so
        // numbers keep their spelling; JSON layers hand over numbers and booleans as such.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar taos.cfg value (string, number or boolean)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_owned()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
        }
        deserializer.deserialize_string(Visitor)
    }
}

impl JsonSchema for ConfigValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConfigValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A taos.cfg value; numbers and booleans are kept in their written form.",
            "type": ["string", "integer", "number", "boolean"]
        })
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn the_schema_id_names_this_api_version_and_kind() {
        assert!(SCHEMA_ID.starts_with(&format!("urn:tdgen:schema:{API_VERSION}:{KIND}:")));
        assert_eq!(json_schema().get("$id").and_then(|v| v.as_str()), Some(SCHEMA_ID));
    }
}
