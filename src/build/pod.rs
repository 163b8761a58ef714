//! The pod templates: the dnode pod (container, env, probes, volumes, scheduling, security)
//! and the mnode bootstrap Job's pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar as K8sEnvVar,
    EnvVarSource, ExecAction, Lifecycle, LifecycleHandler, LocalObjectReference, ObjectFieldSelector,
    PersistentVolumeClaimVolumeSource, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    TopologySpreadConstraint, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::blueprint::{self, Blueprint, EnvSource};
use crate::model::{PasswordDelivery, volumes};
use crate::spec::{AntiAffinityMode, ProbeTiming, SecurityProfile};
use crate::tdengine;

/// Labels and annotations of the dnode pods.
pub(super) fn template_metadata(blueprint: &Blueprint) -> ObjectMeta {
    let deploy = &blueprint.spec.deploy;
    let mut labels = deploy.pod_labels.clone();
    labels.extend(blueprint.labels.clone());
    let mut annotations = deploy.pod_annotations.clone();
    if let Some((_, _, checksum)) = &blueprint.taos_cfg {
        // A changed taos.cfg changes the template, which rolls the pods.
        annotations.insert(blueprint::CONFIG_CHECKSUM_ANNOTATION.into(), checksum.clone());
    }
    ObjectMeta {
        labels: Some(labels),
        annotations: super::non_empty(annotations),
        ..ObjectMeta::default()
    }
}

/// The dnode pod.
pub(super) fn dnode_pod(blueprint: &Blueprint) -> PodSpec {
    let deploy = &blueprint.spec.deploy;
    PodSpec {
        // taosd reads every TAOS_* variable as configuration; service-link variables such as
        // TAOS_ADAPTER_PORT=tcp://… (from any Service named taos-adapter) would poison it.
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        service_account_name: Some(blueprint.service_account.clone()),
        image_pull_secrets: pull_secrets(blueprint),
        node_selector: super::non_empty(deploy.node_selector.clone()),
        tolerations: (!deploy.tolerations.is_empty()).then(|| deploy.tolerations.clone()),
        affinity: affinity(blueprint),
        topology_spread_constraints: topology_spread(blueprint),
        priority_class_name: deploy.priority_class_name.clone(),
        termination_grace_period_seconds: Some(deploy.termination_grace_period_seconds),
        security_context: Some(pod_security(blueprint)),
        containers: vec![dnode_container(blueprint)],
        volumes: non_empty_vec(volumes(blueprint)),
        ..PodSpec::default()
    }
}

fn non_empty_vec<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn pull_secrets(blueprint: &Blueprint) -> Option<Vec<LocalObjectReference>> {
    let secrets = &blueprint.spec.deploy.image_pull_secrets;
    non_empty_vec(
        secrets
            .iter()
            .map(|name| LocalObjectReference { name: name.clone() })
            .collect(),
    )
}

fn dnode_container(blueprint: &Blueprint) -> Container {
    let deploy = &blueprint.spec.deploy;
    let (startup, service) = &blueprint.probe_commands;
    let mut env: Vec<K8sEnvVar> = blueprint.env.iter().map(env_var).collect();
    env.extend(deploy.extra_env.iter().cloned());
    Container {
        name: blueprint::CONTAINER_NAME.into(),
        image: Some(blueprint.image.clone()),
        image_pull_policy: Some(blueprint.spec.pull_policy.as_str().into()),
        ports: Some(
            blueprint
                .ports
                .iter()
                .map(|p| ContainerPort {
                    name: Some(p.name.clone()),
                    container_port: i32::from(p.number),
                    protocol: Some("TCP".into()),
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        env: Some(env),
        resources: resources(&deploy.requests, &deploy.limits),
        volume_mounts: Some(volume_mounts(blueprint)),
        startup_probe: Some(probe(startup, &blueprint.spec.startup_probe)),
        readiness_probe: Some(probe(service, &blueprint.spec.readiness_probe)),
        liveness_probe: Some(probe(service, &blueprint.spec.liveness_probe)),
        security_context: Some(container_security(blueprint)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(tdengine::STOP_TAOSD.iter().map(|s| (*s).to_owned()).collect()),
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        ..Container::default()
    }
}

fn resources(requests: &BTreeMap<String, String>, limits: &BTreeMap<String, String>) -> Option<ResourceRequirements> {
    let quantities = |m: &BTreeMap<String, String>| {
        super::non_empty(m.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect())
    };
    let (requests, limits) = (quantities(requests), quantities(limits));
    (requests.is_some() || limits.is_some()).then(|| ResourceRequirements {
        requests,
        limits,
        ..ResourceRequirements::default()
    })
}

pub(super) fn env_var(var: &blueprint::EnvVar) -> K8sEnvVar {
    let from = |source: EnvVarSource| K8sEnvVar {
        name: var.name.clone(),
        value_from: Some(source),
        ..K8sEnvVar::default()
    };
    match &var.source {
        EnvSource::Value(value) => K8sEnvVar {
            name: var.name.clone(),
            value: Some(value.clone()),
            ..K8sEnvVar::default()
        },
        EnvSource::FieldRef(path) => from(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: (*path).into(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        EnvSource::SecretKey(name, key) => from(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: name.clone(),
                key: key.clone(),
                ..SecretKeySelector::default()
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn probe(command: &[String], timing: &ProbeTiming) -> Probe {
    let int = |v: Option<i64>| v.and_then(|v| i32::try_from(v).ok());
    Probe {
        exec: Some(ExecAction {
            command: Some(command.to_vec()),
        }),
        initial_delay_seconds: int(timing.initial_delay_seconds),
        period_seconds: int(timing.period_seconds),
        timeout_seconds: int(timing.timeout_seconds),
        success_threshold: int(timing.success_threshold),
        failure_threshold: int(timing.failure_threshold),
        termination_grace_period_seconds: timing.termination_grace_period_seconds,
        ..Probe::default()
    }
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..VolumeMount::default()
    }
}

fn volume_mounts(blueprint: &Blueprint) -> Vec<VolumeMount> {
    let deploy = &blueprint.spec.deploy;
    let mut mounts = vec![mount(volumes::DATA, tdengine::DATA_DIR)];
    if deploy.logs.is_some() || hardened(blueprint) {
        mounts.push(mount(volumes::LOG, tdengine::LOG_DIR));
    }
    if blueprint.taos_cfg.is_some() {
        mounts.push(VolumeMount {
            sub_path: Some("taos.cfg".into()),
            // Read-only is safe only because the entrypoint never writes the file.
            read_only: Some(!tdengine::ENTRYPOINT_WRITES_CONFIG),
            ..mount(volumes::CONFIG, tdengine::CONFIG_FILE)
        });
    }
    mounts.extend(password_mount(blueprint));
    if hardened(blueprint) {
        mounts.push(mount(volumes::TMP, "/tmp"));
    }
    mounts.extend(deploy.extra_volume_mounts.iter().cloned());
    mounts
}

fn password_mount(blueprint: &Blueprint) -> Option<VolumeMount> {
    let password = blueprint.spec.deploy.root_password.as_ref()?;
    (password.delivery == PasswordDelivery::File).then(|| VolumeMount {
        read_only: Some(true),
        ..mount(volumes::PASSWORD, blueprint::PASSWORD_DIR)
    })
}

fn volumes(blueprint: &Blueprint) -> Vec<Volume> {
    let deploy = &blueprint.spec.deploy;
    let mut volumes = Vec::new();
    if let Some((name, _, _)) = &blueprint.taos_cfg {
        volumes.push(config_map_volume(volumes::CONFIG, name));
    }
    volumes.extend(password_volume(blueprint));
    if hardened(blueprint) {
        // A read-only root filesystem needs somewhere to write temporary files and logs.
        volumes.push(empty_dir(volumes::TMP));
        if deploy.logs.is_none() {
            volumes.push(empty_dir(volumes::LOG));
        }
    }
    volumes.extend(deploy.extra_volumes.iter().cloned());
    volumes
}

/// A scratch volume, bounded so a runaway log or temp file cannot fill the node.
fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity("1Gi".into())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn config_map_volume(name: &str, config_map: &str) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn password_volume(blueprint: &Blueprint) -> Option<Volume> {
    let password = blueprint.spec.deploy.root_password.as_ref()?;
    (password.delivery == PasswordDelivery::File).then(|| Volume {
        name: volumes::PASSWORD.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(password.secret_name.clone()),
            default_mode: Some(0o400),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    })
}

fn hardened(blueprint: &Blueprint) -> bool {
    blueprint.spec.deploy.security_profile == SecurityProfile::Hardened
}

/// The raw affinity plus the anti-affinity preset, built from the pods' own selector.
fn affinity(blueprint: &Blueprint) -> Option<Affinity> {
    let deploy = &blueprint.spec.deploy;
    let mut affinity = deploy.affinity.clone().unwrap_or_default();
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(blueprint.selector.clone()),
            ..LabelSelector::default()
        }),
        topology_key: deploy.anti_affinity_topology_key.clone(),
        ..PodAffinityTerm::default()
    };
    let anti = affinity.pod_anti_affinity.get_or_insert_with(PodAntiAffinity::default);
    match deploy.anti_affinity {
        AntiAffinityMode::None => {}
        AntiAffinityMode::Preferred => anti
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm {
                pod_affinity_term: term,
                weight: deploy.anti_affinity_weight,
            }),
        AntiAffinityMode::Required => anti
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term),
    }
    if affinity.pod_anti_affinity == Some(PodAntiAffinity::default()) {
        affinity.pod_anti_affinity = None;
    }
    (affinity != Affinity::default()).then_some(affinity)
}

fn topology_spread(blueprint: &Blueprint) -> Option<Vec<TopologySpreadConstraint>> {
    let (key, max_skew, when) = blueprint.spec.deploy.topology_spread.clone()?;
    Some(vec![TopologySpreadConstraint {
        label_selector: Some(LabelSelector {
            match_labels: Some(blueprint.selector.clone()),
            ..LabelSelector::default()
        }),
        max_skew,
        topology_key: key,
        when_unsatisfiable: when,
        ..TopologySpreadConstraint::default()
    }])
}

fn pod_security(blueprint: &Blueprint) -> PodSecurityContext {
    let seccomp = Some(SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..SeccompProfile::default()
    });
    if hardened(blueprint) {
        let id = blueprint.spec.deploy.run_as_user;
        return PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(id),
            run_as_group: Some(id),
            fs_group: Some(id),
            fs_group_change_policy: Some("OnRootMismatch".into()),
            seccomp_profile: seccomp,
            ..PodSecurityContext::default()
        };
    }
    PodSecurityContext {
        seccomp_profile: seccomp,
        ..PodSecurityContext::default()
    }
}

/// The Jobs' pods run as the spec's `security.runAsUser` (default 10001) whatever the profile:
/// the image's client tools need no root. `fsGroup` gives the backup claim to that group (the
/// kubelet does so for every volume type that supports ownership management).
fn task_pod_security(blueprint: &Blueprint) -> PodSecurityContext {
    let id = blueprint.spec.deploy.run_as_user;
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(id),
        run_as_group: Some(id),
        fs_group: Some(id),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        ..pod_security(blueprint)
    }
}

/// The official image's entrypoint runs as root and writes root-owned files (/etc/localtime,
/// /etc/hosts); it keeps only the capabilities that needs. The hardened profile keeps none.
fn container_security(blueprint: &Blueprint) -> SecurityContext {
    let mut context = SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        ..SecurityContext::default()
    };
    if hardened(blueprint) {
        context.read_only_root_filesystem = Some(true);
        context.run_as_non_root = Some(true);
    } else if let Some(capabilities) = context.capabilities.as_mut() {
        capabilities.add = Some(tdengine::ROOT_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect());
    }
    context
}

/// Which pod a setting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Workload {
    /// The dnode StatefulSet.
    Dnode,
    /// The mnode bootstrap Job (only runs the `taos` client).
    Bootstrap,
}

/// The Jobs only run the `taos` client and taosdump: not root, no capabilities, read-only root
/// filesystem (Pod Security `restricted`).
fn task_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        ..SecurityContext::default()
    }
}

/// Checkov checks that the chosen settings fail on purpose, each with the reason, as
/// `checkov.io/skipN` annotations (checkov reads them from the object's metadata).
pub(super) fn checkov_skips(blueprint: &Blueprint, workload: Workload) -> BTreeMap<String, String> {
    let deploy = &blueprint.spec.deploy;
    let mut skips: Vec<(&str, String)> = Vec::new();
    if !hardened(blueprint) {
        let root = "the official TDengine image runs as root; use the hardened profile with an image built for it";
        if workload == Workload::Dnode {
            skips.push((
                "CKV_K8S_22",
                format!(
                    "the official TDengine image writes to its root filesystem ({})",
                    tdengine::ROOT_FILESYSTEM_WRITES
                ),
            ));
        }
        skips.push(("CKV_K8S_23", root.into()));
        if workload == Workload::Dnode {
            let kept = format!(
                "the official image's root entrypoint keeps {}; all else is dropped",
                capability_list()
            );
            skips.push(("CKV_K8S_25", kept.clone()));
            skips.push(("CKV_K8S_37", kept));
        }
        skips.push(("CKV_K8S_40", root.into()));
    }
    if blueprint.spec.digest.is_none() {
        skips.push((
            "CKV_K8S_43",
            "pin spec.image.digest for your registry; tdgen cannot know the digest".into(),
        ));
    }
    if deploy
        .root_password
        .as_ref()
        .is_some_and(|p| p.delivery == PasswordDelivery::Env)
    {
        skips.push((
            "CKV_K8S_35",
            format!(
                "TDengine before {} reads the root password only from {}",
                tdengine::PASSWORD_FROM_FILE.since,
                tdengine::env::ROOT_PASSWORD
            ),
        ));
    }
    skips
        .into_iter()
        .enumerate()
        .map(|(i, (check, reason))| (format!("checkov.io/skip{}", i + 1), format!("{check}={reason}")))
        .collect()
}

/// "CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID".
fn capability_list() -> String {
    match tdengine::ROOT_CAPABILITIES.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => tdengine::ROOT_CAPABILITIES.join(", "),
    }
}

/// The bootstrap Job's mounts and volumes: the script, and (the root filesystem being
/// read-only) somewhere for the taos client's log and temporary files; the password, if any.
fn bootstrap_storage(blueprint: &Blueprint, scripts: &str) -> (Vec<VolumeMount>, Vec<Volume>) {
    let mut mounts = vec![
        VolumeMount {
            read_only: Some(true),
            ..mount("scripts", blueprint::SCRIPTS_DIR)
        },
        mount(volumes::LOG, tdengine::LOG_DIR),
        mount(volumes::TMP, "/tmp"),
    ];
    mounts.extend(password_mount(blueprint));
    let mut volumes = vec![
        config_map_volume("scripts", scripts),
        empty_dir(volumes::LOG),
        empty_dir(volumes::TMP),
    ];
    volumes.extend(password_volume(blueprint));
    (mounts, volumes)
}

/// The bootstrap Job's pod: the TDengine image, the script, the password, nothing else.
pub(super) fn bootstrap_pod(blueprint: &Blueprint) -> PodTemplateSpec {
    let Some(bootstrap) = &blueprint.bootstrap else {
        return PodTemplateSpec::default();
    };
    task_pod(
        blueprint,
        &Task {
            container: "mnode-bootstrap",
            config_map: &bootstrap.config_map,
            script: "mnode-bootstrap.sh",
            labels: &bootstrap.pod_labels,
            restart_policy: "OnFailure",
            requests: ("50m", "64Mi"),
            limits: ("500m", "256Mi"),
            volume: None,
        },
    )
}

/// The backup CronJob's pod: the same, with the backup PVC at [`plan::BACKUP_DIR`]. A failed
/// run is a new pod (taosdump cannot resume a dump).
pub(super) fn backup_pod(blueprint: &Blueprint) -> PodTemplateSpec {
    let Some(backup) = &blueprint.backup else {
        return PodTemplateSpec::default();
    };
    task_pod(
        blueprint,
        &Task {
            container: "backup",
            config_map: &backup.config_map,
            script: "backup.sh",
            labels: &backup.pod_labels,
            restart_policy: "Never",
            requests: ("100m", "256Mi"),
            limits: ("2", "2Gi"),
            volume: Some((&backup.name, blueprint::BACKUP_DIR)),
        },
    )
}

/// A pod that runs one of tdgen's scripts in the TDengine image.
struct Task<'a> {
    container: &'a str,
    config_map: &'a str,
    /// The script's key in the ConfigMap.
    script: &'a str,
    labels: &'a BTreeMap<String, String>,
    restart_policy: &'a str,
    requests: (&'a str, &'a str),
    limits: (&'a str, &'a str),
    /// A PVC to mount: (claim, path).
    volume: Option<(&'a str, &'a str)>,
}

fn task_pod(blueprint: &Blueprint, task: &Task<'_>) -> PodTemplateSpec {
    let mut env = vec![env_var(&blueprint::EnvVar {
        name: "POD_NAMESPACE".into(),
        source: EnvSource::FieldRef("metadata.namespace"),
    })];
    env.extend(blueprint::password_env(&blueprint.spec).iter().map(env_var));
    let (mut mounts, mut volumes) = bootstrap_storage(blueprint, task.config_map);
    if let Some((claim, path)) = task.volume {
        mounts.push(mount(claim, path));
        volumes.push(Volume {
            name: claim.to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.to_owned(),
                read_only: None,
            }),
            ..Volume::default()
        });
    }
    let amounts = |(cpu, memory): (&str, &str)| {
        BTreeMap::from([
            ("cpu".to_owned(), cpu.to_owned()),
            ("memory".to_owned(), memory.to_owned()),
        ])
    };
    let container = Container {
        name: task.container.into(),
        image: Some(blueprint.image.clone()),
        image_pull_policy: Some(blueprint.spec.pull_policy.as_str().into()),
        command: Some(vec![
            "bash".into(),
            format!("{}/{}", blueprint::SCRIPTS_DIR, task.script),
        ]),
        env: Some(env),
        resources: resources(&amounts(task.requests), &amounts(task.limits)),
        volume_mounts: Some(mounts),
        security_context: Some(task_security()),
        ..Container::default()
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(task.labels.clone()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            restart_policy: Some(task.restart_policy.into()),
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            service_account_name: Some(blueprint.service_account.clone()),
            image_pull_secrets: pull_secrets(blueprint),
            node_selector: super::non_empty(blueprint.spec.deploy.node_selector.clone()),
            tolerations: (!blueprint.spec.deploy.tolerations.is_empty())
                .then(|| blueprint.spec.deploy.tolerations.clone()),
            security_context: Some(task_pod_security(blueprint)),
            containers: vec![container],
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
    }
}
