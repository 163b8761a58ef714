//! The blueprint: every name, label, port and environment variable the manifests share, derived
//! once from a [`ValidSpec`]. Builders and templates only place these values.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::{PasswordDelivery, ValidSpec, helper_env, volumes};
use crate::spec::ConfigMode;
use crate::tdengine::{
    self,
    env::{self as td_env, config_env_name},
    keeper,
};

/// Name of the TDengine container (the doc's, kept so adopting a doc cluster changes nothing).
pub const CONTAINER_NAME: &str = "tdengine";
/// The `app.kubernetes.io/managed-by` value.
pub const MANAGER: &str = "tdgen";
/// The ServiceAccount pods use when the spec names none: every namespace's `default`, which
/// the ServiceAccount controller creates. tdgen names it rather than leaving the field out:
/// server-side apply cannot clear a `serviceAccountName` it set before, because the API server
/// restores it from the deprecated `serviceAccount` field, which no field manager owns (seen on
/// kube-apiserver v1.36.2 by the API-server tier), so pods would keep a pruned ServiceAccount.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Where the root-password Secret is mounted.
pub const PASSWORD_DIR: &str = "/etc/taos-secret";
/// Where the bootstrap script is mounted in the Job.
pub const SCRIPTS_DIR: &str = "/tdgen";
/// The pod-template annotation whose change rolls the pods when taos.cfg changes.
pub const CONFIG_CHECKSUM_ANNOTATION: &str = "checksum/taos-cfg";

/// Where an environment variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    /// A literal, possibly with `$(VAR)` references to earlier variables.
    Value(String),
    /// A pod field via the downward API (`metadata.name`, `metadata.namespace`).
    FieldRef(&'static str),
    /// A key of an existing Secret (name, key).
    SecretKey(String, String),
}

/// One container environment variable, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Its value.
    pub source: EnvSource,
}

/// A named TCP port served by every dnode pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Port name (IANA_SVC_NAME, at most 15 characters).
    pub name: String,
    /// Port number.
    pub number: u16,
}

/// Everything the builders need, derived once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Blueprint {
    /// StatefulSet name (and pod name prefix).
    pub name: String,
    /// Namespace to stamp on every object, when pinned.
    pub namespace: Option<String>,
    /// The headless governing Service.
    pub headless_service: String,
    /// The ClusterIP Service for clients.
    pub client_service: String,
    /// Labels that select the dnode pods; immutable once applied.
    pub selector: BTreeMap<String, String>,
    /// Labels on every object (a superset of the selector).
    pub labels: BTreeMap<String, String>,
    /// Annotations on every object.
    pub annotations: BTreeMap<String, String>,
    /// Full image reference.
    pub image: String,
    /// Ports on the pods and on both Services.
    pub ports: Vec<Port>,
    /// The container environment, in the order the kubelet must see it.
    pub env: Vec<EnvVar>,
    /// Probe commands: (startup, readiness and liveness).
    pub probe_commands: (Vec<String>, Vec<String>),
    /// The ServiceAccount the pods use, always named (see [`DEFAULT_SERVICE_ACCOUNT`]).
    pub service_account: String,
    /// The taos.cfg ConfigMap (file mode): name, file text and its checksum.
    pub taos_cfg: Option<(String, String, String)>,
    /// The mnode bootstrap: scripts ConfigMap name, Job name and pod labels.
    pub bootstrap: Option<Bootstrap>,
    /// The scheduled backups: names, pod labels and script.
    pub backup: Option<Backup>,
    /// The validated spec the plan was derived from, for values the builders place as-is.
    pub spec: ValidSpec,
}

/// Names, labels and script of the backup CronJob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// The CronJob, its NetworkPolicy and its PVC: `<name>-backup`.
    pub name: String,
    /// The ConfigMap holding the script.
    pub config_map: String,
    /// Labels of the backup pods (the instance's, without the dnode selector).
    pub pod_labels: BTreeMap<String, String>,
    /// The script (bash), from `templates/backup.sh.j2`.
    pub script: String,
    /// The restore script (bash) `tdgen plan restore` runs, from `templates/restore.sh.j2`.
    pub restore_script: String,
}

/// Where the backup PVC is mounted in the backup and restore pods.
pub const BACKUP_DIR: &str = "/backup";
/// How often the restore Job runs taosdump's import before it fails: taosdump gives up at once
/// on a statement refused while a restarted dnode's vnodes elect leaders (realsys tier), and the
/// import is safe to repeat.
const RESTORE_ATTEMPTS: u32 = 5;
/// Seconds between two import attempts: longer than a vnode election after a dnode restart.
const RESTORE_PAUSE_SECONDS: u32 = 30;

/// Names and labels of the mnode bootstrap Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// ConfigMap holding the script.
    pub config_map: String,
    /// The stable name of the bootstrap: its NetworkPolicy, and the prefix of the Job's name
    /// (the Job itself is named after its content, see [`crate::build::bootstrap_job`]).
    pub name: String,
    /// Labels of the Job's pod: the instance's labels without the dnode selector, so no
    /// Service, budget or policy ever selects it.
    pub pod_labels: BTreeMap<String, String>,
    /// Seconds to wait for ready dnodes.
    pub wait_seconds: i64,
    /// The Job's `activeDeadlineSeconds`: every attempt's wait plus the mnode work, for every
    /// attempt the Job may make.
    pub active_deadline_seconds: i64,
    /// The script (bash), from `templates/mnode-bootstrap.sh.j2`.
    pub script: String,
}

impl Blueprint {
    /// Derive the plan from a validated spec.
    pub fn new(spec: &ValidSpec) -> Blueprint {
        let selector = BTreeMap::from([("app".to_owned(), spec.name.clone())]);
        let mut labels = spec.labels.clone();
        labels.extend(selector.clone());
        labels.extend([
            ("app.kubernetes.io/name".to_owned(), "tdengine".to_owned()),
            ("app.kubernetes.io/instance".to_owned(), spec.name.clone()),
            ("app.kubernetes.io/component".to_owned(), "taosd".to_owned()),
            ("app.kubernetes.io/managed-by".to_owned(), MANAGER.to_owned()),
            ("app.kubernetes.io/version".to_owned(), version_label(&spec.tag)),
        ]);
        let deploy = &spec.deploy;
        let bootstrap = deploy
            .mnode_bootstrap
            .map(|wait_seconds| bootstrap(spec, &labels, &selector, wait_seconds));
        let backup = deploy
            .backup
            .as_ref()
            .map(|settings| backup_plan(spec, &labels, &selector, settings));
        let taos_cfg = (deploy.config_mode == ConfigMode::File).then(|| {
            let text = taos_cfg_text(spec);
            let checksum = format!("{:x}", Sha256::digest(text.as_bytes()));
            (format!("{}-taoscfg", spec.name), text, checksum)
        });
        Blueprint {
            name: spec.name.clone(),
            namespace: spec.namespace.clone(),
            headless_service: spec.service_name.clone(),
            client_service: format!("{}-client", spec.service_name),
            selector,
            labels,
            annotations: spec.annotations.clone(),
            image: image_reference(spec),
            ports: ports(spec),
            env: env(spec),
            probe_commands: probe_commands(spec),
            service_account: deploy
                .service_account
                .as_ref()
                .map_or_else(|| DEFAULT_SERVICE_ACCOUNT.to_owned(), |(_, name)| name.clone()),
            taos_cfg,
            bootstrap,
            backup,
            spec: spec.clone(),
        }
    }

    /// The endpoint (`fqdn:port`) of dnode `ordinal` in `namespace`.
    pub fn endpoint(&self, ordinal: u32, namespace: &str) -> String {
        format!("{}:{}", self.pod_fqdn(ordinal, namespace), self.spec.server_port)
    }

    /// The FQDN of dnode `ordinal` in `namespace`.
    pub fn pod_fqdn(&self, ordinal: u32, namespace: &str) -> String {
        format!(
            "{}-{ordinal}.{}.{namespace}.svc.{}",
            self.name, self.headless_service, self.spec.cluster_domain
        )
    }

    /// The first endpoint every dnode joins through (`TAOS_FIRST_EP`).
    pub fn first_endpoint(&self, namespace: &str) -> String {
        format!("{}:{}", self.pod_fqdn(0, namespace), self.spec.server_port)
    }

    /// The data PVC the StatefulSet creates for dnode `ordinal`.
    pub fn data_pvc(&self, ordinal: u32) -> String {
        format!("{}-{}-{ordinal}", volumes::DATA, self.name)
    }
}

/// The bootstrap Job's names, labels, deadline and script.
/// The instance's labels without the dnode selector, and this component's: no Service, budget
/// or policy of the dnodes ever selects such a pod.
pub(crate) fn task_labels(
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
    component: &str,
) -> BTreeMap<String, String> {
    let mut pod_labels = labels.clone();
    for key in selector.keys() {
        pod_labels.remove(key);
    }
    pod_labels.insert("app.kubernetes.io/component".into(), component.into());
    pod_labels
}

fn backup_plan(
    spec: &ValidSpec,
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
    settings: &crate::model::BackupSettings,
) -> Backup {
    let context = serde_json::json!({
        "name": spec.name,
        "service": spec.service_name,
        "domain": spec.cluster_domain,
        "port": spec.server_port,
        "databases": settings.databases.join(","),
        "keep": settings.keep,
        "dir": BACKUP_DIR,
        "restore_attempts": RESTORE_ATTEMPTS,
        "restore_pause": RESTORE_PAUSE_SECONDS,
    });
    Backup {
        name: format!("{}-backup", spec.name),
        config_map: format!("{}-backup-script", spec.name),
        pod_labels: task_labels(labels, selector, "backup"),
        // Embedded templates, plain context: an error is a tdgen bug the tests catch.
        script: crate::templates::render("backup.sh.j2", &context).unwrap_or_default(),
        restore_script: crate::templates::render("restore.sh.j2", &context).unwrap_or_default(),
    }
}

fn bootstrap(
    spec: &ValidSpec,
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
    wait_seconds: i64,
) -> Bootstrap {
    let pod_labels = task_labels(labels, selector, "mnode-bootstrap");
    let context = serde_json::json!({
        "name": spec.name,
        "service": spec.service_name,
        "domain": spec.cluster_domain,
        "port": spec.server_port,
        "dnodes": spec.dnodes,
        "wait_seconds": wait_seconds,
    });
    Bootstrap {
        config_map: format!("{}-scripts", spec.name),
        name: format!("{}-mnode-bootstrap", spec.name),
        pod_labels,
        wait_seconds,
        active_deadline_seconds: bootstrap_deadline(wait_seconds),
        // Embedded, compiled-once templates with a fixed context: an error is a tdgen bug,
        // caught by the snapshot and bootstrap tests, never something a spec can cause.
        script: crate::templates::render("mnode-bootstrap.sh.j2", context).unwrap_or_default(),
    }
}

/// How often the bootstrap Job may fail before Kubernetes marks it failed.
pub const BOOTSTRAP_BACKOFF_LIMIT: i32 = 3;
/// What one run of the bootstrap script needs beyond its wait for ready dnodes: reading the
/// mnodes and creating two, each bounded by per-statement timeouts and a 2-minute wait.
const BOOTSTRAP_MNODE_SECONDS: i64 = 600;

/// The Job's deadline: the script's own bound for every attempt the Job makes. It only fires
/// when something hangs beyond the script's own timeouts; the cluster is then left as it is.
fn bootstrap_deadline(wait_seconds: i64) -> i64 {
    (i64::from(BOOTSTRAP_BACKOFF_LIMIT) + 1) * (wait_seconds + BOOTSTRAP_MNODE_SECONDS)
}

/// `repository[:tag][@digest]`.
fn image_reference(spec: &ValidSpec) -> String {
    let mut image = spec.repository.clone();
    if !spec.tag.is_empty() {
        image.push(':');
        image.push_str(&spec.tag);
    }
    if let Some(digest) = &spec.digest {
        image.push('@');
        image.push_str(digest);
    }
    image
}

/// taosd's port, then the ports of the components the image starts.
fn ports(spec: &ValidSpec) -> Vec<Port> {
    let mut ports = vec![port(spec.server_port)];
    let running = spec.deploy.components().into_iter().filter(|(_, on)| *on);
    ports.extend(running.map(|(component, _)| port(component.port)));
    ports
}

/// `taos-check` learned `startup` and `service` modes in 3.4.1.0; older images have neither.
fn probe_commands(spec: &ValidSpec) -> (Vec<String>, Vec<String>) {
    let command = |mode: &str| {
        let mut command = vec![tdengine::PROBE_COMMAND.to_owned()];
        if spec.deploy.probe_modes {
            command.push(mode.to_owned());
        }
        command
    };
    let (startup, service) = tdengine::PROBE_MODES;
    (command(startup), command(service))
}

/// The taos.cfg of file mode: one `name value` line per parameter, sorted. (Like the bootstrap
/// script, a render error would be a tdgen bug that the snapshot tests catch.)
fn taos_cfg_text(spec: &ValidSpec) -> String {
    let parameters: Vec<(&String, &String)> = spec.config.iter().collect();
    crate::templates::render(
        "taos.cfg.j2",
        serde_json::json!({ "parameters": parameters, "name": spec.name }),
    )
    .unwrap_or_default()
}

fn port(number: u16) -> Port {
    Port {
        name: format!("tcp{number}"),
        number,
    }
}

/// Label values allow `[A-Za-z0-9._-]`, at most 63 characters; a tag may be up to 128.
fn version_label(tag: &str) -> String {
    if tag.is_empty() {
        return "unversioned".into();
    }
    let value: String = tag.chars().take(63).collect();
    value.trim_end_matches(['.', '-', '_']).to_owned()
}

/// The container environment. Order is semantic: `$(VAR)` only expands variables defined
/// earlier in the list, so the helpers come first and the list is never sorted.
fn env(spec: &ValidSpec) -> Vec<EnvVar> {
    let mut env = identity_env(spec);
    // The image's entrypoint starts each companion unless told not to.
    for (component, on) in spec.deploy.components() {
        if !on {
            env.push(var(component.disable_env, EnvSource::Value("1".into())));
        }
    }
    env.extend(password_env(spec));
    env.extend(keeper_env(spec));
    if spec.deploy.config_mode == ConfigMode::Env {
        let config = spec.config.iter();
        env.extend(config.map(|(key, value)| var(&config_env_name(key), EnvSource::Value(escape_references(value)))));
    }
    env
}

/// tdgen's helper variables, then the ones that make a dnode who it is: its time zone, port,
/// first endpoint and FQDN, built from the helpers by the kubelet.
fn identity_env(spec: &ValidSpec) -> Vec<EnvVar> {
    let domain = &spec.cluster_domain;
    let port = td_env::SERVER_PORT;
    vec![
        var(helper_env::POD_NAME, EnvSource::FieldRef("metadata.name")),
        var(helper_env::SERVICE_NAME, EnvSource::Value(spec.service_name.clone())),
        var(helper_env::STS_NAME, EnvSource::Value(spec.name.clone())),
        // The namespace always comes from the pod itself: it is right even when the objects
        // are applied with `kubectl apply -n` or a kustomize `namespace:`.
        var(helper_env::STS_NAMESPACE, EnvSource::FieldRef("metadata.namespace")),
        var(td_env::TIMEZONE, EnvSource::Value(spec.timezone.clone())),
        var(port, EnvSource::Value(spec.server_port.to_string())),
        var(
            td_env::FIRST_EP,
            EnvSource::Value(format!(
                "$(STS_NAME)-0.$(SERVICE_NAME).$(STS_NAMESPACE).svc.{domain}:$({port})"
            )),
        ),
        var(
            td_env::FQDN,
            EnvSource::Value(format!("$(POD_NAME).$(SERVICE_NAME).$(STS_NAMESPACE).svc.{domain}")),
        ),
    ]
}

fn var(name: &str, source: EnvSource) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        source,
    }
}

/// The root password for the entrypoint, `taos-check service` and the bootstrap Job.
pub fn password_env(spec: &ValidSpec) -> Vec<EnvVar> {
    let Some(password) = &spec.deploy.root_password else {
        return Vec::new();
    };
    let env = match password.delivery {
        PasswordDelivery::File => var(
            td_env::ROOT_PASSWORD_FILE,
            EnvSource::Value(format!("{PASSWORD_DIR}/{}", password.key)),
        ),
        PasswordDelivery::Env => var(
            td_env::ROOT_PASSWORD,
            EnvSource::SecretKey(password.secret_name.clone(), password.key.clone()),
        ),
    };
    vec![env]
}

/// taosKeeper's settings when tdgen monitors the cluster: the metric prefix the alerts use, and
/// the root password from its Secret (the entrypoints that hand it over themselves,
/// [`tdengine::PASSWORD_FROM_ENV`], set the same value over it).
fn keeper_env(spec: &ValidSpec) -> Vec<EnvVar> {
    if spec.deploy.monitoring.is_none() {
        return Vec::new();
    }
    let mut env = vec![var(keeper::PREFIX_ENV, EnvSource::Value(keeper::METRICS_PREFIX.into()))];
    if let Some(password) = &spec.deploy.root_password {
        env.push(var(
            keeper::PASSWORD_ENV,
            EnvSource::SecretKey(password.secret_name.clone(), password.key.clone()),
        ));
    }
    env
}

/// A config value is data, not a template: every `$` is doubled, so that the kubelet's
/// expansion (`$$` → `$`, `$(X)` → X's value) hands taosd exactly what was written.
fn escape_references(value: &str) -> String {
    value.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fqdns_and_claims_follow_the_spec() {
        let spec: crate::Spec = crate::yaml::from_str(
            "metadata: {name: td}\nspec: {service: {name: peers}, clusterDomain: k.local, serverPort: 7030}",
        )
        .unwrap();
        let blueprint = Blueprint::new(&crate::validate(&spec).valid.unwrap());
        assert_eq!(blueprint.pod_fqdn(2, "ns"), "td-2.peers.ns.svc.k.local");
        assert_eq!(blueprint.first_endpoint("ns"), "td-0.peers.ns.svc.k.local:7030");
        assert_eq!(blueprint.data_pvc(3), "taosdata-td-3");
        assert_eq!(
            (blueprint.headless_service.as_str(), blueprint.client_service.as_str()),
            ("peers", "peers-client")
        );
        assert_eq!(
            blueprint.ports.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["tcp7030", "tcp6041"]
        );
        assert!(
            blueprint
                .selector
                .iter()
                .all(|(k, v)| blueprint.labels.get(k) == Some(v))
        );
    }

    #[test]
    fn every_variable_tdgen_derives_is_one_it_owns() {
        let spec: crate::Spec = crate::yaml::from_str(
            "spec: {image: {tag: 3.3.6.13}, components: {adapter: {enabled: false}}, rootPassword: {secretName: s}, config: {debugFlag: 131}}",
        )
        .unwrap();
        let blueprint = Blueprint::new(&crate::validate(&spec).valid.unwrap());
        let derived: Vec<&str> = blueprint.env.iter().map(|v| v.name.as_str()).collect();
        assert!(derived.contains(&"TAOS_DISABLE_ADAPTER") && derived.contains(&"TAOS_ROOT_PASSWORD"));
        for name in derived.iter().filter(|n| **n != "TAOS_DEBUG_FLAG") {
            assert!(
                crate::model::OWNED_ENV.contains(name),
                "{name} is derived but not owned"
            );
        }
    }

    #[test]
    fn version_labels_are_valid_label_values() {
        assert_eq!(version_label("3.0.7.1"), "3.0.7.1");
        assert_eq!(version_label(&"a".repeat(100)).len(), 63);
    }
}
