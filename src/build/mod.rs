//! Typed Kubernetes objects from a [`Blueprint`]: one function per object.
//!
//! Every self-referencing selector (Services, PodDisruptionBudget, NetworkPolicy,
//! anti-affinity, topology spread) comes from `plan.selector`, and nothing that changes between
//! versions (labels with the version, the config checksum) goes into the StatefulSet's
//! immutable fields (`selector`, `serviceName`, `volumeClaimTemplates`).

mod monitoring;
mod pod;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodTemplateSpec, Service, ServiceAccount, ServicePort,
    ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::blueprint::{self, Blueprint};
use crate::emit::{Manifest, Manifests};
use crate::model::volumes;

/// Build every object of the plan, in apply order.
pub fn build(blueprint: &Blueprint) -> Manifests {
    let mut objects = Vec::new();
    if let Some((true, name)) = &blueprint.spec.deploy.service_account {
        objects.push(Manifest::ServiceAccount(service_account(blueprint, name)));
    }
    if let Some((name, text, _)) = &blueprint.taos_cfg {
        objects.push(Manifest::ConfigMap(config_map(blueprint, name, "taos.cfg", text, &[])));
    }
    if let Some(bootstrap) = &blueprint.bootstrap {
        // Flux's post-build substitution would rewrite `${…}` in the script.
        let annotations = [("kustomize.toolkit.fluxcd.io/substitute", "disabled")];
        objects.push(Manifest::ConfigMap(config_map(
            blueprint,
            &bootstrap.config_map,
            "mnode-bootstrap.sh",
            &bootstrap.script,
            &annotations,
        )));
    }
    if let Some(backup) = &blueprint.backup {
        let annotations = [("kustomize.toolkit.fluxcd.io/substitute", "disabled")];
        objects.push(Manifest::ConfigMap(backup_scripts(blueprint, backup, &annotations)));
        objects.push(Manifest::PersistentVolumeClaim(backup_claim(blueprint)));
    }
    if blueprint.spec.deploy.disruption_budget.is_some() {
        objects.push(Manifest::PodDisruptionBudget(disruption_budget(blueprint)));
    }
    if blueprint.spec.deploy.network_policy.is_some() {
        objects.push(Manifest::NetworkPolicy(network_policy(blueprint)));
        if let Some(bootstrap) = &blueprint.bootstrap {
            objects.push(Manifest::NetworkPolicy(task_network_policy(
                blueprint,
                &bootstrap.name,
                &bootstrap.pod_labels,
            )));
        }
        if let Some(backup) = &blueprint.backup {
            objects.push(Manifest::NetworkPolicy(task_network_policy(
                blueprint,
                &backup.name,
                &backup.pod_labels,
            )));
        }
    }
    objects.push(Manifest::Service(headless_service(blueprint)));
    if blueprint.spec.deploy.client_service.is_some() {
        objects.push(Manifest::Service(client_service(blueprint)));
    }
    objects.push(Manifest::StatefulSet(statefulset(blueprint)));
    if blueprint.bootstrap.is_some() {
        objects.push(Manifest::Job(bootstrap_job(blueprint)));
    }
    if blueprint.backup.is_some() {
        objects.push(Manifest::CronJob(backup_cron_job(blueprint)));
    }
    objects.extend(monitoring::objects(blueprint));
    Manifests::new(objects)
}

/// The alerts of the blueprint: (severity, name, summary), in the PrometheusRule's order; none
/// when it renders no alerts.
pub fn alert_names(blueprint: &Blueprint) -> Vec<(String, String, String)> {
    let Some(monitoring) = &blueprint.spec.deploy.monitoring else {
        return Vec::new();
    };
    let Some(settings) = &monitoring.alerts else {
        return Vec::new();
    };
    let rule = monitoring::prometheus_rule(blueprint, monitoring, settings);
    rule.spec
        .groups
        .into_iter()
        .flat_map(|g| g.rules)
        .map(|r| {
            let severity = r.labels.get(crate::model::SEVERITY_LABEL).cloned().unwrap_or_default();
            let summary = r.annotations.get("summary").cloned().unwrap_or_default();
            (severity, r.alert, summary)
        })
        .collect()
}

/// Metadata every object carries: name, pinned namespace, labels, annotations.
fn metadata(blueprint: &Blueprint, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: blueprint.namespace.clone(),
        labels: Some(blueprint.labels.clone()),
        annotations: non_empty(blueprint.annotations.clone()),
        ..ObjectMeta::default()
    }
}

fn non_empty<K: Ord, V>(map: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

fn selector(blueprint: &Blueprint) -> LabelSelector {
    LabelSelector {
        match_labels: Some(blueprint.selector.clone()),
        ..LabelSelector::default()
    }
}

fn service_account(blueprint: &Blueprint, name: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(blueprint, name),
        // TDengine never calls the Kubernetes API.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

fn config_map(blueprint: &Blueprint, name: &str, key: &str, text: &str, annotations: &[(&str, &str)]) -> ConfigMap {
    let mut meta = metadata(blueprint, name);
    if !annotations.is_empty() {
        let map = meta.annotations.get_or_insert_with(BTreeMap::new);
        map.extend(annotations.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    }
    ConfigMap {
        metadata: meta,
        data: Some(BTreeMap::from([(key.to_owned(), text.to_owned())])),
        ..ConfigMap::default()
    }
}

/// At most one dnode down by voluntary disruption: 3-replica RAFT groups and 3 mnodes keep
/// their majority.
pub fn disruption_budget(blueprint: &Blueprint) -> PodDisruptionBudget {
    let (max_unavailable, policy) = blueprint
        .spec
        .deploy
        .disruption_budget
        .clone()
        .unwrap_or((1, "AlwaysAllow".into()));
    // The field is dropped by API servers before 1.27, which GitOps tools see as a diff.
    let policy = (blueprint.spec.deploy.kubernetes_minor >= 27).then_some(policy);
    PodDisruptionBudget {
        metadata: metadata(blueprint, &blueprint.name),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(max_unavailable)),
            selector: Some(selector(blueprint)),
            unhealthy_pod_eviction_policy: policy,
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

fn policy_port(number: u16, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(number))),
        protocol: Some(protocol.into()),
        ..NetworkPolicyPort::default()
    }
}

fn match_labels(map: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: non_empty(map),
        ..LabelSelector::default()
    }
}

fn dnode_peers(blueprint: &Blueprint) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(blueprint)),
        ..NetworkPolicyPeer::default()
    }
}

/// Egress to cluster DNS: without it no FQDN resolves.
fn dns_egress(blueprint: &Blueprint) -> NetworkPolicyEgressRule {
    let settings = blueprint.spec.deploy.network_policy.clone().unwrap_or_default();
    NetworkPolicyEgressRule {
        to: Some(settings.dns_to),
        ports: Some(settings.dns_ports),
    }
}

/// Ingress: peers on every port, clients (and the bootstrap Job) on the client ports.
/// Egress: peers, and cluster DNS.
pub fn network_policy(blueprint: &Blueprint) -> NetworkPolicy {
    let mut client_peers = blueprint.spec.deploy.network_policy.clone().unwrap_or_default().clients;
    let tasks = [
        blueprint.bootstrap.as_ref().map(|b| &b.pod_labels),
        blueprint.backup.as_ref().map(|b| &b.pod_labels),
    ];
    for labels in tasks.into_iter().flatten() {
        client_peers.push(NetworkPolicyPeer {
            pod_selector: Some(match_labels(labels.clone())),
            ..NetworkPolicyPeer::default()
        });
    }
    let mut ingress = vec![NetworkPolicyIngressRule {
        from: Some(vec![dnode_peers(blueprint)]),
        ..NetworkPolicyIngressRule::default()
    }];
    if !client_peers.is_empty() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(client_peers),
            ports: Some(blueprint.ports.iter().map(|p| policy_port(p.number, "TCP")).collect()),
        });
    }
    // Prometheus reaches taosKeeper's port, and nothing else.
    if let Some(monitoring) = &blueprint.spec.deploy.monitoring
        && !monitoring.scrapers.is_empty()
    {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(monitoring.scrapers.clone()),
            ports: Some(vec![policy_port(crate::tdengine::KEEPER.port, "TCP")]),
        });
    }
    NetworkPolicy {
        metadata: metadata(blueprint, &blueprint.name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(blueprint)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(vec![
                NetworkPolicyEgressRule {
                    to: Some(vec![dnode_peers(blueprint)]),
                    ..NetworkPolicyEgressRule::default()
                },
                dns_egress(blueprint),
            ]),
        }),
    }
}

/// A task's pod (the bootstrap Job's, the backups'): nothing comes in; it reaches the dnodes'
/// server port and DNS.
pub fn task_network_policy(blueprint: &Blueprint, name: &str, pod_labels: &BTreeMap<String, String>) -> NetworkPolicy {
    let to_dnodes = NetworkPolicyEgressRule {
        to: Some(vec![dnode_peers(blueprint)]),
        ports: Some(vec![policy_port(blueprint.spec.server_port, "TCP")]),
    };
    NetworkPolicy {
        metadata: metadata(blueprint, name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(match_labels(pod_labels.clone())),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: None,
            egress: Some(vec![to_dnodes, dns_egress(blueprint)]),
        }),
    }
}

fn service_ports(blueprint: &Blueprint, target_by_name: bool) -> Vec<ServicePort> {
    blueprint
        .ports
        .iter()
        .map(|p| ServicePort {
            name: Some(p.name.clone()),
            port: i32::from(p.number),
            protocol: Some("TCP".into()),
            // A headless Service ignores targetPort; it must be omitted or equal `port`.
            target_port: target_by_name.then(|| IntOrString::String(p.name.clone())),
            ..ServicePort::default()
        })
        .collect()
}

/// The governing Service: headless, so every dnode gets its own DNS record, and publishing
/// not-ready pods, so peers resolve each other while the cluster restarts after an outage.
pub fn headless_service(blueprint: &Blueprint) -> Service {
    Service {
        metadata: metadata(blueprint, &blueprint.headless_service),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            ports: Some(service_ports(blueprint, false)),
            selector: Some(blueprint.selector.clone()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The client Service: only routes to ready dnodes.
pub fn client_service(blueprint: &Blueprint) -> Service {
    let settings = blueprint.spec.deploy.client_service.clone();
    let mut meta = metadata(blueprint, &blueprint.client_service);
    if let Some(extra) = settings
        .as_ref()
        .map(|s| s.annotations.clone())
        .filter(|a| !a.is_empty())
    {
        meta.annotations.get_or_insert_with(BTreeMap::new).extend(extra);
    }
    let settings = settings.unwrap_or(crate::model::ClientServiceSettings {
        type_: "ClusterIP".into(),
        annotations: BTreeMap::new(),
        load_balancer_source_ranges: Vec::new(),
        external_traffic_policy: None,
    });
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some(settings.type_),
            ports: Some(service_ports(blueprint, true)),
            selector: Some(blueprint.selector.clone()),
            load_balancer_source_ranges: (!settings.load_balancer_source_ranges.is_empty())
                .then_some(settings.load_balancer_source_ranges),
            external_traffic_policy: settings.external_traffic_policy,
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The dnode StatefulSet.
pub fn statefulset(blueprint: &Blueprint) -> StatefulSet {
    let deploy = &blueprint.spec.deploy;
    let mut claims = vec![claim(
        volumes::DATA,
        &blueprint.spec.data_size,
        blueprint.spec.data_storage_class.clone(),
    )];
    if let Some((size, class)) = &deploy.logs {
        claims.push(claim(volumes::LOG, size, class.clone()));
    }
    let (when_deleted, when_scaled) = deploy.retention.clone();
    let spec = StatefulSetSpec {
        service_name: Some(blueprint.headless_service.clone()),
        replicas: Some(i32::try_from(blueprint.spec.dnodes).unwrap_or(i32::MAX)),
        pod_management_policy: Some(blueprint.spec.pod_management_policy.as_str().into()),
        update_strategy: Some(StatefulSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            ..Default::default()
        }),
        selector: selector(blueprint),
        template: PodTemplateSpec {
            metadata: Some(pod::template_metadata(blueprint)),
            spec: Some(pod::dnode_pod(blueprint)),
        },
        volume_claim_templates: Some(claims),
        // Retain by default: a PVC holds a dnode's identity and data; deleting it is a
        // decision (after `drop dnode`), never a side effect. Servers before 1.27 drop the field.
        persistent_volume_claim_retention_policy: (deploy.kubernetes_minor >= 27).then_some(
            StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some(when_deleted),
                when_scaled: Some(when_scaled),
            },
        ),
        ..StatefulSetSpec::default()
    };
    let mut meta = metadata(blueprint, &blueprint.name);
    // Recorded for `tdgen diff`: mnodes live in SQL, not in any Kubernetes field.
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert("tdgen.io/mnodes".into(), blueprint.spec.mnodes.to_string());
    let skips = pod::checkov_skips(blueprint, pod::Workload::Dnode);
    if !skips.is_empty() {
        meta.annotations.get_or_insert_with(BTreeMap::new).extend(skips);
    }
    // k8s-openapi makes `spec` required from Kubernetes 1.37 on; the library compiles against
    // whichever version the application picks.
    k8s_openapi::k8s_if_ge_1_37! { let spec_field = spec; }
    k8s_openapi::k8s_if_le_1_36! { let spec_field = Some(spec); }
    StatefulSet {
        metadata: meta,
        spec: spec_field,
        ..StatefulSet::default()
    }
}

/// A claim template. No labels: they would be immutable; the controller adds the selector.
/// `apiVersion`/`kind` are spelt out because the API server adds them and GitOps tools would
/// otherwise show a permanent diff.
fn claim(name: &str, size: &str, storage_class: Option<String>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: storage_class,
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(size.to_owned()))])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// The mnode bootstrap Job. Its pod has no dnode selector labels, so no Service, budget,
/// policy or anti-affinity rule ever counts it as a dnode.
///
/// A Job's pod template is immutable, so the Job is named after its content
/// (`<name>-mnode-bootstrap-<hash>`, at most 63 characters): a change of image, script or any
/// other field is a new Job, which `kubectl apply`, Argo CD and Flux all simply create, and
/// never an update the API server refuses. Re-running the script is harmless (it is
/// idempotent). `ttlSecondsAfterFinished` is left out on purpose: a GitOps tool would re-create
/// the deleted Job on its next sync and run it again, forever.
pub fn bootstrap_job(blueprint: &Blueprint) -> Job {
    let Some(bootstrap) = &blueprint.bootstrap else {
        return Job::default();
    };
    let mut meta = task_workload_metadata(blueprint, &bootstrap.name, "mnode-bootstrap");
    let spec = JobSpec {
        backoff_limit: Some(blueprint::BOOTSTRAP_BACKOFF_LIMIT),
        active_deadline_seconds: Some(bootstrap.active_deadline_seconds),
        template: pod::bootstrap_pod(blueprint),
        ..JobSpec::default()
    };
    meta.name = Some(content_name(&bootstrap.name, &spec, &bootstrap.script));
    Job {
        metadata: meta,
        spec: Some(spec),
        ..Job::default()
    }
}

/// The backup and restore scripts, in one ConfigMap.
fn backup_scripts(blueprint: &Blueprint, backup: &blueprint::Backup, annotations: &[(&str, &str)]) -> ConfigMap {
    let mut scripts = config_map(blueprint, &backup.config_map, "backup.sh", &backup.script, annotations);
    scripts
        .data
        .get_or_insert_with(BTreeMap::new)
        .insert("restore.sh".into(), backup.restore_script.clone());
    scripts
}

/// The Job that restores the backup `from` (written into `tdgen plan restore`, never part of
/// a render): the backup pod running the restore script, once, named after the backup.
pub fn restore_job(blueprint: &Blueprint, from: &str) -> Job {
    let Some(backup) = &blueprint.backup else {
        return Job::default();
    };
    let mut meta = task_workload_metadata(blueprint, &format!("{}-restore", blueprint.name), "restore");
    let mut template = pod::backup_pod(blueprint);
    if let Some(container) = template.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.name = "restore".into();
        container.command = Some(vec![
            "bash".into(),
            format!("{}/restore.sh", blueprint::SCRIPTS_DIR),
            from.to_owned(),
        ]);
    }
    // The pod keeps the backup pods' labels, so the same NetworkPolicies let it reach the dnodes.
    let spec = JobSpec {
        backoff_limit: Some(0),
        active_deadline_seconds: blueprint.spec.deploy.backup.as_ref().map(|b| b.active_deadline_seconds),
        template,
        ..JobSpec::default()
    };
    meta.name = Some(content_name(
        &format!("{}-restore", blueprint.name),
        &spec,
        &backup.restore_script,
    ));
    Job {
        metadata: meta,
        spec: Some(spec),
        ..Job::default()
    }
}

/// The backup volume, an ordinary PVC (not a claim template): labelled like the cluster, never
/// owned by the StatefulSet, so neither a scale-in nor a teardown of the dnodes removes it.
fn backup_claim(blueprint: &Blueprint) -> PersistentVolumeClaim {
    let (Some(backup), Some(settings)) = (&blueprint.backup, &blueprint.spec.deploy.backup) else {
        return PersistentVolumeClaim::default();
    };
    let mut pvc = claim(&backup.name, &settings.size, settings.storage_class.clone());
    pvc.metadata = task_metadata(blueprint, &backup.name, "backup");
    pvc
}

/// Metadata of a task's Job or CronJob: [`task_metadata`] with the checkov checks its pod
/// fails on purpose, each with the reason.
fn task_workload_metadata(blueprint: &Blueprint, name: &str, component: &str) -> ObjectMeta {
    let mut meta = task_metadata(blueprint, name, component);
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .extend(pod::checkov_skips(blueprint, pod::Workload::Bootstrap));
    meta
}

/// Metadata of a task's object: the cluster's, without the dnode selector labels.
fn task_metadata(blueprint: &Blueprint, name: &str, component: &str) -> ObjectMeta {
    ObjectMeta {
        labels: Some(blueprint::task_labels(
            &blueprint.labels,
            &blueprint.selector,
            component,
        )),
        ..metadata(blueprint, name)
    }
}

/// The backup CronJob: one run at a time (`Forbid`: a dump still running is never joined by
/// another), each bounded by `activeDeadlineSeconds`, a failed run retried once in a new pod.
pub fn backup_cron_job(blueprint: &Blueprint) -> CronJob {
    let (Some(backup), Some(settings)) = (&blueprint.backup, &blueprint.spec.deploy.backup) else {
        return CronJob::default();
    };
    let meta = task_workload_metadata(blueprint, &backup.name, "backup");
    let spec = CronJobSpec {
        schedule: settings.schedule.clone(),
        concurrency_policy: Some("Forbid".into()),
        successful_jobs_history_limit: Some(3),
        failed_jobs_history_limit: Some(3),
        job_template: JobTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(backup.pod_labels.clone()),
                ..ObjectMeta::default()
            }),
            spec: Some(JobSpec {
                backoff_limit: Some(1),
                active_deadline_seconds: Some(settings.active_deadline_seconds),
                template: pod::backup_pod(blueprint),
                ..JobSpec::default()
            }),
        },
        ..CronJobSpec::default()
    };
    let mut cron_job = CronJob {
        metadata: meta,
        ..CronJob::default()
    };
    // `spec` is optional in the Kubernetes API up to 1.35 and required from 1.36.
    k8s_openapi::k8s_if_le_1_35! { cron_job.spec = Some(spec); }
    k8s_openapi::k8s_if_ge_1_36! { cron_job.spec = spec; }
    cron_job
}

/// `<prefix>-<8 hex digits of the content's SHA-256>`, cut to the 63 characters a Job name may
/// have (it becomes the `batch.kubernetes.io/job-name` label value).
fn content_name(prefix: &str, spec: &JobSpec, script: &str) -> String {
    // The spec's compact JSON; a Job spec always serialises (no map with non-string keys). Through
    // a `Value`, as every other JSON tdgen writes, so the Kubernetes types' serialisation code is
    // compiled for one serializer only (the bytes are the same: keys keep their order).
    let spec_json = serde_json::to_value(spec)
        .and_then(|value| serde_json::to_vec(&value))
        .unwrap_or_default();
    name_by_hash(prefix, &spec_json, script)
}

/// `<prefix>-<8 hex digits of the SHA-256 of spec_json, then script>`, as [`content_name`].
fn name_by_hash(prefix: &str, spec_json: &[u8], script: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(spec_json);
    hasher.update(script.as_bytes());
    let hash = format!("{:x}", hasher.finalize());
    let room = 63 - 9;
    let prefix: String = prefix.chars().take(room).collect();
    format!("{}-{}", prefix.trim_end_matches('-'), &hash[..8])
}
