//! What makes a running TDengine cluster the same cluster: each dnode's endpoint (recorded in
//! its data directory: taosd refuses to start with another one, `localEp is different`) and its
//! PVCs (named after the StatefulSet and the claim templates). A change to any part is blocking,
//! whatever spec field caused it.

use serde_json::Value;

use super::{Change, ChangeClass, RemedyCommand};
use crate::blueprint::Blueprint;
use crate::model::{helper_env, volumes};
use crate::tdengine::env as td_env;

/// One volume claim template: the part of every PVC name, and what its volumes were made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Template name (`taosdata`, `taoslog`): PVCs are `<name>-<statefulset>-<ordinal>`.
    pub name: String,
    /// Requested size.
    pub size: Option<String>,
    /// StorageClass (`None`: the cluster's default class).
    pub storage_class: Option<String>,
}

/// The identity of a cluster, from a plan or from a rendered StatefulSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterIdentity {
    /// StatefulSet name, the prefix of every pod, FQDN and PVC.
    pub statefulset: String,
    /// Pinned namespace (`None`: wherever the objects are applied).
    pub namespace: Option<String>,
    /// The governing Service, part of every FQDN.
    pub service: String,
    /// Cluster domain, part of every FQDN (`None`: could not be read).
    pub cluster_domain: Option<String>,
    /// taosd's port, part of every endpoint (`None`: could not be read).
    pub server_port: Option<u16>,
    /// Claim templates, in order.
    pub claims: Vec<Claim>,
}

impl ClusterIdentity {
    /// The identity a plan gives the cluster.
    pub fn from_plan(blueprint: &Blueprint) -> ClusterIdentity {
        let mut claims = vec![Claim {
            name: volumes::DATA.into(),
            size: Some(blueprint.spec.data_size.clone()),
            storage_class: blueprint.spec.data_storage_class.clone(),
        }];
        if let Some((size, class)) = &blueprint.spec.deploy.logs {
            claims.push(Claim {
                name: volumes::LOG.into(),
                size: Some(size.clone()),
                storage_class: class.clone(),
            });
        }
        ClusterIdentity {
            statefulset: blueprint.name.clone(),
            namespace: blueprint.namespace.clone(),
            service: blueprint.headless_service.clone(),
            cluster_domain: Some(blueprint.spec.cluster_domain.clone()),
            server_port: Some(blueprint.spec.server_port),
            claims,
        }
    }

    /// The identity a rendered StatefulSet gives its pods: its name, namespace and
    /// `serviceName`, the domain in its `TAOS_FQDN` and the value of `TAOS_SERVER_PORT`, and its
    /// claim templates.
    pub fn from_manifest(statefulset: &Value) -> ClusterIdentity {
        let spec = &statefulset["spec"];
        let env = |name: &str| env_value(statefulset, name);
        let claims = spec["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Claim {
                name: text(&c["metadata"]["name"]).unwrap_or_default(),
                size: text(&c["spec"]["resources"]["requests"]["storage"]),
                storage_class: text(&c["spec"]["storageClassName"]),
            })
            .collect();
        ClusterIdentity {
            statefulset: text(&statefulset["metadata"]["name"]).unwrap_or_default(),
            namespace: text(&statefulset["metadata"]["namespace"]),
            service: text(&spec["serviceName"]).unwrap_or_default(),
            cluster_domain: env(td_env::FQDN).and_then(|fqdn| fqdn.split_once(".svc.").map(|(_, d)| d.to_owned())),
            server_port: env(td_env::SERVER_PORT).and_then(|p| p.parse().ok()),
            claims,
        }
    }

    /// The endpoint of dnode `ordinal`, as taosd records it.
    pub fn endpoint(&self, ordinal: u32) -> String {
        format!(
            "{}-{ordinal}.{}.{}.svc.{}:{}",
            self.statefulset,
            self.service,
            self.namespace.as_deref().unwrap_or("<namespace>"),
            self.cluster_domain.as_deref().unwrap_or("<domain>"),
            self.server_port.map_or_else(|| "<port>".to_owned(), |p| p.to_string())
        )
    }
}

/// The literal value of a variable of a rendered StatefulSet's containers.
fn env_value(statefulset: &Value, name: &str) -> Option<String> {
    statefulset["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .map(str::to_owned)
}

/// A render renamed after tdgen wrote it (kustomize's `namePrefix` / `nameSuffix`): the
/// StatefulSet or its Service has another name than the one its pods build their FQDNs from.
pub fn renamed_after_render(statefulset: &Value) -> Option<Change> {
    let name = text(&statefulset["metadata"]["name"])?;
    let service = text(&statefulset["spec"]["serviceName"]).unwrap_or_default();
    let told = (
        env_value(statefulset, helper_env::STS_NAME),
        env_value(statefulset, helper_env::SERVICE_NAME),
    );
    let (Some(told_name), Some(told_service)) = told else {
        return None;
    };
    if told_name == name && told_service == service {
        return None;
    }
    Some(
        Change::new(
            ChangeClass::Unsafe,
            &format!("StatefulSet/{name}"),
            &format!("env {}", helper_env::STS_NAME),
            format!(
                "the previous render was renamed after tdgen wrote it (kustomize namePrefix or nameSuffix?): StatefulSet {name} with Service {service}, but its pods build their FQDNs from {told_name} and {told_service}, so dnode 0 is looked for at {told_name}-0.{told_service}, which does not exist"
            ),
        )
        .remedy("rename the cluster in the spec (metadata.name, spec.service.name) and drop namePrefix/nameSuffix from the overlay: kustomize renames objects, not the names inside the pods' variables"),
    )
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn show(value: Option<&str>) -> &str {
    value.unwrap_or("unset")
}

/// What taosd does with a dnode whose endpoint changed, and the way back.
const ENDPOINT_CHANGED: &str = "every dnode's endpoint changes, and each data directory records the old one: the restarted pods refuse to start (`localEp is different`)";
const MIGRATE: &str = "to really move the cluster, deploy the new one next to it and copy the data with taosdump";

/// The two endpoints of dnode 0 and the object every identity change is reported on.
struct Subject {
    object: String,
    endpoints: String,
}

/// Compare two identities; every difference is blocking.
pub fn compare(before: &ClusterIdentity, after: &ClusterIdentity, changes: &mut Vec<Change>) {
    let subject = Subject {
        object: format!("StatefulSet/{}", before.statefulset),
        endpoints: format!("dnode 0: {} → {}", before.endpoint(0), after.endpoint(0)),
    };
    type Check = fn(&Subject, &ClusterIdentity, &ClusterIdentity) -> Option<Change>;
    // A new name or namespace is a new StatefulSet, which the API server creates: the rename
    // says what that does to the data, and no field of the old object is being changed.
    let same_object = before.statefulset == after.statefulset && before.namespace == after.namespace;
    let checks: &[Check] = if same_object {
        &[governing_service, cluster_domain, server_port]
    } else {
        &[renamed, moved]
    };
    changes.extend(checks.iter().filter_map(|check| check(&subject, before, after)));
    if same_object {
        claims(&subject.object, before, after, changes);
    }
}

/// A new name is a new, empty cluster.
fn renamed(s: &Subject, before: &ClusterIdentity, after: &ClusterIdentity) -> Option<Change> {
    (before.statefulset != after.statefulset).then(|| {
        Change::new(
            ChangeClass::Unsafe,
            &s.object,
            "metadata.name",
            format!(
                "the cluster is renamed to {}: a new, empty StatefulSet is created and the old one, with every dnode's data, is left behind — and deleted when a GitOps tool prunes it; {}",
                after.statefulset, s.endpoints
            ),
        )
        .remedy(format!("keep metadata.name: {}; {MIGRATE}", before.statefulset))
        .command(RemedyCommand::keep(&[("metadata.name", before.statefulset.clone())]))
    })
}

/// Another namespace changes every endpoint.
fn moved(s: &Subject, before: &ClusterIdentity, after: &ClusterIdentity) -> Option<Change> {
    if before.namespace == after.namespace {
        return None;
    }
    let change = Change::new(
        ChangeClass::Unsafe,
        &s.object,
        "metadata.namespace",
        format!(
            "namespace {} → {}: {ENDPOINT_CHANGED}; {}",
            show(before.namespace.as_deref()),
            show(after.namespace.as_deref()),
            s.endpoints
        ),
    );
    Some(match &before.namespace {
        Some(old) => change
            .remedy(format!(
                "keep the namespace {old} (metadata.namespace or -n); {MIGRATE}"
            ))
            .command(RemedyCommand::keep(&[("metadata.namespace", old.clone())])),
        None => change.remedy(format!(
            "apply the new render into the namespace the cluster runs in, and leave metadata.namespace unset; {MIGRATE}"
        )),
    })
}

/// `serviceName` is immutable, and part of every endpoint.
fn governing_service(s: &Subject, before: &ClusterIdentity, after: &ClusterIdentity) -> Option<Change> {
    (before.service != after.service).then(|| {
        Change::new(
            ChangeClass::Rejected,
            &s.object,
            "spec.serviceName",
            format!(
                "governing Service {} → {}: {}; and {ENDPOINT_CHANGED}; {}",
                before.service,
                after.service,
                super::kubernetes::answers(super::kubernetes::STATEFULSET_FORBIDDEN),
                s.endpoints
            ),
        )
        .remedy(format!("keep spec.service.name: {}", before.service))
        .command(RemedyCommand::keep(&[("spec.service.name", before.service.clone())]))
    })
}

/// The cluster domain ends every FQDN.
fn cluster_domain(s: &Subject, before: &ClusterIdentity, after: &ClusterIdentity) -> Option<Change> {
    let domain = |identity: &ClusterIdentity| identity.cluster_domain.clone();
    endpoint_part(
        s,
        td_env::FQDN,
        ("cluster domain", "spec.clusterDomain"),
        domain(before),
        domain(after),
    )
}

/// The port ends every endpoint.
fn server_port(s: &Subject, before: &ClusterIdentity, after: &ClusterIdentity) -> Option<Change> {
    let port = |identity: &ClusterIdentity| identity.server_port.map(|p| p.to_string());
    endpoint_part(
        s,
        td_env::SERVER_PORT,
        ("serverPort", "spec.serverPort"),
        port(before),
        port(after),
    )
}

/// A changed part of every endpoint, set by a spec field through a variable: unsafe, with the
/// way back when the old value is known. `what` is (its name in messages, its spec field).
fn endpoint_part(
    s: &Subject,
    variable: &str,
    what: (&str, &'static str),
    before: Option<String>,
    after: Option<String>,
) -> Option<Change> {
    if before == after {
        return None;
    }
    let (name, field) = what;
    let change = Change::new(
        ChangeClass::Unsafe,
        &s.object,
        &format!("env {variable}"),
        format!(
            "{name} {} → {}: {ENDPOINT_CHANGED}; {}",
            show(before.as_deref()),
            show(after.as_deref()),
            s.endpoints
        ),
    );
    Some(match before {
        Some(old) => change
            .remedy(format!("keep {field}: {old}"))
            .command(RemedyCommand::keep(&[(field, old)])),
        None => change,
    })
}

/// The claim templates: immutable, and each one names PVCs that hold data.
fn claims(object: &str, before: &ClusterIdentity, after: &ClusterIdentity, changes: &mut Vec<Change>) {
    let name = &before.statefulset;
    let namespace = before.namespace.as_deref().unwrap_or("<namespace>");
    let orphan = format!(
        "kubectl delete statefulset {name} -n {namespace} --cascade=orphan, then apply: pods and PVCs stay and the new StatefulSet adopts them"
    );
    for old in &before.claims {
        match after.claims.iter().find(|c| c.name == old.name) {
            None => changes.push(removed_claim(object, old, name)),
            Some(new) => {
                if new.size != old.size {
                    changes.push(size_change(object, old, new, name, namespace, &orphan));
                }
                if new.storage_class != old.storage_class {
                    changes.push(storage_class_change(object, old, new, &orphan));
                }
            }
        }
    }
    let added = after
        .claims
        .iter()
        .filter(|n| !before.claims.iter().any(|o| o.name == n.name));
    changes.extend(added.map(|new| added_claim(object, new, &orphan)));
}

fn removed_claim(object: &str, old: &Claim, statefulset: &str) -> Change {
    let change = Change::new(
        ChangeClass::Rejected,
        object,
        &format!("spec.volumeClaimTemplates[{}]", old.name),
        format!(
            "claim template {} is removed: {}, and its PVCs {}-{statefulset}-N with their data would be left behind",
            old.name,
            super::kubernetes::answers(super::kubernetes::STATEFULSET_FORBIDDEN),
            old.name
        ),
    )
    .remedy(format!("keep {}", claim_spec_path(&old.name)));
    let (Some(path), Some(size)) = (spec_path_for(&old.name), &old.size) else {
        return change;
    };
    let mut keep = vec![(path.0, size.clone())];
    if let Some(class) = &old.storage_class {
        keep.push((path.1, class.clone()));
    }
    change.command(RemedyCommand::keep(&keep))
}

fn storage_class_change(object: &str, old: &Claim, new: &Claim, orphan: &str) -> Change {
    let change = Change::new(
        ChangeClass::Rejected,
        object,
        &format!("spec.volumeClaimTemplates[{}].storageClassName", old.name),
        format!(
            "claim template {}: storageClassName {} → {}; {}, and existing PVCs keep their class",
            old.name,
            show(old.storage_class.as_deref()),
            show(new.storage_class.as_deref()),
            super::kubernetes::answers(super::kubernetes::STATEFULSET_FORBIDDEN)
        ),
    )
    .remedy(format!(
        "keep the old class; moving volumes to another class means new PVCs (a dnode at a time: tdgen plan scale in, then out) or a storage-level migration; {orphan}"
    ));
    match (spec_path_for(&old.name), &old.storage_class) {
        (Some(path), Some(class)) => change.command(RemedyCommand::keep(&[(path.1, class.clone())])),
        _ => change,
    }
}

fn added_claim(object: &str, new: &Claim, orphan: &str) -> Change {
    Change::new(
        ChangeClass::Rejected,
        object,
        &format!("spec.volumeClaimTemplates[{}]", new.name),
        format!(
            "claim template {} is added: {}",
            new.name,
            super::kubernetes::answers(super::kubernetes::STATEFULSET_FORBIDDEN)
        ),
    )
    .remedy(format!(
        "{orphan}; existing pods get the new volume only when re-created"
    ))
}

/// The spec path of a claim template, for messages.
fn claim_spec_path(claim: &str) -> &'static str {
    match claim {
        volumes::LOG => "spec.storage.logs",
        _ => "spec.storage.data",
    }
}

/// The spec paths (size, storageClassName) of a claim template tdgen renders.
fn spec_path_for(claim: &str) -> Option<(&'static str, &'static str)> {
    match claim {
        volumes::DATA => Some(("spec.storage.data.size", "spec.storage.data.storageClassName")),
        volumes::LOG => Some(("spec.storage.logs.size", "spec.storage.logs.storageClassName")),
        _ => None,
    }
}

fn size_change(object: &str, old: &Claim, new: &Claim, name: &str, namespace: &str, orphan: &str) -> Change {
    let bytes = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| crate::quantity::Quantity::parse(s).ok())
            .map(|q| q.ceil_units())
    };
    let grows = bytes(&new.size) > bytes(&old.size);
    let (old_size, new_size) = (show(old.size.as_deref()), show(new.size.as_deref()));
    let message = format!(
        "claim template {}: size {old_size} → {new_size}; {}",
        old.name,
        super::kubernetes::answers(super::kubernetes::STATEFULSET_FORBIDDEN)
    );
    let remedy = if grows {
        format!(
            "to grow the volumes: for each ordinal N, `kubectl patch pvc {}-{name}-N -n {namespace} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{new_size}\"}}}}}}}}'` (the StorageClass needs allowVolumeExpansion), then {orphan}",
            old.name
        )
    } else {
        format!("a PVC cannot shrink: keep {old_size}")
    };
    let field = format!("spec.volumeClaimTemplates[{}].size", old.name);
    let mut change = Change::new(ChangeClass::Rejected, object, &field, message).remedy(remedy);
    if let (Some(path), Some(size)) = (spec_path_for(&old.name), &old.size) {
        change = change.command(RemedyCommand::keep(&[(path.0, size.clone())]));
    }
    change
}
