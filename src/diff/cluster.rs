//! What a change means to a running TDengine cluster: scale-in, mnodes, downgrades,
//! configuration every dnode must share, passwords, the user taosd runs as. What the API server
//! refuses is in `kubernetes.rs`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::context::{Context, container, image_version};
use super::{Change, ChangeClass, RemedyCommand, set_flags};
use crate::model::volumes;
use crate::tdengine::live::{LiveChange, live_change};
use crate::tdengine::{self, catalog, version::Version};

fn mnodes_of(statefulset: &Value) -> Option<u32> {
    statefulset["metadata"]["annotations"]["tdgen.io/mnodes"]
        .as_str()?
        .parse()
        .ok()
}

/// Scale-in needs `drop dnode` first; mnodes live in SQL, not in any Kubernetes field.
pub(super) fn replicas_and_mnodes(
    context: &Context<'_>,
    object: &str,
    old: &Value,
    new: &Value,
    changes: &mut Vec<Change>,
) {
    let replicas = |v: &Value| v["spec"]["replicas"].as_u64().map_or(1, |r| r as u32);
    let shape = Shape {
        from: replicas(old),
        to: replicas(new),
        mnodes_before: mnodes_of(old),
        mnodes_after: context.blueprint.spec.mnodes,
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

pub(super) fn image(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
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

/// The version a render's StatefulSet runs, if its image tag names one.
pub(super) fn running_version(statefulset: &Value) -> Option<Version> {
    image_version(&container(statefulset)["image"])
}

/// Parameters (and the time zone) that every dnode must share: a dnode restarted with another
/// value is refused by the others (`timezone not match`, …, util/src/terror.c), so a rolling
/// update cannot change them.
pub(super) fn configuration(context: &Context<'_>, object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    let persisted = context.running.is_none_or(|v| tdengine::PERSISTED_CONFIG.in_version(v));
    for config in config_changes(context, old, new) {
        let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".to_owned());
        let (before, after) = (value(&config.before), value(&config.after));
        let name = config.name.as_str();
        let live = context
            .running
            .map(|running| live_change(&config.name, config.after.as_deref(), running));
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
pub(super) fn password(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
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
pub(super) fn run_as_user(object: &str, old: &Value, new: &Value, changes: &mut Vec<Change>) {
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
