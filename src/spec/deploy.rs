//! Production deployment knobs of the spec: scheduling, disruption budget, network policy,
//! service account, security profile, client Service, components, taos.cfg mode, password
//! reference, mnode bootstrap and escape hatches. serde + schemars types only.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, EnvVar, Toleration, Volume as K8sVolume, VolumeMount};
use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares an all-optional, closed, camelCase spec struct.
macro_rules! layer_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase")]
        #[schemars(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>,)*
        }
    };
}

layer_struct! {
    /// CPU and memory for the TDengine container, as Kubernetes quantities.
    pub struct Resources {
        /// Guaranteed amounts, e.g. `{cpu: "2", memory: 8Gi}`.
        pub requests: BTreeMap<String, String>,
        /// Upper bounds. Equal to requests gives the Guaranteed QoS class.
        pub limits: BTreeMap<String, String>,
    }
}

/// How strongly dnodes avoid sharing a node (or another topology domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AntiAffinityMode {
    /// No anti-affinity.
    None,
    /// Prefer spreading; schedule anyway when impossible (default).
    Preferred,
    /// Never co-locate two dnodes; pods stay Pending when impossible.
    Required,
}

layer_struct! {
    /// Pod anti-affinity built from the dnodes' own selector labels.
    pub struct AntiAffinity {
        /// `none`, `preferred` (default) or `required`.
        pub mode: AntiAffinityMode,
        /// Topology key; default `kubernetes.io/hostname`.
        pub topology_key: String,
        /// Weight of the preferred term (1..100); default 100.
        pub weight: i64,
    }
}

layer_struct! {
    /// Spread dnodes across zones with a topologySpreadConstraint.
    pub struct TopologySpread {
        /// Off by default.
        pub enabled: bool,
        /// Default `topology.kubernetes.io/zone`.
        pub topology_key: String,
        /// Default 1.
        pub max_skew: i64,
        /// `ScheduleAnyway` (default) or `DoNotSchedule`.
        pub when_unsatisfiable: String,
    }
}

layer_struct! {
    /// Extra metadata for the dnode pods only.
    pub struct PodMetadata {
        /// Labels for the pods (never part of the selector).
        pub labels: BTreeMap<String, String>,
        /// Annotations for the pods.
        pub annotations: BTreeMap<String, String>,
    }
}

layer_struct! {
    /// The PodDisruptionBudget (`policy/v1`).
    pub struct DisruptionBudget {
        /// Default: on when dnodes >= 3.
        pub enabled: bool,
        /// Default 1: one dnode at a time keeps RAFT majorities of 3 replicas.
        pub max_unavailable: i64,
        /// `AlwaysAllow` (default: a not-ready dnode may be evicted by a drain) or
        /// `IfHealthyBudget`.
        pub unhealthy_pod_eviction_policy: String,
    }
}

layer_struct! {
    /// An opt-in NetworkPolicy: peers talk on every port, clients on the client ports, and
    /// egress is limited to peers and cluster DNS.
    pub struct NetworkPolicy {
        /// Off by default.
        pub enabled: bool,
        /// Who may connect to the client ports: Kubernetes NetworkPolicy peers, written as in a
        /// NetworkPolicy (`podSelector` / `namespaceSelector` label selectors, or `ipBlock`).
        pub clients: Vec<NetworkPolicyPeer>,
        /// Where cluster DNS answers; default the `k8s-app: kube-dns` pods in any namespace on
        /// port 53.
        pub dns: DnsEgress,
    }
}

layer_struct! {
    /// The cluster DNS the pods may reach (egress): peers and ports as in a NetworkPolicy.
    pub struct DnsEgress {
        /// The DNS servers, e.g. `[{ipBlock: {cidr: 169.254.20.10/32}}]` for NodeLocal DNSCache;
        /// default the `k8s-app: kube-dns` pods in any namespace.
        pub to: Vec<NetworkPolicyPeer>,
        /// Their ports; default 53 over UDP and TCP.
        pub ports: Vec<NetworkPolicyPort>,
    }
}

layer_struct! {
    /// The pods' ServiceAccount. Its token is never mounted (TDengine does not call the API).
    pub struct ServiceAccount {
        /// Create a dedicated ServiceAccount (default false: use `name`, or the namespace's default).
        pub create: bool,
        /// Name to create or use; default `<metadata.name>` when created.
        pub name: String,
    }
}

/// Pod and container security settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityProfile {
    /// For the official image, which runs as root and writes to /etc: everything else is
    /// locked down (default).
    OfficialImage,
    /// Non-root, read-only root filesystem, writable emptyDirs: needs an image built for it.
    Hardened,
}

layer_struct! {
    /// Security settings.
    pub struct Security {
        /// `official-image` (default) or `hardened`.
        pub profile: SecurityProfile,
        /// User and group of the dnodes under the `hardened` profile, and of the Jobs' pods (mnode
        /// bootstrap, backups) under either profile; default 10001.
        pub run_as_user: i64,
    }
}

layer_struct! {
    /// The client Service (`<service>-client`).
    pub struct ClientService {
        /// Default true.
        pub enabled: bool,
        /// `ClusterIP` (default), `NodePort` or `LoadBalancer`.
        #[serde(rename = "type")]
        pub type_: String,
        /// Annotations (e.g. for a cloud load balancer).
        pub annotations: BTreeMap<String, String>,
        /// CIDRs allowed to reach a LoadBalancer.
        pub load_balancer_source_ranges: Vec<String>,
        /// `Cluster` or `Local` (NodePort/LoadBalancer only).
        pub external_traffic_policy: String,
    }
}

layer_struct! {
    /// One of the image's companion processes.
    pub struct Component {
        /// Whether the image starts it in every pod.
        pub enabled: bool,
    }
}

layer_struct! {
    /// The processes the official image starts next to taosd.
    pub struct Components {
        /// taosAdapter: REST and WebSocket on 6041 (default on).
        pub adapter: Component,
        /// taosKeeper: metrics exporter on 6043 (default off).
        pub keeper: Component,
        /// taosExplorer: web UI on 6060 (default off).
        pub explorer: Component,
    }
}

/// How `spec.config` reaches taosd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ConfigMode {
    /// `TAOS_*` environment variables (default).
    Env,
    /// A `taos.cfg` in a ConfigMap mounted at /etc/taos/taos.cfg; a checksum on the pod
    /// template rolls the pods when it changes.
    File,
}

layer_struct! {
    /// A key of an existing Secret. tdgen never sees or writes the value.
    pub struct SecretKeyRef {
        /// Name of the Secret.
        pub secret_name: String,
        /// Key in the Secret; default `password`.
        pub key: String,
    }
}

layer_struct! {
    /// What happens to the PVCs when the StatefulSet is deleted or scaled in.
    pub struct RetentionPolicy {
        /// `Retain` (default) or `Delete`.
        pub when_deleted: String,
        /// `Retain` (default) or `Delete`. `Delete` is only safe after `drop dnode`.
        pub when_scaled: String,
    }
}

layer_struct! {
    /// The Job that creates mnodes 2 and 3 once the dnodes are ready.
    pub struct MnodeBootstrap {
        /// Default: on when mnodes = 3.
        pub enabled: bool,
        /// Seconds the Job waits for 3 ready dnodes before failing (and retrying); default 600.
        pub wait_seconds: i64,
    }
}

layer_struct! {
    /// Scheduled logical backups: a CronJob runs the image's own `taosdump` into a PVC of its
    /// own (`<name>-backup`) and keeps the newest ones.
    pub struct Backup {
        /// The CronJob's schedule (five cron fields, or `@daily` and the like); default
        /// `0 3 * * *`. Kubernetes reads it in the controller manager's time zone.
        pub schedule: String,
        /// Databases to dump; default all of them (`taosdump -A`, which leaves out the system
        /// databases and `log`).
        pub databases: Vec<String>,
        /// How many complete backups to keep; default 7.
        pub keep: i64,
        /// The backup volume: size (default `20Gi`) and StorageClass (default: the cluster's).
        pub storage: super::Volume,
        /// Seconds a run may take before Kubernetes stops it; default 21600 (6 hours).
        pub active_deadline_seconds: i64,
    }
}

layer_struct! {
    /// Monitoring: taosKeeper in every pod (taosd reporting to it), a Prometheus Operator
    /// `PodMonitor` that scrapes it, a `PrometheusRule` whose thresholds come from this spec, and
    /// a Grafana dashboard. Presence turns it on.
    pub struct Monitoring {
        /// Default true (`false` turns off what a preset turned on).
        pub enabled: bool,
        /// Labels on the PodMonitor and the PrometheusRule, to match your Prometheus'
        /// `podMonitorSelector` and `ruleSelector` (kube-prometheus-stack:
        /// `{release: <its release name>}`).
        pub labels: BTreeMap<String, String>,
        /// Namespace of the PodMonitor, the PrometheusRule and the dashboard, for a Prometheus
        /// that reads only its own; default the cluster's. Needs `metadata.namespace`.
        pub namespace: String,
        /// How often Prometheus scrapes taosKeeper; default `30s`.
        pub interval: String,
        /// Who may scrape taosKeeper when the NetworkPolicy is on, as NetworkPolicy peers;
        /// default pods labelled `app.kubernetes.io/name: prometheus` in any namespace (the
        /// Prometheus Operator's).
        pub scrapers: Vec<NetworkPolicyPeer>,
        /// The PodMonitor.
        pub pod_monitor: MonitoringPart,
        /// The PrometheusRule.
        pub alerts: Alerts,
        /// The Grafana dashboard ConfigMap.
        pub dashboard: Dashboard,
    }
}

layer_struct! {
    /// A part of the monitoring that can be left out.
    pub struct MonitoringPart {
        /// Default true. Off when the cluster has no Prometheus Operator (its CRDs).
        pub enabled: bool,
    }
}

layer_struct! {
    /// The alerts (a `PrometheusRule`).
    pub struct Alerts {
        /// Default true. Off when the cluster has no Prometheus Operator (its CRDs).
        pub enabled: bool,
        /// Labels added to every alert, for Alertmanager routing (e.g. `{team: database}`).
        pub labels: BTreeMap<String, String>,
    }
}

layer_struct! {
    /// The Grafana dashboard, a ConfigMap the Grafana sidecar picks up by label.
    pub struct Dashboard {
        /// Default true.
        pub enabled: bool,
        /// Labels the Grafana sidecar looks for; default `{grafana_dashboard: "1"}`
        /// (kube-prometheus-stack's).
        pub labels: BTreeMap<String, String>,
        /// Annotations, e.g. the sidecar's folder annotation.
        pub annotations: BTreeMap<String, String>,
    }
}

/// Raw Kubernetes pieces the spec accepts as they are.
pub type Tolerations = Vec<Toleration>;
/// Raw affinity (merged with the anti-affinity preset).
pub type RawAffinity = Affinity;
/// Extra environment variables, appended after tdgen's own.
pub type ExtraEnv = Vec<EnvVar>;
/// Extra pod volumes. Shared, not copied, between the spec, its validated form and every
/// clone of either: a Kubernetes `Volume` is over 3 KB, and a spec may list thousands. A
/// `Vec` behind the `Arc`, not a slice: the list read is moved in, where an `Arc<[_]>` would
/// copy it (two copies at once, the peak memory of a long list).
pub type ExtraVolumes = std::sync::Arc<Vec<K8sVolume>>;
/// Extra container volume mounts.
pub type ExtraVolumeMounts = Vec<VolumeMount>;
