//! The validated model: [`ValidSpec`] and the types it holds, with every default applied.
//! [`mod@crate::validate`] produces it; `plan`, `build`, `explain`, `runbook` and `diff` consume
//! it. It holds values only, no rules.

use std::collections::BTreeMap;
use std::ops::Deref;

use k8s_openapi::api::core::v1::{Affinity, EnvVar, Toleration, VolumeMount};
use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};

use crate::spec::{AntiAffinityMode, ConfigMode, PodManagementPolicy, ProbeTiming, PullPolicy, SecurityProfile};
use crate::tdengine::{self, env, version::Version};

/// Built-in defaults (the lowest layer): the TDengine doc's cluster.
pub mod defaults {
    use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use crate::spec::ProbeTiming;
    use crate::tdengine;

    /// `metadata.name`.
    pub const NAME: &str = "tdengine";
    /// `spec.image.repository`.
    pub const REPOSITORY: &str = tdengine::OFFICIAL_IMAGE;
    /// `spec.image.tag`: the doc's image.
    pub const TAG: &str = "3.0.7.1";
    /// `spec.dnodes`.
    pub const DNODES: u32 = 3;
    /// `spec.timezone`.
    pub const TIMEZONE: &str = "Asia/Shanghai";
    /// `spec.clusterDomain`.
    pub const CLUSTER_DOMAIN: &str = "cluster.local";
    /// `spec.serverPort`.
    pub const SERVER_PORT: u16 = tdengine::DEFAULT_SERVER_PORT;
    /// `spec.service.name` of the doc's cluster.
    pub const SERVICE_NAME: &str = "taosd";
    /// `spec.storage.data.size`.
    pub const DATA_SIZE: &str = "5Gi";
    /// `spec.storage.logs.size`, when a log volume is asked for without a size.
    pub const LOG_SIZE: &str = "1Gi";
    /// Backup volume size.
    pub const BACKUP_SIZE: &str = "20Gi";
    /// Backup schedule: every day at 03:00.
    pub const BACKUP_SCHEDULE: &str = "0 3 * * *";

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

    /// `spec.networkPolicy.dns.to`: the cluster DNS pods (`k8s-app: kube-dns`, the label
    /// kube-dns and CoreDNS deployments carry) in any namespace. A match expression, not
    /// matchLabels: kustomize's `commonLabels` adds its labels to every matchLabels of a
    /// NetworkPolicy, which would select no DNS pod at all.
    pub fn dns_peers() -> Vec<NetworkPolicyPeer> {
        vec![pods_in_any_namespace("k8s-app", "kube-dns")]
    }

    /// `spec.monitoring.scrapers`: the pods of every Prometheus the Prometheus Operator runs
    /// (`app.kubernetes.io/name: prometheus`), in any namespace; a match expression for the
    /// reason [`dns_peers`] gives.
    pub fn scrapers() -> Vec<NetworkPolicyPeer> {
        vec![pods_in_any_namespace("app.kubernetes.io/name", "prometheus")]
    }

    /// The pods labelled `key: value` in any namespace, selected with a match expression.
    fn pods_in_any_namespace(key: &str, value: &str) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector::default()),
            pod_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: key.into(),
                    operator: "In".into(),
                    values: Some(vec![value.into()]),
                }]),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }
    }

    /// `spec.networkPolicy.dns.ports`: 53, over UDP and TCP.
    pub fn dns_ports() -> Vec<NetworkPolicyPort> {
        ["UDP", "TCP"]
            .into_iter()
            .map(|protocol| NetworkPolicyPort {
                port: Some(IntOrString::Int(53)),
                protocol: Some(protocol.into()),
                ..NetworkPolicyPort::default()
            })
            .collect()
    }

    /// `spec.probes.startup`: one hour, because a dnode returning after an outage replays its
    /// WAL and catches up on vnodes, and a small budget restart-loops it (the doc's warning).
    pub fn startup_probe() -> ProbeTiming {
        ProbeTiming {
            failure_threshold: Some(360),
            period_seconds: Some(10),
            timeout_seconds: Some(5),
            ..Default::default()
        }
    }

    /// `spec.probes.readiness`. The doc sets timeoutSeconds: 5000 (83 minutes), which only
    /// hides a hung check; 5 s is ample for taos-check and above the 1 s default that makes
    /// exec probes flap.
    pub fn readiness_probe() -> ProbeTiming {
        ProbeTiming {
            initial_delay_seconds: Some(5),
            period_seconds: Some(10),
            timeout_seconds: Some(5),
            ..Default::default()
        }
    }

    /// `spec.probes.liveness`.
    pub fn liveness_probe() -> ProbeTiming {
        ProbeTiming {
            initial_delay_seconds: Some(15),
            period_seconds: Some(20),
            timeout_seconds: Some(5),
            ..Default::default()
        }
    }
}

/// The volume names tdgen gives the dnode pod.
pub mod volumes {
    /// The data volume claim template (the doc's name; part of every PVC name).
    pub const DATA: &str = "taosdata";
    /// The optional log volume claim template (an emptyDir when there is no log volume).
    pub const LOG: &str = "taoslog";
    /// The taos.cfg ConfigMap (file mode).
    pub const CONFIG: &str = "taoscfg";
    /// The root-password Secret (file delivery).
    pub const PASSWORD: &str = "root-password";
    /// A writable /tmp under a read-only root filesystem.
    pub const TMP: &str = "tmp";
    /// Every name above: `spec.extraVolumes` may use none of them.
    pub const ALL: [&str; 5] = [DATA, LOG, CONFIG, PASSWORD, TMP];
}

/// The oldest Kubernetes minor version (1.x) tdgen renders for.
pub const MIN_KUBERNETES: u32 = 25;
/// The newest Kubernetes minor version tdgen knows.
pub const MAX_KUBERNETES: u32 = 37;
/// Default target: the oldest version still in wide use on managed platforms.
pub const DEFAULT_KUBERNETES: u32 = 29;

/// Label keys tdgen sets itself.
pub const OWNED_LABELS: [&str; 6] = [
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
];

/// tdgen's helper variables, from which the kubelet builds `TAOS_FQDN` and `TAOS_FIRST_EP`
/// with `$(VAR)` references.
pub mod helper_env {
    /// The pod's own name (downward API).
    pub const POD_NAME: &str = "POD_NAME";
    /// The governing Service's name.
    pub const SERVICE_NAME: &str = "SERVICE_NAME";
    /// The StatefulSet's name.
    pub const STS_NAME: &str = "STS_NAME";
    /// The pod's namespace (downward API).
    pub const STS_NAMESPACE: &str = "STS_NAMESPACE";
}

/// Environment variable names tdgen sets itself: its helpers for `$(VAR)` references, and
/// the TDengine variables it derives.
pub const OWNED_ENV: [&str; 15] = [
    helper_env::POD_NAME,
    helper_env::SERVICE_NAME,
    helper_env::STS_NAME,
    helper_env::STS_NAMESPACE,
    env::TIMEZONE,
    env::SERVER_PORT,
    env::FIRST_EP,
    env::FQDN,
    tdengine::ADAPTER.disable_env,
    tdengine::KEEPER.disable_env,
    tdengine::EXPLORER.disable_env,
    env::ROOT_PASSWORD,
    env::ROOT_PASSWORD_FILE,
    tdengine::keeper::PREFIX_ENV,
    tdengine::keeper::PASSWORD_ENV,
];

/// A validated spec: every value checked, every default applied.
///
/// Only [`crate::validate::validate`] builds one, so holding a `ValidSpec` proves the spec
/// passed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSpec(Resolved);

impl ValidSpec {
    /// Seal resolved values that passed every rule. Only validation calls this (the structure
    /// test holds it to that).
    pub(crate) fn sealed(resolved: Resolved) -> ValidSpec {
        ValidSpec(resolved)
    }
}

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
    pub deploy: Deploy,
}

/// How the root password reaches the pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordDelivery {
    /// `TAOS_ROOT_PASSWORD_FILE` pointing at the mounted Secret key
    /// ([`tdengine::PASSWORD_FROM_FILE`]).
    File,
    /// `TAOS_ROOT_PASSWORD` from `secretKeyRef` ([`tdengine::PASSWORD_FROM_ENV`]).
    Env,
}

/// The resolved backup schedule and volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSettings {
    /// The CronJob's schedule.
    pub schedule: String,
    /// Databases to dump; empty for all.
    pub databases: Vec<String>,
    /// Complete backups kept.
    pub keep: u32,
    /// The backup PVC's canonical size.
    pub size: String,
    /// The backup PVC's StorageClass; `None` for the cluster's default.
    pub storage_class: Option<String>,
    /// The Job's `activeDeadlineSeconds`.
    pub active_deadline_seconds: i64,
}

/// The resolved monitoring.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringSettings {
    /// Labels of the PodMonitor and the PrometheusRule.
    pub labels: BTreeMap<String, String>,
    /// Where they and the dashboard go, when not the cluster's own namespace.
    pub namespace: Option<String>,
    /// The scrape interval (a Prometheus duration).
    pub interval: String,
    /// Who may scrape, when the NetworkPolicy is on.
    pub scrapers: Vec<NetworkPolicyPeer>,
    /// Render the PodMonitor.
    pub pod_monitor: bool,
    /// The alerts, when rendered.
    pub alerts: Option<AlertSettings>,
    /// The dashboard's labels and annotations, when rendered.
    pub dashboard: Option<(BTreeMap<String, String>, BTreeMap<String, String>)>,
}

/// The thresholds of the alerts, every one from the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Labels on every alert.
    pub labels: BTreeMap<String, String>,
    /// `minimalDataDirGB`, in bytes: taosd stops writing below it.
    pub reserve_bytes: u64,
    /// The data volume, in bytes.
    pub data_bytes: u64,
    /// `supportVnodes`, when the spec sets it.
    pub support_vnodes: Option<u32>,
    /// The longest gap between two backup runs, in seconds, when there are backups.
    pub backup_gap_seconds: Option<u64>,
}

/// The label the PodMonitor puts on every series of a cluster (its `metadata.name`), by which
/// the alerts and the dashboard select it; every alert carries it too.
pub const CLUSTER_LABEL: &str = "tdengine_cluster";
/// The alert label tdgen sets to `critical` or `warning`.
pub const SEVERITY_LABEL: &str = "severity";

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

/// The resolved NetworkPolicy: who may reach the client ports, and where DNS answers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkPolicySettings {
    /// Client peers, as given.
    pub clients: Vec<NetworkPolicyPeer>,
    /// The DNS servers.
    pub dns_to: Vec<NetworkPolicyPeer>,
    /// Their ports.
    pub dns_ports: Vec<NetworkPolicyPort>,
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
    /// The NetworkPolicy, when enabled.
    pub network_policy: Option<NetworkPolicySettings>,
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
    /// Scheduled backups, when configured.
    pub backup: Option<BackupSettings>,
    /// Monitoring, when on.
    pub monitoring: Option<MonitoringSettings>,
    /// Extra env.
    pub extra_env: Vec<EnvVar>,
    /// Extra volumes.
    pub extra_volumes: crate::spec::ExtraVolumes,
    /// Extra volume mounts.
    pub extra_volume_mounts: Vec<VolumeMount>,
    /// Whether the image's taos-check has `startup` / `service` modes.
    pub probe_modes: bool,
}

impl Deploy {
    /// Each companion of the image with whether this cluster runs it, in port order.
    pub fn components(&self) -> [(tdengine::Component, bool); 3] {
        [
            (tdengine::ADAPTER, self.adapter),
            (tdengine::KEEPER, self.keeper),
            (tdengine::EXPLORER, self.explorer),
        ]
    }
}
