//! What the API server refuses, by kind: the fields of each object it will not change (as it
//! words them), and the order the rules run in. What a change means to the running TDengine
//! cluster is in `cluster.rs`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::cluster;
use super::context::{Context, show};
use super::{Change, ChangeClass, RemedyCommand};

// What the API server answers, word for word as kube-apiserver v1.36.2 does (the API-server tier
// applies every change of the diff table to it and checks each quote against its answer). A
// message quotes the server in backticks after "answers"; `…` stands for the object's own values.

/// The answer to a forbidden StatefulSet update (apps validation, ValidateStatefulSetUpdate).
pub(super) const STATEFULSET_FORBIDDEN: &str = "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/// The answer to any change of an unbound claim, and to a bound claim's change outside its
/// storage request (core validation, ValidatePersistentVolumeClaimUpdate).
const CLAIM_IMMUTABLE: &str = "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

/// The answer to shrinking a bound claim.
const CLAIM_SHRINK: &str = "spec.resources.requests.storage: Forbidden: field can not be less than previous value";

/// The answer to growing a claim whose StorageClass does not allow expansion (the
/// PersistentVolumeClaimResize admission plugin).
const CLAIM_NOT_EXPANDABLE: &str =
    "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";

/// The StatefulSet spec fields the API server lets change.
const STATEFULSET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// "the API server answers `TEXT`": how a message quotes the server.
pub(super) fn answers(text: &str) -> String {
    format!("the API server answers `{text}`")
}

/// An object in both renders. What the API server refuses, by kind (Kubernetes API
/// validation): StatefulSet spec fields outside [`STATEFULSET_MUTABLE`]; a Service's clusterIP;
/// a Job's template, selector and completions. PodDisruptionBudgets (policy/v1, KEP-85 "Mutable
/// PDBs"), NetworkPolicies, ConfigMaps (tdgen never marks them immutable) and ServiceAccounts
/// change in place.
pub(super) fn compare(context: &Context<'_>, object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let handled: Vec<&str> = match old["kind"].as_str() {
        Some("StatefulSet") => statefulset(context, object, old, new, changes),
        Some("Service") => service(context, object, old, new, changes),
        Some("Job") => job(object, old, new, changes),
        Some("PersistentVolumeClaim") => claim(object, old, new, changes),
        _ => Vec::new(),
    };
    let paths: Vec<String> = ["spec", "data", "metadata.labels", "metadata.annotations"]
        .iter()
        .flat_map(|root| {
            let pointer = format!("/{}", root.replace('.', "/"));
            changed_paths(
                old.pointer(&pointer).unwrap_or(&Value::Null),
                new.pointer(&pointer).unwrap_or(&Value::Null),
                root,
            )
        })
        .filter(|p| {
            !handled
                .iter()
                .any(|h| p == h || p.starts_with(&format!("{h}.")) || p.starts_with(&format!("{h}[")))
        })
        .collect();
    let (template, other): (Vec<String>, Vec<String>) = paths.into_iter().partition(|p| p.starts_with("spec.template"));
    if !template.is_empty() && old["kind"] == "StatefulSet" {
        changes.push(Change::new(
            ChangeClass::Safe,
            object,
            &summarise(&template),
            format!(
                "{} field(s) of the pod template changed: the pods roll one at a time",
                template.len()
            ),
        ));
    }
    let rest: Vec<String> = if old["kind"] == "StatefulSet" {
        other
    } else {
        template.into_iter().chain(other).collect()
    };
    if !rest.is_empty() {
        changes.push(Change::new(
            ChangeClass::Safe,
            object,
            &summarise(&rest),
            format!("{} field(s) changed; applied in place", rest.len()),
        ));
    }
}

/// An object the new render no longer has.
pub(super) fn removed(context: &Context<'_>, object: &str, old: &Value, changes: &mut Vec<Change>) {
    let kind = old["kind"].as_str().unwrap_or_default();
    let name = old["metadata"]["name"].as_str().unwrap_or_default();
    let governing = context
        .previous
        .statefulset()
        .and_then(|s| s["spec"]["serviceName"].as_str());
    let change = match kind {
        // The rename itself is reported with the cluster's identity.
        "StatefulSet" => Change::new(
            ChangeClass::Unsafe,
            object,
            "",
            "no longer rendered: deleting or pruning it stops every dnode (the PVCs and their data stay behind)",
        )
        .remedy("keep metadata.name (see its change)"),
        "Service" if Some(name) == governing => Change::new(
            ChangeClass::Unsafe,
            object,
            "",
            "the governing Service is no longer rendered: pruning it removes every dnode's DNS name while the dnodes run",
        )
        .remedy(if same_statefulset(context) {
            "keep spec.service.name (see its change)"
        } else {
            "keep metadata.name and metadata.namespace (see the StatefulSet's change)"
        }),
        "Job" if context.new_job().is_some() => Change::new(
            ChangeClass::Safe,
            object,
            "",
            format!(
                "replaced by Job/{} (bootstrap Jobs are named after their content; the script is idempotent)",
                context.new_job().unwrap_or_default()
            ),
        )
        .remedy("let your GitOps tool prune the old Job, or `kubectl delete job` it"),
        "PersistentVolumeClaim" => Change::new(
            ChangeClass::Unsafe,
            object,
            "",
            "the backup volume is no longer rendered: pruning it deletes every backup on it",
        )
        .remedy(format!(
            "keep spec.backup, or copy the backups elsewhere first; without a GitOps prune, `kubectl apply` leaves the PVC and `kubectl delete pvc {name}` removes it"
        )),
        _ => Change::new(ChangeClass::Safe, object, "", "no longer rendered")
            .remedy("`kubectl apply` leaves it in place: delete it, or let your GitOps tool prune it"),
    };
    changes.push(change);
}

/// Whether the new render's StatefulSet is the previous one (same name and namespace).
fn same_statefulset(context: &Context<'_>) -> bool {
    let id = |o: &Value| (o["metadata"]["name"].clone(), o["metadata"]["namespace"].clone());
    let old = context.previous.statefulset().map(id);
    old.is_some()
        && context
            .current
            .iter()
            .filter(|o| o["kind"] == "StatefulSet")
            .map(id)
            .any(|new| Some(new) == old)
}

fn service(
    context: &Context<'_>,
    object: &str,
    old: &Value,
    new: &Value,
    changes: &mut Vec<Change>,
) -> Vec<&'static str> {
    if old["spec"]["selector"] != new["spec"]["selector"] {
        let governing = context
            .previous
            .statefulset()
            .and_then(|s| s["spec"]["serviceName"].as_str())
            == old["metadata"]["name"].as_str();
        let who = if governing {
            "the running dnodes lose their DNS names (their FQDNs are this Service's records)"
        } else {
            "clients are sent to other pods"
        };
        changes.push(
            Change::new(
                ChangeClass::Unsafe,
                object,
                "spec.selector",
                format!(
                    "selector {} → {}: the Service is re-pointed, and {who}",
                    show(&old["spec"]["selector"]),
                    show(&new["spec"]["selector"])
                ),
            )
            .remedy("keep metadata.name: the selector is the cluster's name"),
        );
    }
    let headless = |v: &Value| v["spec"]["clusterIP"].as_str() == Some("None");
    if headless(old) != headless(new) {
        let name = new["metadata"]["name"].as_str().unwrap_or("?");
        let namespace = new["metadata"]["namespace"].as_str().unwrap_or("<namespace>");
        changes.push(
            Change::new(
                ChangeClass::Rejected,
                object,
                "spec.clusterIP",
                format!(
                    "clusterIP {} → {}; {}",
                    show(&old["spec"]["clusterIP"]),
                    show(&new["spec"]["clusterIP"]),
                    answers(&format!("Service \"{name}\" is invalid: spec.clusterIPs[0]: Invalid value: [\"None\"]: may not change once set"))
                ),
            )
            .remedy(format!(
                "kubectl delete service {name} -n {namespace}, then apply: pods and data stay; peers cannot resolve each other for the seconds in between"
            )),
        );
    }
    vec!["spec.clusterIP", "spec.selector"]
}

/// A PVC's spec is immutable, except a bound claim's storage request, which may only grow (core
/// API validation, ValidatePersistentVolumeClaimUpdate), and only on a StorageClass that allows
/// volume expansion (the PersistentVolumeClaimResize admission plugin). Whether the claim is
/// bound and its class expandable is the cluster's state, which a render does not hold: a
/// growth is unsafe until checked, and the report says how to check.
fn claim(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) -> Vec<&'static str> {
    const SIZE: &str = "spec.resources.requests.storage";
    let paths = changed_paths(&old["spec"], &new["spec"], "spec");
    let name = new["metadata"]["name"].as_str().unwrap_or("?");
    let invalid = |answer: &str| format!("PersistentVolumeClaim \"{name}\" is invalid: {answer}");
    if paths.iter().any(|p| p != SIZE) {
        changes.push(
            Change::new(ChangeClass::Rejected, object, "spec", answers(&invalid(CLAIM_IMMUTABLE)))
                .remedy(format!("keep the backup volume's StorageClass; to move the backups, create a new PVC, copy them, then delete {name}")),
        );
    }
    let size = |v: &Value| {
        v["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .and_then(|q| crate::quantity::Quantity::parse(q).ok())
            .map(|q| q.ceil_units())
    };
    let shown = |v: &Value| show(&v["spec"]["resources"]["requests"]["storage"]);
    if let (Some(before), Some(after)) = (size(old), size(new))
        && before != after
    {
        let resize = format!("size {} → {}", shown(old), shown(new));
        let change = if after < before {
            Change::new(
                ChangeClass::Rejected,
                object,
                SIZE,
                format!(
                    "{resize}: a claim never shrinks; for a bound claim {}, for an unbound one {}",
                    answers(&invalid(CLAIM_SHRINK)),
                    answers(&invalid(CLAIM_IMMUTABLE))
                ),
            )
            .remedy("keep the size, or create a smaller PVC and copy the backups")
        } else {
            let namespace = new["metadata"]["namespace"].as_str().unwrap_or("<namespace>");
            let class = new["spec"]["storageClassName"].as_str().unwrap_or("<its class>");
            Change::new(
                ChangeClass::Unsafe,
                object,
                SIZE,
                format!(
                    "{resize}: the backup volume grows only if the claim is bound and its StorageClass has allowVolumeExpansion: true; for a claim not bound yet (a WaitForFirstConsumer class before the first backup) {}, for a class without expansion {}",
                    answers(&invalid(CLAIM_IMMUTABLE)),
                    answers(&format!("persistentvolumeclaims \"{name}\" is forbidden: {CLAIM_NOT_EXPANDABLE}"))
                ),
            )
            .remedy(format!(
                "check both, then apply: `kubectl get pvc {name} -n {namespace} -o jsonpath='{{.status.phase}}'` says Bound and `kubectl get storageclass {class} -o jsonpath='{{.allowVolumeExpansion}}'` says true; otherwise keep the size"
            ))
        };
        changes.push(change);
    }
    vec!["spec"]
}

fn job(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) -> Vec<&'static str> {
    let paths = changed_paths(&old["spec"], &new["spec"], "spec");
    let immutable: Vec<&String> = paths
        .iter()
        .filter(|p| {
            ["spec.template", "spec.selector", "spec.completions"]
                .iter()
                .any(|i| p.starts_with(i))
        })
        .collect();
    if !immutable.is_empty() {
        let name = new["metadata"]["name"].as_str().unwrap_or("?");
        changes.push(
            Change::new(
                ChangeClass::Rejected,
                object,
                "spec.template",
                answers(&format!(
                    "Job \"{name}\" is invalid: spec.template: Invalid value: …: field is immutable"
                )),
            )
            .remedy(format!(
                "kubectl delete job {name}, then apply (the bootstrap script is idempotent)"
            )),
        );
    }
    vec!["spec.template", "spec.selector", "spec.completions"]
}

fn statefulset(
    context: &Context<'_>,
    object: &str,
    old: &Value,
    new: &Value,
    changes: &mut Vec<Change>,
) -> Vec<&'static str> {
    let (b, a) = (&old["spec"], &new["spec"]);
    immutable_statefulset_fields(object, b, a, changes);
    cluster::replicas_and_mnodes(context, object, old, new, changes);
    cluster::image(object, old, new, changes);
    cluster::configuration(context, object, old, new, changes);
    cluster::password(object, old, new, changes);
    cluster::run_as_user(object, old, new, changes);
    retention(object, b, a, changes);
    vec![
        "spec.selector",
        "spec.podManagementPolicy",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.replicas",
        "spec.persistentVolumeClaimRetentionPolicy",
        "metadata.annotations.tdgen.io/mnodes",
    ]
}

/// Everything but the mutable fields is refused; the claim templates and the service name are
/// reported with the identity, which says what they mean for the data.
fn immutable_statefulset_fields(object: &str, b: &Value, a: &Value, changes: &mut Vec<Change>) {
    let fields: BTreeSet<&String> = b
        .as_object()
        .into_iter()
        .flatten()
        .chain(a.as_object().into_iter().flatten())
        .map(|(k, _)| k)
        .filter(|k| !STATEFULSET_MUTABLE.contains(&k.as_str()))
        .collect();
    for field in fields {
        if b[field] == a[field] {
            continue;
        }
        let message = format!(
            "{field} {} → {}; {}",
            show(&b[field]),
            show(&a[field]),
            answers(STATEFULSET_FORBIDDEN)
        );
        let mut change = Change::new(ChangeClass::Rejected, object, &format!("spec.{field}"), message);
        change = match field.as_str() {
            "podManagementPolicy" => {
                let old = show(&b[field]);
                change
                    .remedy(format!(
                        "keep spec.podManagementPolicy: {old}, or `kubectl delete statefulset <name> -n <namespace> --cascade=orphan` and apply: pods and PVCs stay and the new StatefulSet adopts them"
                    ))
                    .command(RemedyCommand::keep(&[("spec.podManagementPolicy", old)]))
            }
            "volumeClaimTemplates" | "serviceName" => continue,
            _ => change.remedy(
                "`kubectl delete statefulset <name> -n <namespace> --cascade=orphan` and apply: pods and PVCs stay",
            ),
        };
        changes.push(change);
    }
}

fn retention(object: &str, b: &Value, a: &Value, changes: &mut Vec<Change>) {
    let policy = |v: &Value, field: &str| v["persistentVolumeClaimRetentionPolicy"][field].clone();
    for field in ["whenDeleted", "whenScaled"] {
        let (before, after) = (policy(b, field), policy(a, field));
        if before == after {
            continue;
        }
        let mut message = format!(
            "PVC retention {field} {} → {}: changed in place; the pods do not roll",
            show(&before),
            show(&after)
        );
        if field == "whenScaled" && after == "Delete" {
            message.push_str("; from now on a scale-in deletes the PVCs itself, which is only safe after `drop dnode`");
        }
        changes.push(Change::new(
            ChangeClass::Safe,
            object,
            &format!("spec.persistentVolumeClaimRetentionPolicy.{field}"),
            message,
        ));
    }
}

/// Leaf paths where two JSON trees differ.
fn changed_paths(a: &Value, b: &Value, path: &str) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    changed_paths(
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        &format!("{path}.{k}"),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .flat_map(|(i, (p, q))| changed_paths(p, q, &format!("{path}[{i}]")))
            .collect(),
        (x, y) if x == y => Vec::new(),
        _ => vec![path.to_owned()],
    }
}

fn summarise(paths: &[String]) -> String {
    let mut shown: Vec<&str> = paths.iter().map(String::as_str).take(3).collect();
    if paths.len() > 3 {
        shown.push("…");
    }
    shown.join(", ")
}
