//! Typed Kubernetes objects from a [`Plan`]: one function per object.
//!
//! Every self-referencing selector comes from `plan.selector`, and nothing that changes between
//! versions (labels with the version, the config checksum) goes into the StatefulSet's
//! immutable fields (`selector`, `serviceName`, `volumeClaimTemplates`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar as K8sEnvVar, EnvVarSource, ExecAction, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Probe, Service, ServicePort,
    ServiceSpec, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::emit::{Manifest, Manifests};
use crate::plan::{self, EnvSource, Plan};
use crate::spec::ProbeTiming;

/// Build every object of the plan, in apply order.
pub fn build(plan: &Plan) -> Manifests {
    Manifests::new(vec![
        Manifest::Service(headless_service(plan)),
        Manifest::Service(client_service(plan)),
        Manifest::StatefulSet(statefulset(plan)),
    ])
}

fn metadata(plan: &Plan, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: plan.namespace.clone(),
        labels: Some(plan.labels.clone()),
        annotations: (!plan.annotations.is_empty()).then(|| plan.annotations.clone()),
        ..ObjectMeta::default()
    }
}

fn service_ports(plan: &Plan) -> Vec<ServicePort> {
    plan.ports
        .iter()
        .map(|p| ServicePort {
            name: Some(p.name.clone()),
            port: i32::from(p.number),
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        })
        .collect()
}

/// The governing Service: headless, so every dnode gets its own DNS record, and publishing
/// not-ready pods, so peers resolve each other while the cluster restarts after an outage.
pub fn headless_service(plan: &Plan) -> Service {
    Service {
        metadata: metadata(plan, &plan.headless_service),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            ports: Some(service_ports(plan)),
            selector: Some(plan.selector.clone()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The client Service: a normal ClusterIP Service that only routes to ready dnodes.
pub fn client_service(plan: &Plan) -> Service {
    let ports = service_ports(plan)
        .into_iter()
        .map(|p| ServicePort {
            target_port: p.name.clone().map(IntOrString::String),
            ..p
        })
        .collect();
    Service {
        metadata: metadata(plan, &plan.client_service),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            ports: Some(ports),
            selector: Some(plan.selector.clone()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The dnode StatefulSet.
pub fn statefulset(plan: &Plan) -> StatefulSet {
    let spec = StatefulSetSpec {
        service_name: Some(plan.headless_service.clone()),
        replicas: Some(i32::try_from(plan.spec.dnodes).unwrap_or(i32::MAX)),
        pod_management_policy: Some(plan.spec.pod_management_policy.as_str().into()),
        update_strategy: Some(StatefulSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            ..Default::default()
        }),
        selector: LabelSelector {
            match_labels: Some(plan.selector.clone()),
            ..LabelSelector::default()
        },
        template: pod_template(plan),
        volume_claim_templates: Some(vec![data_claim(plan)]),
        ..StatefulSetSpec::default()
    };
    // k8s-openapi makes `spec` required from Kubernetes 1.37 on; the library compiles against
    // whichever version the application picks.
    k8s_openapi::k8s_if_ge_1_37! { let spec_field = spec; }
    k8s_openapi::k8s_if_le_1_36! { let spec_field = Some(spec); }
    StatefulSet {
        metadata: metadata(plan, &plan.name),
        spec: spec_field,
        ..StatefulSet::default()
    }
}

fn pod_template(plan: &Plan) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(plan.labels.clone()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            // taosd reads every TAOS_* variable as configuration; service-link variables such
            // as TAOS_ADAPTER_PORT=tcp://… (from any Service named taos-adapter) would poison it.
            enable_service_links: Some(false),
            containers: vec![container(plan)],
            ..PodSpec::default()
        }),
    }
}

fn container(plan: &Plan) -> Container {
    Container {
        name: plan::CONTAINER_NAME.into(),
        image: Some(plan.image.clone()),
        image_pull_policy: Some(plan.spec.pull_policy.as_str().into()),
        ports: Some(
            plan.ports
                .iter()
                .map(|p| ContainerPort {
                    name: Some(p.name.clone()),
                    container_port: i32::from(p.number),
                    protocol: Some("TCP".into()),
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        env: Some(plan.env.iter().map(env_var).collect()),
        volume_mounts: Some(vec![VolumeMount {
            name: plan::DATA_CLAIM.into(),
            mount_path: plan::DATA_MOUNT_PATH.into(),
            ..VolumeMount::default()
        }]),
        startup_probe: Some(probe(&plan.spec.startup_probe)),
        readiness_probe: Some(probe(&plan.spec.readiness_probe)),
        liveness_probe: Some(probe(&plan.spec.liveness_probe)),
        ..Container::default()
    }
}

fn env_var(var: &plan::EnvVar) -> K8sEnvVar {
    match &var.source {
        EnvSource::Value(value) => K8sEnvVar {
            name: var.name.clone(),
            value: Some(value.clone()),
            ..K8sEnvVar::default()
        },
        EnvSource::FieldRef(path) => K8sEnvVar {
            name: var.name.clone(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: (*path).into(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..K8sEnvVar::default()
        },
    }
}

fn probe(timing: &ProbeTiming) -> Probe {
    let int = |v: Option<i64>| v.and_then(|v| i32::try_from(v).ok());
    Probe {
        exec: Some(ExecAction {
            command: Some(vec![plan::PROBE_COMMAND.into()]),
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

/// The data claim template, identical to the doc's so an existing cluster's PVCs are adopted.
/// `apiVersion`/`kind` are spelt out because the API server adds them and GitOps tools would
/// otherwise show a permanent diff.
fn data_claim(plan: &Plan) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(plan::DATA_CLAIM.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: plan.spec.data_storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(plan.spec.data_size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}
