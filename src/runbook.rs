//! Day-2 runbooks (`tdgen plan …`): exact, re-runnable bash scripts with the cluster's real
//! names, rendered from `templates/plans/`, and the same steps as a Markdown checklist.
//!
//! tdgen never runs them: they are reviewed and run by a person (or a pipeline) with kubectl
//! access. Every script uses `set -euo pipefail`, passes the namespace to every kubectl call,
//! bounds every wait, prints instead of acting with `DRY_RUN=1`, and can be run again after a
//! failure at any step.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::blueprint::{self, Blueprint};
use crate::diff::Previous;
use crate::error::Finding;
use crate::model::ValidSpec;
use crate::model::volumes;
use crate::tdengine as td;
use crate::tdengine::live::{LiveChange, live_change};

/// Which runbook to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanKind {
    /// Bring the cluster to the spec's mnode count.
    Mnodes,
    /// Scale from the spec's dnodes to `to`.
    Scale {
        /// Target number of dnodes.
        to: u32,
    },
    /// Remove the cluster (and, when confirmed, its data).
    Teardown,
    /// Check dnodes, mnodes and the REST API.
    Verify,
    /// Take over a cluster deployed from the TDengine doc's YAML.
    Adopt,
    /// Replace the dnode at `ordinal`, whose disk or node is lost: drop it, re-create its pod
    /// empty, restore its mnode.
    ReplaceDnode {
        /// The StatefulSet ordinal of the lost dnode.
        ordinal: u32,
    },
}

/// A rendered runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    /// Short name (`scale-in`, `teardown`, …), also the suggested file name stem.
    pub name: &'static str,
    /// The bash script.
    pub script: String,
}

/// One step of a runbook, as written in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    /// What the step does.
    pub title: String,
    /// Why it is needed.
    pub why: String,
    /// The commands.
    pub code: String,
}

/// Write the runbook `kind` for a validated spec. Refusals (e.g. scaling below the mnode
/// count) are findings.
pub fn plan(spec: &ValidSpec, kind: PlanKind) -> Result<Runbook, Box<Finding>> {
    let blueprint = Blueprint::new(spec);
    let (name, template, extra) = match kind {
        PlanKind::Mnodes => ("mnodes", "plans/mnodes.sh.j2", json!({})),
        PlanKind::Scale { to } => scale(&blueprint, to)?,
        PlanKind::Teardown => ("teardown", "plans/teardown.sh.j2", teardown_context(&blueprint)),
        PlanKind::Verify => ("verify", "plans/verify.sh.j2", verify_context(&blueprint)),
        PlanKind::Adopt => ("adopt", "plans/adopt.sh.j2", adopt_context(&blueprint)?),
        PlanKind::ReplaceDnode { ordinal } => replace_dnode(&blueprint, ordinal)?,
    };
    let mut context = base_context(&blueprint);
    if let (Value::Object(base), Value::Object(more)) = (&mut context, extra) {
        base.extend(more);
    }
    written(name, template, context)
}

/// A runbook from its template and context.
fn written(name: &'static str, template: &str, context: Value) -> Result<Runbook, Box<Finding>> {
    let script = crate::templates::render(template, context).map_err(|e| {
        Box::new(Finding::error("plan-render", "", e.to_string()).with_help("this is a tdgen bug; please report it"))
    })?;
    Ok(Runbook { name, script })
}

fn base_context(blueprint: &Blueprint) -> Value {
    json!({
        "name": blueprint.name,
        "namespace": blueprint.namespace.clone().unwrap_or_default(),
        "service": blueprint.headless_service,
        "domain": blueprint.spec.cluster_domain,
        "port": blueprint.spec.server_port,
        "container": blueprint::CONTAINER_NAME,
        "dnodes": blueprint.spec.dnodes,
        "mnodes": blueprint.spec.mnodes,
    })
}

/// The base context with more entries.
fn with_base<const N: usize>(blueprint: &Blueprint, more: [(&str, Value); N]) -> Value {
    let mut context = base_context(blueprint);
    if let Value::Object(base) = &mut context {
        base.extend(more.map(|(key, value)| (key.to_owned(), value)));
    }
    context
}

fn claims(blueprint: &Blueprint) -> Vec<&'static str> {
    let mut claims = vec![volumes::DATA];
    if blueprint.spec.deploy.logs.is_some() {
        claims.push(volumes::LOG);
    }
    claims
}

fn scale(blueprint: &Blueprint, to: u32) -> Result<(&'static str, &'static str, Value), Box<Finding>> {
    let from = blueprint.spec.dnodes;
    let refuse = |message: String, help: &str| Err(refusal("plan-scale-refused", "--to", message, help));
    if to == from {
        return refuse(
            format!("the spec already has {from} dnodes"),
            "pass --to with the new number of dnodes",
        );
    }
    if !(1..=1000).contains(&to) {
        return refuse(format!("{to} is not a dnode count"), "use 1 to 1000");
    }
    if to < from && blueprint.spec.mnodes == 3 && to < 3 {
        return refuse(
            format!("scaling to {to} dnodes would leave fewer dnodes than the 3 mnodes need"),
            "3 mnodes need 3 dnodes: keep at least 3, or first move to 1 mnode (spec.mnodes: 1, then `tdgen plan mnodes`)",
        );
    }
    let context = json!({ "from": from, "to": to, "claims": claims(blueprint) });
    Ok(if to > from {
        ("scale-out", "plans/scale-out.sh.j2", context)
    } else {
        ("scale-in", "plans/scale-in.sh.j2", context)
    })
}

/// Write the runbook that takes a running cluster from the previous render's taosd parameters
/// to the spec's (`tdgen plan config --previous OLD`): `ALTER ALL DNODES` for what the running
/// version changes live, the new render's rollout for what it reads only at start, and a
/// refusal for what it cannot change at all.
pub fn plan_config(spec: &ValidSpec, previous: &Previous) -> Result<Runbook, Box<Finding>> {
    let refuse = |message: String, help: &str| refusal("plan-config-refused", "--previous", message, help);
    let reconfiguration = crate::diff::reconfiguration(previous, spec)
        .map_err(|reason| refuse(reason, "pass the render the cluster runs now as --previous"))?;
    let Some(running) = reconfiguration.running else {
        return Err(refuse(
            "the previous render's image tag names no TDengine version, so which parameters change live is unknown"
                .into(),
            "pin the running image to a versioned tag (spec.image.tag: 3.3.6.13)",
        ));
    };
    if reconfiguration.target != Some(running) {
        return Err(refuse(
            format!(
                "the spec also changes the image from {running}; change the version and the configuration in two steps"
            ),
            "upgrade first (keep spec.config as it was), then change spec.config",
        ));
    }
    if reconfiguration.changes.is_empty() {
        return Err(refuse(
            "the spec changes no taosd parameter against the previous render".into(),
            "edit spec.config (or spec.timezone), then run this again",
        ));
    }
    let persisted = td::PERSISTED_CONFIG.in_version(running);
    let mut alters = Vec::new();
    let mut applies = Vec::new();
    let mut refusals = Vec::new();
    for change in &reconfiguration.changes {
        match live_change(&change.name, change.after.as_deref(), running) {
            LiveChange::Alter { at_once } => alters.push(json!({
                "name": change.name,
                "value": change.after.clone().unwrap_or_default(),
                "at_once": at_once,
            })),
            LiveChange::Rollout => applies.push(json!({
                "name": change.name,
                "value": change.after.clone(),
            })),
            LiveChange::Refused(why) => refusals.push(format!("{}: {why}", change.name)),
        }
    }
    if !refusals.is_empty() {
        return Err(refuse(
            format!(
                "TDengine {running} cannot take these changes on a running cluster: {}",
                refusals.join("; ")
            ),
            "keep their previous values in spec.config (`tdgen diff` names them); such a change needs a new cluster and a data migration",
        ));
    }
    let context = with_base(
        &Blueprint::new(spec),
        [
            ("running", json!(running.to_string())),
            ("persisted", json!(persisted)),
            ("persisted_since", json!(td::PERSISTED_CONFIG.since.to_string())),
            ("alters", json!(alters)),
            ("applies", json!(applies)),
        ],
    );
    written("config", "plans/config.sh.j2", context)
}

/// Write the runbook that changes the root password to the value of the Secret `next`
/// references, and then applies `next`'s render. `next` is `current` with only
/// `spec.rootPassword` changed (the CLI builds it with `--set`).
pub fn plan_password(current: &ValidSpec, next: &ValidSpec) -> Result<Runbook, Box<Finding>> {
    let refuse = |message: String, help: &str| refusal("plan-password-refused", "--secret", message, help);
    let Some(reference) = next.deploy.root_password.as_ref() else {
        return Err(refuse(
            "the new spec references no password Secret".into(),
            "pass --secret NAME[:KEY]",
        ));
    };
    if current.deploy.root_password.as_ref().map(|r| (&r.secret_name, &r.key))
        == Some((&reference.secret_name, &reference.key))
    {
        return Err(refuse(
            format!(
                "the spec already references Secret {} key {}",
                reference.secret_name, reference.key
            ),
            "create a new Secret with the new password and pass it as --secret NAME[:KEY]",
        ));
    }
    let (mut before, mut after) = ((**current).clone(), (**next).clone());
    before.deploy.root_password = None;
    after.deploy.root_password = None;
    if before != after {
        return Err(refuse(
            "the new spec changes more than the password reference".into(),
            "change the password on its own, then the rest",
        ));
    }
    let blueprint = Blueprint::new(next);
    let manifests = embedded_manifests(&blueprint)?;
    let (from, to) = td::ROOT_PASSWORD_MARKER_VERSIONS;
    let version = td::version::Version::from_tag(&next.tag);
    let marker = version.is_none_or(|v| (from..=to).contains(&v));
    // An unknown version gets the strict check: a strong password suits every version.
    let strong = version.is_none_or(|v| td::STRONG_PASSWORDS.in_version(v));
    let context = with_base(
        &blueprint,
        [
            ("secret", json!(reference.secret_name)),
            ("key", json!(reference.key)),
            ("key_path", json!(reference.key.replace('.', "\\."))),
            ("marker", json!(marker)),
            ("strong", json!(strong)),
            ("strong_min", json!(td::STRONG_PASSWORD_MIN_LEN)),
            ("strong_kinds", json!(td::STRONG_PASSWORD_KINDS)),
            ("version", json!(next.tag)),
            ("marker_from", json!(from.to_string())),
            ("marker_to", json!(to.to_string())),
            ("manifests", json!(manifests)),
        ],
    );
    written("password", "plans/password.sh.j2", context)
}

/// Write the runbook that upgrades the cluster from `current`'s image to `next`'s: rolling for a
/// Maintenance release, every dnode stopped otherwise (TDengine's versioning rules). `next` is `current` with only the image tag changed (the CLI builds it
/// with `--set`). Downgrades and Major+ changes are refused.
pub fn plan_upgrade(current: &ValidSpec, next: &ValidSpec) -> Result<Runbook, Box<Finding>> {
    let refuse = |message: String, help: &str| refusal("plan-upgrade-refused", "--to", message, help);
    let version = |spec: &ValidSpec| td::version::Version::from_tag(&spec.tag);
    let (Some(from), Some(to)) = (version(current), version(next)) else {
        return Err(refuse(
            format!(
                "{} → {}: both image tags must name a TDengine version",
                current.tag, next.tag
            ),
            "use versioned tags (3.3.6.13); the upgrade path depends on the numbers",
        ));
    };
    // What the version decides (the tag, the version, how the password is delivered) may differ.
    let version_free = |spec: &ValidSpec| {
        let mut resolved = (**spec).clone();
        resolved.tag.clear();
        resolved.version = None;
        if let Some(password) = resolved.deploy.root_password.as_mut() {
            password.delivery = crate::model::PasswordDelivery::Env;
        }
        resolved
    };
    if version_free(current) != version_free(next) {
        return Err(refuse(
            "the new spec changes more than the image tag".into(),
            "upgrade on its own, then change the rest",
        ));
    }
    let reversible = match td::Upgrade::between(from, to) {
        td::Upgrade::NotNewer => {
            return Err(refuse(
                format!("{from} → {to} is not an upgrade; tdgen does not write downgrades"),
                "data written by a newer taosd may not open in an older one: restore a backup taken before the upgrade instead",
            ));
        }
        td::Upgrade::Unsupported => {
            return Err(refuse(
                format!("{from} → {to} changes the first version number, which TDengine does not upgrade directly"),
                "TDengine's versioning rules say to contact TDengine support for such an upgrade",
            ));
        }
        td::Upgrade::Rolling => true,
        td::Upgrade::StopAll { reversible } => reversible,
    };
    let rolling = td::Upgrade::between(from, to) == td::Upgrade::Rolling;
    let blueprint = Blueprint::new(next);
    let context = with_base(
        &blueprint,
        [
            ("from", json!(from.to_string())),
            ("to", json!(to.to_string())),
            ("to_tag", json!(next.tag)),
            ("image", json!(blueprint.image)),
            ("rolling", json!(rolling)),
            ("reversible", json!(reversible)),
            ("rolling_replicas", json!(td::ROLLING_UPGRADE_REPLICAS)),
            (
                "streams_check",
                json!(from < td::STREAMS_REMOVED_BEFORE && to >= td::STREAMS_REMOVED_BEFORE),
            ),
            ("streams_before", json!(td::STREAMS_REMOVED_BEFORE.to_string())),
            ("manifests", json!(embedded_manifests(&blueprint)?)),
        ],
    );
    written("upgrade", "plans/upgrade.sh.j2", context)
}

/// Write the runbook that restores the backup `from` (a directory name on the backup volume,
/// such as `20261127T030000Z`) into the running cluster, through a Job on the backup volume.
pub fn plan_restore(spec: &ValidSpec, from: &str) -> Result<Runbook, Box<Finding>> {
    let refuse = |message: String, help: &str| refusal("plan-restore-refused", "--from", message, help);
    let plain = !from.is_empty()
        && !from.starts_with('.')
        && from.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !plain {
        return Err(refuse(
            format!("`{from}` is not the name of a backup"),
            "pass a directory name from the backup volume, such as 20261127T030000Z (the backup Job's log names each one)",
        ));
    }
    let blueprint = Blueprint::new(spec);
    let Some(backup) = &blueprint.backup else {
        return Err(refuse(
            "the spec has no spec.backup, so there is no backup volume to restore from".into(),
            "restore with the spec that has spec.backup",
        ));
    };
    let job = crate::build::restore_job(&blueprint, from);
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let yaml = heredoc(crate::emit::to_yaml_string(&job))?;
    let deadline = spec
        .deploy
        .backup
        .as_ref()
        .map_or(21_600, |b| b.active_deadline_seconds);
    let context = with_base(
        &blueprint,
        [
            ("from", json!(from)),
            ("cronjob", json!(backup.name)),
            ("job", json!(job_name)),
            ("attempts", json!(deadline / 10 + 30)),
            ("manifests", json!(yaml)),
        ],
    );
    written("restore", "plans/restore.sh.j2", context)
}

fn replace_dnode(blueprint: &Blueprint, ordinal: u32) -> Result<(&'static str, &'static str, Value), Box<Finding>> {
    let dnodes = blueprint.spec.dnodes;
    let refuse = |message: String, help: &str| Err(refusal("plan-replace-refused", "--ordinal", message, help));
    if ordinal >= dnodes {
        return refuse(
            format!("the cluster has {dnodes} dnode(s): ordinals 0 to {}", dnodes - 1),
            "pass the ordinal of the lost dnode's pod (`<name>-N`)",
        );
    }
    if ordinal == 0 {
        // Dnode 0's endpoint is every pod's firstEp, and the image's entrypoint starts taosd at
        // once when its own FQDN is the firstEp's (entrypoint.sh @ 15240844; §D3): an empty
        // pod 0 would not join this cluster but found one of its own.
        return refuse(
            "dnode 0 is the cluster's firstEp: an empty pod 0 would start a new cluster of its own instead of joining this one".to_owned(),
            "restore dnode 0's PVC from a backup, or migrate the data to a new cluster; tdgen does not replace dnode 0",
        );
    }
    Ok((
        "replace-dnode",
        "plans/replace-dnode.sh.j2",
        json!({
            "ordinal": ordinal,
            "claims": claims(blueprint),
            "parallel": blueprint.spec.pod_management_policy == crate::spec::PodManagementPolicy::Parallel,
        }),
    ))
}

fn selector_arg(blueprint: &Blueprint) -> String {
    blueprint
        .selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn teardown_context(blueprint: &Blueprint) -> Value {
    let manifests = crate::build::build(blueprint);
    let objects: Vec<Value> = manifests
        .objects()
        .iter()
        .filter(|o| !matches!(o.kind(), "StatefulSet" | "Job" | "CronJob" | "PersistentVolumeClaim"))
        .map(|o| {
            // The monitoring objects may live in a namespace of their own.
            let elsewhere = o
                .metadata()
                .namespace
                .clone()
                .filter(|ns| Some(ns) != blueprint.namespace.as_ref());
            json!({ "kind": o.kind(), "name": o.name(), "namespace": elsewhere })
        })
        .collect();
    let others: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["kind"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    json!({
        "selector": selector_arg(blueprint),
        "job_selector": blueprint.bootstrap.as_ref().map(|_| format!("app.kubernetes.io/instance={},app.kubernetes.io/component=mnode-bootstrap", blueprint.name)),
        "objects": objects,
        "others": others,
        "backup": blueprint.backup.as_ref().map(|b| &b.name),
    })
}

fn verify_context(blueprint: &Blueprint) -> Value {
    let deploy = &blueprint.spec.deploy;
    let password = deploy.root_password.as_ref();
    json!({
        "rest": deploy.adapter && deploy.client_service.is_some(),
        "client_service": blueprint.client_service,
        "secret": password.map(|p| p.secret_name.clone()),
        "secret_key": password.map(|p| p.key.replace('.', "\\.")),
    })
}

fn adopt_context(blueprint: &Blueprint) -> Result<Value, Box<Finding>> {
    let Some(version) = td::version::Version::from_tag(&blueprint.spec.tag) else {
        return Err(refusal(
            "plan-adopt-refused",
            "spec.image.tag",
            format!(
                "the image tag `{}` names no TDengine version, so whether adopting would change the version cannot be checked",
                blueprint.spec.tag
            ),
            "set spec.image.tag to the version the cluster runs (the doc's YAML runs 3.0.7.1)",
        ));
    };
    let yaml = embedded_manifests(blueprint)?;
    Ok(json!({
        "version": version.to_string(),
        "selector_json": serde_json::to_string(&blueprint.selector).unwrap_or_default(),
        "pod_management_policy": blueprint.spec.pod_management_policy.as_str(),
        "claims": claims(blueprint).join(" "),
        "data_size": blueprint.spec.data_size,
        "storage_class": blueprint.spec.data_storage_class.clone().unwrap_or_default(),
        "manifests": yaml,
    }))
}

/// The plan's manifests as a heredoc in a script ([`heredoc`]): the objects of the cluster's
/// namespace, which the scripts apply with `-n "$NAMESPACE"` (kubectl refuses an object of
/// another namespace there: monitoring objects in `spec.monitoring.namespace` are applied with
/// the render, not by the runbooks).
fn embedded_manifests(blueprint: &Blueprint) -> Result<String, Box<Finding>> {
    let objects = crate::build::build(blueprint)
        .into_objects()
        .into_iter()
        .filter(|o| o.metadata().namespace == blueprint.namespace)
        .collect();
    heredoc(crate::emit::Manifests::new(objects).to_yaml())
}

/// `cat <<'DELIMITER'`, the YAML, and the delimiter: `TDGEN_MANIFESTS_` and a digest of the
/// YAML itself, so no line of it (an annotation, a script) can end or resemble the heredoc.
fn heredoc(yaml: Result<String, crate::error::Error>) -> Result<String, Box<Finding>> {
    use sha2::Digest as _;
    let yaml = yaml.map_err(|e| Finding::error("plan-render", "", e.to_string()))?;
    let digest = format!("{:x}", sha2::Sha256::digest(yaml.as_bytes()));
    let delimiter = format!("TDGEN_MANIFESTS_{}", &digest[..16]);
    if yaml.contains(&delimiter) {
        return Err(Box::new(Finding::error(
            "plan-render",
            "",
            "the manifests contain the heredoc delimiter".to_owned(),
        )));
    }
    Ok(format!("cat <<'{delimiter}'\n{yaml}{delimiter}"))
}

/// A runbook's refusal: the finding `code` on the flag that caused it, with what to do.
fn refusal(code: &'static str, flag: &str, message: String, help: &str) -> Box<Finding> {
    Box::new(Finding::error(code, flag, message).with_help(help))
}

impl Runbook {
    /// The steps, as marked in the script (`# step:` / `# why:` comments).
    fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        for line in self.script.lines() {
            if let Some(title) = line.strip_prefix("# step: ") {
                steps.push(Step {
                    title: title.to_owned(),
                    why: String::new(),
                    code: String::new(),
                });
            } else if let Some(step) = steps.last_mut() {
                match line.strip_prefix("# why: ") {
                    Some(why) if step.code.is_empty() => step.why = why.to_owned(),
                    _ => {
                        step.code.push_str(line);
                        step.code.push('\n');
                    }
                }
            }
        }
        for step in &mut steps {
            step.code = step.code.trim_end().to_owned();
        }
        steps
    }

    /// The header comment: what the runbook does and how to run it.
    fn summary(&self) -> Vec<&str> {
        self.script
            .lines()
            .skip(1)
            .map_while(|l| l.strip_prefix("# "))
            .collect()
    }

    /// The same runbook as a Markdown checklist for review.
    pub fn to_markdown(&self) -> String {
        let summary = self.summary();
        let mut out = String::new();
        let title = summary.first().copied().unwrap_or(self.name);
        let _ = writeln!(out, "# {title}\n");
        if summary.len() > 1 {
            let _ = writeln!(out, "{}\n", summary[1..].join(" "));
        }
        let _ = writeln!(
            out,
            "The commands use the helpers defined at the top of the shell version (`tdgen plan …` without `--format markdown`): \
             `run` and `change` (kubectl and SQL changes; they only print with `DRY_RUN=1`), `must` and `polled` \
             (read `show dnodes` / `show mnodes` through dnode 0's own taos client, with timeouts and retries), \
             `wait_for` (bounded), `endpoint`, `dnode_id`, `dnode_status`. Set `NAMESPACE` if the spec does not pin one.\n"
        );
        for (i, step) in self.steps().iter().enumerate() {
            let _ = writeln!(out, "- [ ] **{}. {}**", i + 1, step.title);
            if !step.why.is_empty() {
                let _ = writeln!(out, "  {}", capitalise(&step.why));
            }
            let _ = writeln!(out, "\n  ```bash");
            for line in step.code.lines() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(out, "  ```\n");
        }
        out
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}
