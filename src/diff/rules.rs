//! Per-object rules: the fields the API server refuses to change (as it words them), and what a
//! change means to a running TDengine cluster (scale-in, mnodes, downgrades, configuration,
//! passwords, the user taosd runs as).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Change, ChangeClass, Previous, RemedyCommand, set_flags};
use crate::model::volumes;
use crate::plan::Plan;
use crate::tdengine::{self, catalog, version::Version};

/// The API server's answer to a forbidden StatefulSet update (apps/validation).
pub(super) const STATEFULSET_FORBIDDEN: &str = "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
/// The StatefulSet spec fields the API server lets change.
const STATEFULSET_MUTABLE: [&str; 6] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// What every rule may need to know about both renders.
pub(super) struct Context<'a> {
    previous: &'a Previous,
    current: &'a [Value],
    plan: &'a Plan,
    /// The version the cluster runs now (the previous image), if its tag names one.
    running: Option<Version>,
}

impl<'a> Context<'a> {
    pub(super) fn new(previous: &'a Previous, current: &'a [Value], plan: &'a Plan) -> Self {
        let running = previous
            .statefulset()
            .and_then(|s| image_version(&container(s)["image"]));
        Context {
            previous,
            current,
            plan,
            running,
        }
    }

    fn new_job(&self) -> Option<&str> {
        self.current
            .iter()
            .find(|o| o["kind"] == "Job")
            .and_then(|o| o["metadata"]["name"].as_str())
    }

    /// The effective taos.cfg parameters of a render's StatefulSet: `TAOS_*` variables of the
    /// TDengine container and the lines of the taos.cfg ConfigMap it mounts, by lower-cased
    /// name (taosd matches names case-insensitively).
    fn config(objects: &[Value], statefulset: &Value) -> BTreeMap<String, (String, String)> {
        let mut config = BTreeMap::new();
        let volumes = statefulset["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for volume in volumes.iter().filter(|v| v["name"] == volumes::CONFIG) {
            let name = &volume["configMap"]["name"];
            let text = objects
                .iter()
                .find(|o| o["kind"] == "ConfigMap" && &o["metadata"]["name"] == name)
                .and_then(|o| o["data"]["taos.cfg"].as_str())
                .unwrap_or_default();
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                if let Some((key, value)) = line.trim().split_once(char::is_whitespace) {
                    config.insert(key.to_ascii_lowercase(), (key.to_owned(), value.trim().to_owned()));
                }
            }
        }
        for var in container(statefulset)["env"].as_array().into_iter().flatten() {
            let Some(name) = var["name"].as_str() else { continue };
            if crate::model::OWNED_ENV.contains(&name) {
                continue;
            }
            let Some(key) = tdengine::env::env_name_to_config_key(name) else {
                continue;
            };
            let value = var["value"].as_str().map_or_else(
                || format!("(from {})", compact(&var["valueFrom"])),
                |v| v.replace("$$", "$"),
            );
            config.insert(key.to_ascii_lowercase(), (key, value));
        }
        config
    }
}

fn container(statefulset: &Value) -> Value {
    statefulset["spec"]["template"]["spec"]["containers"][0].clone()
}

fn image_version(image: &Value) -> Option<Version> {
    let image = image.as_str()?.split('@').next()?;
    let (_, tag) = image.rsplit_once(':')?;
    Version::from_tag(tag)
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "unset".into(),
        Value::String(s) => s.clone(),
        other => compact(other),
    }
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
        .remedy("keep spec.service.name (see its change)"),
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
                    "clusterIP {} → {}; the API server answers: Service \"{name}\" is invalid: spec.clusterIPs[0]: Invalid value: \"None\": may not change once set",
                    show(&old["spec"]["clusterIP"]),
                    show(&new["spec"]["clusterIP"])
                ),
            )
            .remedy(format!(
                "kubectl delete service {name} -n {namespace}, then apply: pods and data stay; peers cannot resolve each other for the seconds in between"
            )),
        );
    }
    vec!["spec.clusterIP", "spec.selector"]
}

/// A PVC's spec is immutable once bound, except its storage request, which may only grow (core
/// API validation, ValidatePersistentVolumeClaimUpdate), and only on a StorageClass that
/// allows volume expansion.
fn claim(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) -> Vec<&'static str> {
    const SIZE: &str = "spec.resources.requests.storage";
    let paths = changed_paths(&old["spec"], &new["spec"], "spec");
    let name = new["metadata"]["name"].as_str().unwrap_or("?");
    if paths.iter().any(|p| p != SIZE) {
        changes.push(
            Change::new(
                ChangeClass::Rejected,
                object,
                "spec",
                format!("the API server answers: PersistentVolumeClaim \"{name}\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"),
            )
            .remedy(format!("keep the backup volume's StorageClass; to move the backups, create a new PVC, copy them, then delete {name}")),
        );
    }
    let size = |v: &Value| {
        v["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .and_then(|q| crate::quantity::Quantity::parse(q).ok())
            .map(|q| q.ceil_units())
    };
    if let (Some(before), Some(after)) = (size(old), size(new))
        && before != after
    {
        let change = if after < before {
            Change::new(
                ChangeClass::Rejected,
                object,
                SIZE,
                "the API server answers: spec.resources.requests.storage: Forbidden: field can not be less than previous value".to_owned(),
            )
            .remedy("a PVC never shrinks: keep the size, or create a smaller PVC and copy the backups")
        } else {
            Change::new(
                ChangeClass::Safe,
                object,
                SIZE,
                "the backup volume grows (only if its StorageClass has allowVolumeExpansion: true)".to_owned(),
            )
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
                format!("the API server answers: Job.batch \"{name}\" is invalid: spec.template: Invalid value: …: field is immutable"),
            )
            .remedy(format!("kubectl delete job {name}, then apply (the bootstrap script is idempotent)")),
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
    replicas_and_mnodes(context, object, old, new, changes);
    image(object, old, new, changes);
    configuration(context, object, old, new, changes);
    password(object, old, new, changes);
    run_as_user(object, old, new, changes);
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
            "{field} {} → {}; the API server answers: {STATEFULSET_FORBIDDEN}",
            show(&b[field]),
            show(&a[field])
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

fn mnodes_of(statefulset: &Value) -> Option<u32> {
    statefulset["metadata"]["annotations"]["tdgen.io/mnodes"]
        .as_str()?
        .parse()
        .ok()
}

/// Scale-in needs `drop dnode` first; mnodes live in SQL, not in any Kubernetes field.
fn replicas_and_mnodes(context: &Context<'_>, object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let replicas = |v: &Value| v["spec"]["replicas"].as_u64().map_or(1, |r| r as u32);
    let shape = Shape {
        from: replicas(old),
        to: replicas(new),
        mnodes_before: mnodes_of(old),
        mnodes_after: context.plan.spec.mnodes,
    };
    changes.extend(scale_change(object, &shape));
    changes.extend(mnodes_change(object, &shape));
}

/// The dnode and mnode counts of both renders.
struct Shape {
    from: u32,
    to: u32,
    mnodes_before: Option<u32>,
    mnodes_after: u32,
}

impl Shape {
    /// `--set` flags for the old dnode count with the new mnode count: the shape the runbooks
    /// start from once the new render is applied.
    fn runbook_flags(&self) -> Vec<String> {
        super::set_flags(&[
            ("spec.dnodes", self.from.to_string()),
            ("spec.mnodes", self.mnodes_after.to_string()),
        ])
    }

    fn fewer_mnodes(&self) -> bool {
        self.mnodes_before.is_some_and(|m| m > self.mnodes_after)
    }
}

/// Scaling in needs `drop dnode` first; scaling out is safe, and checked by its runbook.
fn scale_change(object: &str, shape: &Shape) -> Option<Change> {
    let (from, to) = (shape.from, shape.to);
    let mut scale = shape.runbook_flags();
    scale.extend(["--to".to_owned(), to.to_string()]);
    if to > from {
        let change = Change::new(
            ChangeClass::Safe,
            object,
            "spec.replicas",
            format!("dnodes {from} → {to}: the new pods join as dnodes"),
        );
        return Some(
            change
                .remedy("the scale-out runbook checks that each one joined")
                .command(RemedyCommand::new(&["plan", "scale"], scale)),
        );
    }
    if to == from {
        return None;
    }
    let change = Change::new(
        ChangeClass::Unsafe,
        object,
        "spec.replicas",
        format!(
            "dnodes {from} → {to}: removing pods without `drop dnode` leaves offline dnodes and deletes nothing safely (the TDengine doc's common error)"
        ),
    );
    let change = if shape.fewer_mnodes() {
        change
            .remedy(format!(
                "first move to {} mnode(s), then scale in with the runbook (it drops each dnode before its pod and PVC), then apply",
                shape.mnodes_after
            ))
            .command(RemedyCommand::new(&["plan", "mnodes"], shape.runbook_flags()))
    } else {
        change.remedy("scale in with the runbook (it drops each dnode before its pod and PVC), then apply")
    };
    Some(change.command(RemedyCommand::new(&["plan", "scale"], scale)))
}

/// Mnodes change by SQL; a scale-in that also lowers them is covered by its own remedy.
fn mnodes_change(object: &str, shape: &Shape) -> Option<Change> {
    let before = shape.mnodes_before?;
    if before == shape.mnodes_after || (shape.to < shape.from && shape.fewer_mnodes()) {
        return None;
    }
    Some(
        Change::new(
            ChangeClass::Unsafe,
            object,
            "metadata.annotations[\"tdgen.io/mnodes\"]",
            format!(
                "mnodes {before} → {}: mnodes are created and dropped by SQL, not by Kubernetes",
                shape.mnodes_after
            ),
        )
        .remedy("apply, then bring the cluster to the new mnode count with the runbook")
        .command(RemedyCommand::new(&["plan", "mnodes"], Vec::new())),
    )
}

fn image(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let (before, after) = (
        image_version(&container(old)["image"]),
        image_version(&container(new)["image"]),
    );
    let tag_of = |s: &Value| {
        container(s)["image"]
            .as_str()
            .and_then(|i| i.split('@').next())
            .and_then(|i| i.rsplit_once(':'))
            .map(|(_, t)| t.to_owned())
            .unwrap_or_default()
    };
    if let (Some(before), Some(after)) = (before, after)
        && let tdengine::Upgrade::StopAll { reversible } = tdengine::Upgrade::between(before, after)
    {
        let (tag, new_tag) = (tag_of(old), tag_of(new));
        let mut args = set_flags(&[("spec.image.tag", tag.clone())]);
        args.extend(["--to".to_owned(), new_tag]);
        changes.push(
            Change::new(
                ChangeClass::Unsafe,
                object,
                "spec.template.spec.containers[0].image",
                format!(
                    "TDengine {before} → {after} changes more than the Maintenance number: TDengine does not upgrade it rolling (every dnode must stop){}",
                    if reversible { "" } else { ", and it cannot be rolled back" }
                ),
            )
            .remedy("do not apply this render: `tdgen plan upgrade --to <tag>`, written from the spec as it was, stops every dnode and starts them on the new image, with the checks between")
            .command(RemedyCommand::new(&["plan", "upgrade"], args))
            .command(RemedyCommand::keep(&[("spec.image.tag", tag)])),
        );
    }
    if let (Some(before), Some(after)) = (before, after)
        && after < before
    {
        let tag = tag_of(old);
        changes.push(
            Change::new(
                ChangeClass::Unsafe,
                object,
                "spec.template.spec.containers[0].image",
                format!("TDengine {before} → {after} is a downgrade"),
            )
            .remedy(format!(
                "data files written by a newer taosd may not open in an older one: keep spec.image.tag: {tag}, or restore a backup taken before the upgrade"
            ))
            .command(RemedyCommand::keep(&[("spec.image.tag", tag)])),
        );
    }
}

fn env_value(statefulset: &Value, name: &str) -> Value {
    container(statefulset)["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// A taosd parameter whose value differs between two renders (`None`: not set there). The
/// time zone (the pods' `TZ`, which taosd's `timezone` follows) is named `timezone`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigChange {
    /// The parameter, spelled as the newer render spells it.
    pub name: String,
    /// Its value in the previous render.
    pub before: Option<String>,
    /// Its value in the new render.
    pub after: Option<String>,
}

/// Every parameter whose value differs between the StatefulSets `old` and `new`, by name.
pub(super) fn config_changes(context: &Context<'_>, old: &Value, new: &Value) -> Vec<ConfigChange> {
    let tz = |s: &Value| {
        env_value(s, tdengine::env::TIMEZONE)["value"]
            .as_str()
            .map(str::to_owned)
    };
    let mut changes = Vec::new();
    if tz(old) != tz(new) {
        changes.push(ConfigChange {
            name: "timezone".into(),
            before: tz(old),
            after: tz(new),
        });
    }
    let before = Context::config(context.previous.objects(), old);
    let after = Context::config(context.current, new);
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let (old_value, new_value) = (before.get(key), after.get(key));
        if old_value.map(|v| &v.1) == new_value.map(|v| &v.1) {
            continue;
        }
        let name = new_value.or(old_value).map_or(key.as_str(), |v| v.0.as_str());
        changes.push(ConfigChange {
            name: name.to_owned(),
            before: old_value.map(|v| v.1.clone()),
            after: new_value.map(|v| v.1.clone()),
        });
    }
    changes
}

/// How a running cluster takes one changed parameter (what `tdgen plan config` does with it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LiveChange {
    /// `ALTER ALL DNODES` now; `at_once` when it takes effect without a restart.
    Alter {
        /// Takes effect without a restart.
        at_once: bool,
    },
    /// The new render's rollout: the restarted dnodes read it from taos.cfg or `TAOS_*`.
    Rollout,
    /// Not on a running cluster of this version, and why.
    Refused(String),
}

/// How a cluster running `running` takes `change`: the taosd reference's "Dynamic
/// Modification" for that version, and whether taosd keeps its first values in dataDir (then
/// only `ALTER` changes anything; before, a restart reads the new render).
pub fn live_change(change: &ConfigChange, running: Version) -> LiveChange {
    let persisted = tdengine::PERSISTED_CONFIG.in_version(running);
    let (live, cluster_wide) = match catalog::lookup(&change.name) {
        catalog::Lookup::Known(p) => (p.live_in(running), p.cluster_wide),
        _ => (catalog::Live::Never, false),
    };
    let Some(value) = &change.after else {
        return if persisted {
            LiveChange::Refused(format!(
                "removing it does not reset it: from {} taosd keeps the value it has; set the value you want instead",
                tdengine::PERSISTED_CONFIG.since
            ))
        } else {
            LiveChange::Rollout
        };
    };
    if value.contains(['\'', '\\']) {
        return LiveChange::Refused(
            "its value holds a quote or a backslash, which the SQL string of ALTER cannot carry as it is".into(),
        );
    }
    match live {
        catalog::Live::Immediate => LiveChange::Alter { at_once: true },
        catalog::Live::AfterRestart if persisted => LiveChange::Alter { at_once: false },
        catalog::Live::AfterRestart => LiveChange::Rollout,
        _ if persisted => LiveChange::Refused(format!(
            "TDengine {running} does not change it by ALTER (the taosd reference, or a real build that refused it), and from {} taosd ignores a new value in taos.cfg or TAOS_*",
            tdengine::PERSISTED_CONFIG.since
        )),
        _ if cluster_wide => LiveChange::Refused(
            "it must match on every dnode and cannot be changed by ALTER, so a rolling restart would split the cluster"
                .into(),
        ),
        _ => LiveChange::Rollout,
    }
}

/// The version a render's StatefulSet runs, if its image tag names one.
pub(super) fn running_version(statefulset: &Value) -> Option<Version> {
    image_version(&container(statefulset)["image"])
}

/// Parameters (and the time zone) that every dnode must share: a dnode restarted with another
/// value is refused by the others (`timezone not match`, …, util/src/terror.c), so a rolling
/// update cannot change them.
fn configuration(context: &Context<'_>, object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let persisted = context.running.is_none_or(|v| tdengine::PERSISTED_CONFIG.in_version(v));
    for config in config_changes(context, old, new) {
        let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".to_owned());
        let (before, after) = (value(&config.before), value(&config.after));
        let name = config.name.as_str();
        let live = context.running.map(|running| live_change(&config, running));
        let (field, keep_path) = if name == "timezone" {
            ("env TZ".to_owned(), "spec.timezone".to_owned())
        } else {
            (format!("taos.cfg {name}"), format!("spec.config.{name}"))
        };
        let cluster_wide =
            name == "timezone" || matches!(catalog::lookup(name), catalog::Lookup::Known(p) if p.cluster_wide);
        let what = if name == "timezone" {
            format!("time zone {before} → {after}")
        } else {
            format!("taos.cfg {name} {before} → {after}")
        };
        let why = if cluster_wide {
            "it must match on every dnode, and the pods roll one at a time: each restarted dnode is refused by the others (`timezone not match`, …)".to_owned()
        } else if persisted {
            format!(
                "from TDengine {} taosd keeps the values it first started with, so the rollout alone does not change it",
                tdengine::PERSISTED_CONFIG.since
            )
        } else {
            let change = Change::new(
                ChangeClass::Safe,
                object,
                &field,
                format!("{what}: the pods roll and read it"),
            );
            changes.push(change);
            continue;
        };
        let mut change = Change::new(ChangeClass::Unsafe, object, &field, format!("{what}: {why}"));
        change = match &live {
            Some(LiveChange::Refused(reason)) => change.remedy(format!(
                "keep {keep_path}: {before}; a running cluster cannot take this change ({reason})"
            )),
            Some(_) => change
                .remedy(format!(
                    "run `tdgen plan config` with --previous before applying: it sets {name} on every dnode with ALTER ALL DNODES, reads it back, and says what waits for the rollout"
                ))
                .command(RemedyCommand::plan_config()),
            None => change.remedy(format!(
                "keep {keep_path}: {before}; the previous image names no version, so how taosd takes the change is unknown"
            )),
        };
        if let Some(old_value) = &config.before {
            change = change.command(RemedyCommand::keep(&[(&keep_path, old_value.clone())]));
        }
        changes.push(change);
    }
}

/// The Secret and key the root password comes from, whichever way it is delivered.
fn password_reference(statefulset: &Value) -> Option<(String, String)> {
    let from_env = &env_value(statefulset, tdengine::env::ROOT_PASSWORD)["valueFrom"]["secretKeyRef"];
    if let (Some(name), Some(key)) = (from_env["name"].as_str(), from_env["key"].as_str()) {
        return Some((name.to_owned(), key.to_owned()));
    }
    let file = env_value(statefulset, tdengine::env::ROOT_PASSWORD_FILE)["value"]
        .as_str()?
        .to_owned();
    let secret = statefulset["spec"]["template"]["spec"]["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == volumes::PASSWORD)?["secret"]["secretName"]
        .as_str()?
        .to_owned();
    let key = file.rsplit('/').next().unwrap_or_default().to_owned();
    Some((secret, key))
}

/// The image sets the root password once, at first start: a changed reference changes nothing
/// in taosd, but the probes (3.4.1.0+), the bootstrap Job and every script then use the new value.
fn password(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let (before, after) = (password_reference(old), password_reference(new));
    if before == after {
        return;
    }
    let show = |r: &Option<(String, String)>| {
        r.as_ref().map_or_else(
            || "none (the image's default)".to_owned(),
            |(s, k)| format!("Secret {s} key {k}"),
        )
    };
    let mut change = Change::new(
        ChangeClass::Unsafe,
        object,
        "root password reference",
        format!(
            "root password {} → {}: taosd keeps the password it has; the probes (TDengine {}+), the bootstrap Job and the runbooks would authenticate with the new Secret's value and fail",
            show(&before),
            show(&after),
            tdengine::PROBE_MODE_CHECKS.since
        ),
    )
    .remedy(
        "do not apply this render: `tdgen plan password --secret <new Secret>:<key>`, written from the spec as it was, changes the password in taosd to the new Secret's value, checks a login with it, and applies the render that names the new Secret",
    );
    if let (Some((secret, key)), Some((new_secret, new_key))) = (&before, &after) {
        // The same input with the old reference is the spec as it was; --secret names the new one.
        let mut args = set_flags(&[
            ("spec.rootPassword.secretName", secret.clone()),
            ("spec.rootPassword.key", key.clone()),
        ]);
        args.extend(["--secret".to_owned(), format!("{new_secret}:{new_key}")]);
        change = change.command(RemedyCommand::new(&["plan", "password"], args));
    }
    if let Some((secret, key)) = before {
        change = change.command(RemedyCommand::keep(&[
            ("spec.rootPassword.secretName", secret),
            ("spec.rootPassword.key", key),
        ]));
    }
    changes.push(change);
}

/// The user taosd runs as owns every file of the data volume.
fn run_as_user(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let user = |s: &Value| s["spec"]["template"]["spec"]["securityContext"]["runAsUser"].clone();
    if user(old) == user(new) {
        return;
    }
    let show_user = |u: &Value| {
        u.as_i64()
            .map_or_else(|| "root (the image's user)".to_owned(), |u| format!("uid {u}"))
    };
    let mut change = Change::new(
        ChangeClass::Unsafe,
        object,
        "spec.template.spec.securityContext.runAsUser",
        format!(
            "taosd would run as {} instead of {}: the data volume's files belong to the old user (fsGroup only changes their group), so taosd may not open them",
            show_user(&user(new)),
            show_user(&user(old))
        ),
    )
    .remedy("keep the security profile; to switch, change the volume's file owner first (a one-off pod that runs chown -R on each PVC while the dnode is stopped)");
    let profile = if user(old).is_null() {
        "official-image"
    } else {
        "hardened"
    };
    let mut keep = vec![("spec.security.profile", profile.to_owned())];
    if let Some(uid) = user(old).as_i64() {
        keep.push(("spec.security.runAsUser", uid.to_string()));
    }
    change = change.command(RemedyCommand::keep(&keep));
    changes.push(change);
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
