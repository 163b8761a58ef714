//! `tdgen diff`: compare the previously rendered manifests (from git) with a new render and
//! classify every change: rejected by the API server, unsafe without a runbook, or safe.
//!
//! Three layers decide the class, most important first: the cluster's identity (what makes a
//! dnode the same dnode: its endpoint and its PVCs, `identity`), the fields the API server
//! refuses to change, and what a change means to a running TDengine cluster (`rules`). The
//! gate fails closed: a previous render that is empty, unreadable or holds no tdgen object is an
//! error, never "everything is new".

mod cluster;
mod context;
mod identity;
mod kubernetes;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::blueprint::Blueprint;
use crate::error::Error;
use crate::model::ValidSpec;
use crate::tdengine::version::Version;

pub(crate) use cluster::ConfigChange;
pub(crate) use identity::ClusterIdentity;

/// How a change lands on a running cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeClass {
    /// The API server refuses it (immutable field).
    Rejected,
    /// Applies, but breaks the cluster or loses data unless a runbook is followed.
    Unsafe,
    /// Applies in place or by rolling update.
    Safe,
}

impl ChangeClass {
    /// The lowercase name used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Unsafe => "unsafe",
            Self::Safe => "safe",
        }
    }
}

/// A `tdgen` command that carries out a remedy, run with the same input flags as the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemedyCommand {
    /// The subcommand words (`["plan", "scale"]`, `["diff"]`).
    pub subcommand: Vec<&'static str>,
    /// Arguments after the input flags (`--set spec.dnodes=5`, `--to 4`).
    pub args: Vec<String>,
}

impl RemedyCommand {
    fn new(subcommand: &[&'static str], args: impl IntoIterator<Item = String>) -> Self {
        RemedyCommand {
            subcommand: subcommand.to_vec(),
            args: args.into_iter().collect(),
        }
    }

    /// `tdgen plan config --previous OLD`: the runbook that changes parameters on the running
    /// cluster.
    fn plan_config() -> Self {
        Self::new(&["plan", "config"], [])
    }

    /// `tdgen diff --set PATH=OLD`: the render that keeps the old value (checked by the diff).
    fn keep(settings: &[(&str, String)]) -> Self {
        Self::new(&["diff"], set_flags(settings))
    }

    /// The command as a user types it: `tdgen <subcommand> <input flags> [--previous OLD] <args>`.
    pub fn display(&self, invocation: &Invocation) -> String {
        let mut words = vec!["tdgen".to_owned()];
        words.extend(self.subcommand.iter().map(|w| (*w).to_owned()));
        words.extend(invocation.input.iter().cloned());
        if self.subcommand == ["diff"] || self.subcommand == ["plan", "config"] {
            words.push("--previous".into());
            words.push(invocation.previous.clone());
        }
        words.extend(self.args.iter().map(|a| shell_word(a)));
        words.join(" ")
    }
}

/// `--set PATH=VALUE` flags, one word each.
pub(super) fn set_flags(settings: &[(&str, String)]) -> Vec<String> {
    settings
        .iter()
        .flat_map(|(path, value)| ["--set".to_owned(), format!("{path}={value}")])
        .collect()
}

/// A word quoted for POSIX shells when it needs to be.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
    if plain {
        word.to_owned()
    } else {
        crate::templates::shell_quote(word)
    }
}

/// How the diff was invoked, for printing remedy commands the user can run as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The input flags (`-f cluster.yaml`, `--preset ha`, `--set …`, `-n ns`), already quoted
    /// for the shell.
    pub input: Vec<String>,
    /// The `--previous` argument.
    pub previous: String,
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Rejected, unsafe or safe.
    pub class: ChangeClass,
    /// `Kind/name` of the object.
    pub object: String,
    /// The field (or fields) that changed.
    pub field: String,
    /// What changed, in words.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// The `tdgen` commands of the remedy, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<RemedyCommand>,
}

impl Change {
    fn new(class: ChangeClass, object: &str, field: &str, message: impl Into<String>) -> Self {
        Change {
            class,
            object: object.to_owned(),
            field: field.to_owned(),
            message: message.into(),
            remedy: None,
            commands: Vec::new(),
        }
    }

    fn remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }

    fn command(mut self, command: RemedyCommand) -> Self {
        self.commands.push(command);
        self
    }
}

/// Every change between two renders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    /// The changes, most severe first.
    pub changes: Vec<Change>,
}

/// The objects of a previous render, checked to be one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Previous {
    objects: Vec<Value>,
}

/// The label tdgen puts on every object it renders.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", crate::blueprint::MANAGER);

impl Previous {
    /// Wrap objects read elsewhere (a YAML stream, a cluster dump). `allow_new` accepts a
    /// previous render without any tdgen object: the first render of a cluster.
    pub fn from_objects(objects: Vec<Value>, allow_new: bool) -> Result<Previous, String> {
        let managed = objects
            .iter()
            .any(|o| o["metadata"]["labels"][MANAGED_BY.0] == MANAGED_BY.1);
        if !managed && !allow_new {
            let what = if objects.is_empty() {
                "it holds no Kubernetes object".into()
            } else {
                format!(
                    "none of its {} object(s) was rendered by tdgen (label {}={})",
                    objects.len(),
                    MANAGED_BY.0,
                    MANAGED_BY.1
                )
            };
            return Err(format!(
                "{what}; render with `tdgen render --output-dir`, or pass --allow-new for a cluster's first render"
            ));
        }
        if managed {
            Self::complete(&objects)?;
        }
        Ok(Previous { objects })
    }

    /// Every tdgen render has a StatefulSet and its governing Service: a previous render
    /// without them was cut short (a truncated stream, a file removed from an `--output-dir`),
    /// and comparing with it would call the whole cluster new.
    fn complete(objects: &[Value]) -> Result<(), String> {
        const AGAIN: &str = "every tdgen render has one, so this one is incomplete (a truncated stream, or a file removed from an --output-dir?); render the deployed spec again (from git) and diff against that";
        let managed = |o: &&Value| o["metadata"]["labels"][MANAGED_BY.0] == MANAGED_BY.1;
        let statefulset = objects
            .iter()
            .filter(managed)
            .find(|o| o["kind"] == "StatefulSet")
            .ok_or_else(|| format!("it has tdgen objects but no StatefulSet: {AGAIN}"))?;
        let service = statefulset["spec"]["serviceName"].as_str().unwrap_or_default();
        if !objects
            .iter()
            .any(|o| o["kind"] == "Service" && o["metadata"]["name"] == service)
        {
            return Err(format!(
                "it has no Service/{service}, the governing Service of its StatefulSet: {AGAIN}"
            ));
        }
        Ok(())
    }

    /// The objects.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    /// tdgen's StatefulSet in the previous render, if there is one.
    fn statefulset(&self) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| o["kind"] == "StatefulSet" && o["metadata"]["labels"][MANAGED_BY.0] == MANAGED_BY.1)
            .or_else(|| self.objects.iter().find(|o| o["kind"] == "StatefulSet"))
    }
}

/// Read previously rendered manifests: a YAML stream, a JSON `List`, or an `--output-dir`.
///
/// Fails closed: a missing, empty or unreadable path, or one without a tdgen object, is an
/// error. `allow_new` states that this is a cluster's first render: then a missing or empty
/// path, or one without tdgen objects, stands for "nothing deployed yet".
pub fn read_previous(path: &Path, allow_new: bool) -> Result<Previous, Error> {
    read(path, allow_new, None)
}

/// A new render as `diff` compares it: its objects as JSON, in apply order, and the text of
/// each `--output-dir` file it writes with the objects that file holds.
struct Render {
    current: Vec<Value>,
    files: Vec<(String, String, Vec<usize>)>,
}

impl Render {
    /// `files` are [`crate::Manifests::files`] of `manifests` (none when they could not be
    /// written: then every file is parsed).
    fn new(manifests: &crate::Manifests, files: Vec<(String, String)>) -> Self {
        let current = manifests
            .objects()
            .iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect();
        // `files` are the groups' files in the groups' order, the kustomization after them
        // (left out by the zip: it holds no object).
        let files = manifests
            .groups()
            .into_iter()
            .zip(files)
            .map(|((_, _, members), (name, text))| (name, text, members))
            .collect();
        Render { current, files }
    }

    /// The objects of the file `name` of an `--output-dir`, when it holds exactly `text`.
    fn holds(&self, name: &str, text: &str) -> Option<impl Iterator<Item = Value> + '_> {
        let (_, _, members) = self.files.iter().find(|(n, t, _)| n == name && t == text)?;
        Some(members.iter().filter_map(|&i| self.current.get(i).cloned()))
    }
}

/// Whether the `--output-dir` `dir` holds exactly `files` (byte for byte,
/// and no other manifest or kustomization): then nothing changed, and no file is parsed. A
/// fresh render compared with itself has no change (tested), so this answers what the
/// comparison would.
fn holds_exactly(dir: &Path, files: &[(String, String)]) -> bool {
    let holds = |path: &Path, text: &str| crate::input::read_regular(path).ok().as_deref() == Some(text);
    // The kustomization records every file's digest: when it differs, so does a file (the
    // common case of a changed cluster), and nothing else needs reading.
    let kustomization = files.iter().find(|(name, _)| name == crate::emit::KUSTOMIZATION);
    if !kustomization.is_some_and(|(name, text)| holds(&dir.join(name), text)) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut seen = 0;
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == crate::emit::KUSTOMIZATION {
            seen += 1; // compared above
            continue;
        }
        if !is_manifest_name(&name) && !name.eq_ignore_ascii_case(crate::emit::KUSTOMIZATION) {
            continue;
        }
        let Some((_, text)) = files.iter().find(|(n, _)| *n == name) else {
            return false;
        };
        if !holds(&entry.path(), text) {
            return false;
        }
        seen += 1;
    }
    seen == files.len()
}

/// [`read_previous`], where a file of an `--output-dir` that holds exactly what `render`
/// writes under its name is not parsed: its objects are the render's own (a fleet's unchanged
/// clusters cost a comparison of bytes, not a YAML parse).
fn read(path: &Path, allow_new: bool, render: Option<&Render>) -> Result<Previous, Error> {
    let invalid = |reason: String| Error::Previous {
        path: path.to_owned(),
        reason,
    };
    if allow_new && !path.exists() {
        return Ok(Previous::default());
    }
    let mut objects = Vec::new();
    let single = !path.is_dir();
    for file in manifest_files(path)? {
        let text = if single {
            crate::input::read_limited(&file)?
        } else {
            crate::input::read_regular(&file)?
        };
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(known) = render.filter(|_| !single).and_then(|r| r.holds(name, &text)) {
            objects.extend(known);
            continue;
        }
        let documents: Vec<Value> = if text.trim_start().starts_with('{') {
            vec![serde_json::from_str(&text).map_err(|e| unreadable(&file, e.to_string()))?]
        } else {
            crate::yaml::from_multiple(&text).map_err(|e| unreadable(&file, e))?
        };
        if single {
            let stated = crate::emit::stream_count(&text).map_err(&invalid)?;
            let found = documents.iter().filter(|d| !d.is_null()).count();
            if let Some(stated) = stated.filter(|n| *n != found) {
                return Err(invalid(format!(
                    "its end line states {stated} objects and it holds {found}: it was cut or edited; render the deployed spec again (from git) and diff against that"
                )));
            }
        }
        for document in documents {
            let kind = document.get("kind").and_then(Value::as_str);
            let named = document["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty());
            if kind.is_some_and(|k| k != "List" && k != "Kustomization") && !named {
                return Err(invalid(format!(
                    "{} holds a {} without metadata.name: an object cut short; render the deployed spec again (from git) and diff against that",
                    file.display(),
                    kind.unwrap_or_default()
                )));
            }
            match kind {
                Some("List") => objects.extend(document["items"].as_array().cloned().unwrap_or_default()),
                Some("Kustomization") | None => {}
                Some(_) => objects.push(document),
            }
        }
    }
    Previous::from_objects(objects, allow_new).map_err(invalid)
}

/// The files of a previous render: the path itself, or the manifests of a directory.
fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |error| Error::Io {
        path: path.to_owned(),
        error,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io)?;
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            is_manifest_name(name) && !name.starts_with("kustomization.")
        })
        .collect();
    files.sort();
    listed_files_exist(path)?;
    Ok(files)
}

/// Whether a file of a directory is read as manifests by its name (kustomizations aside).
fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext))
}

/// An `--output-dir` whose kustomization lists a file that is gone was cut short: refused.
fn listed_files_exist(dir: &Path) -> Result<(), Error> {
    use crate::emit::{KUSTOMIZATION, LEGACY_KUSTOMIZATION};
    let Some(path) = [KUSTOMIZATION, LEGACY_KUSTOMIZATION]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
    else {
        return Ok(());
    };
    let text = crate::input::read_regular(&path)?;
    crate::emit::dir::verify(dir, &text).map_err(|reason| Error::Previous {
        path: dir.to_owned(),
        reason: format!("{reason}; render the deployed spec again (from git) and diff against that"),
    })?;
    let value: Value = crate::yaml::from_str(&text).map_err(|e| unreadable(&path, e.message))?;
    let missing: Vec<&str> = value["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|file| !dir.join(file).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Previous {
        path: dir.to_owned(),
        reason: format!(
            "its kustomization lists {}, which {} missing: the render is incomplete; render the deployed spec again (from git) and diff against that",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        ),
    })
}

fn unreadable(path: &Path, message: String) -> Error {
    Error::Previous {
        path: path.to_owned(),
        reason: format!("it is not a YAML stream or JSON of Kubernetes objects: {message}"),
    }
}

/// What a change of configuration on a running cluster starts from: the version it runs, the
/// version the spec names, and every parameter that differs (`tdgen plan config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reconfiguration {
    /// The version the previous render runs, if its image tag names one.
    pub running: Option<Version>,
    /// The version the spec's image tag names, if it names one.
    pub target: Option<Version>,
    /// The parameters whose values differ.
    pub changes: Vec<ConfigChange>,
}

/// The parameters a spec changes against a previous render. Fails when the previous render
/// has no StatefulSet to compare with.
pub(crate) fn reconfiguration(previous: &Previous, spec: &ValidSpec) -> Result<Reconfiguration, String> {
    let blueprint = Blueprint::new(spec);
    let current = current_objects(&blueprint);
    let old = previous.statefulset().ok_or_else(|| {
        "the previous render has no StatefulSet: there is no running configuration to change".to_owned()
    })?;
    let new = current
        .iter()
        .find(|o| o["kind"] == "StatefulSet")
        .ok_or_else(|| "the new render has no StatefulSet".to_owned())?;
    let context = context::Context::new(previous, &current, &blueprint);
    Ok(Reconfiguration {
        running: cluster::running_version(old),
        target: Version::from_tag(&spec.tag),
        changes: cluster::config_changes(&context, old, new),
    })
}

fn current_objects(blueprint: &Blueprint) -> Vec<Value> {
    crate::build::build(blueprint)
        .objects()
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect()
}

/// Compare a previous render with the render of a validated spec.
pub fn diff(previous: &Previous, spec: &ValidSpec) -> DiffReport {
    let blueprint = Blueprint::new(spec);
    compare(previous, &blueprint, &current_objects(&blueprint))
}

/// [`diff`] against the `--output-dir` `dir` ([`read_previous`] of it, not allowed new).
pub(crate) fn diff_dir(dir: &Path, spec: &ValidSpec) -> Result<DiffReport, Error> {
    let blueprint = Blueprint::new(spec);
    let manifests = crate::build::build(&blueprint);
    let files = manifests.files().unwrap_or_default();
    if holds_exactly(dir, &files) {
        return Ok(DiffReport::default());
    }
    let render = Render::new(&manifests, files);
    let previous = read(dir, false, Some(&render))?;
    Ok(compare(&previous, &blueprint, &render.current))
}

fn compare(previous: &Previous, blueprint: &Blueprint, current: &[Value]) -> DiffReport {
    let mut changes = Vec::new();
    let context = context::Context::new(previous, current, blueprint);
    if let Some(old) = previous.statefulset() {
        changes.extend(identity::renamed_after_render(old));
        let before = ClusterIdentity::from_manifest(old);
        let after = ClusterIdentity::from_plan(blueprint);
        identity::compare(&before, &after, &mut changes);
    }
    let key = |v: &Value| {
        format!(
            "{}/{}",
            v["kind"].as_str().unwrap_or("?"),
            v["metadata"]["name"].as_str().unwrap_or("?")
        )
    };
    // The same object: kind, name, and namespace (an object moved to another namespace is a new
    // one there, and the old one stays behind until deleted or pruned).
    let same = |a: &Value, b: &Value| key(a) == key(b) && a["metadata"]["namespace"] == b["metadata"]["namespace"];
    for old in previous.objects() {
        let object = key(old);
        match current.iter().find(|new| same(new, old)) {
            Some(new) => kubernetes::compare(&context, &object, old, new, &mut changes),
            None => kubernetes::removed(&context, &object, old, &mut changes),
        }
    }
    for new in current {
        if !previous.objects().iter().any(|old| same(old, new)) {
            let moved = previous.objects().iter().any(|old| key(old) == key(new));
            let message = match new["metadata"]["namespace"].as_str() {
                Some(namespace) if moved => {
                    format!("new object in namespace {namespace} (the one in the old namespace is no longer rendered)")
                }
                _ => "new object".to_owned(),
            };
            changes.push(Change::new(ChangeClass::Safe, &key(new), "", &message));
        }
    }
    changes.sort_by(|a, b| (a.class, &a.object, &a.field).cmp(&(b.class, &b.object, &b.field)));
    DiffReport { changes }
}

impl DiffReport {
    /// Whether anything would be rejected or is unsafe.
    pub fn is_blocking(&self) -> bool {
        self.changes.iter().any(|c| c.class != ChangeClass::Safe)
    }

    /// Number of changes of a class.
    pub fn count(&self, class: ChangeClass) -> usize {
        self.changes.iter().filter(|c| c.class == class).count()
    }

    /// The most severe class, if anything changed.
    pub fn worst(&self) -> Option<ChangeClass> {
        self.changes.iter().map(|c| c.class).min()
    }

    /// The report as JSON; each remedy command also as the text to run.
    pub fn to_json(&self, invocation: &Invocation) -> String {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|change| {
                let mut value = serde_json::to_value(change).unwrap_or(Value::Null);
                if let Some(commands) = value.get_mut("commands").and_then(Value::as_array_mut) {
                    for (json, command) in commands.iter_mut().zip(&change.commands) {
                        json["text"] = Value::from(command.display(invocation));
                    }
                }
                value
            })
            .collect();
        let report = serde_json::json!({
            "changes": changes,
            "blocking": self.is_blocking(),
        });
        let mut text = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    }

    /// The report for people.
    pub fn render(&self, invocation: &Invocation) -> String {
        let mut out = String::new();
        for change in &self.changes {
            let field = if change.field.is_empty() {
                String::new()
            } else {
                format!(" {}", change.field)
            };
            let _ = writeln!(
                out,
                "{:<8} {}{field}: {}",
                change.class.as_str(),
                change.object,
                change.message
            );
            if let Some(remedy) = &change.remedy {
                let _ = writeln!(out, "         remedy: {remedy}");
            }
            for command in &change.commands {
                let _ = writeln!(out, "         run:    {}", command.display(invocation));
            }
        }
        let (r, u, s) = (
            self.count(ChangeClass::Rejected),
            self.count(ChangeClass::Unsafe),
            self.count(ChangeClass::Safe),
        );
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        } else {
            let _ = writeln!(
                out,
                "{} change(s): {r} rejected, {u} unsafe, {s} safe",
                self.changes.len()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;

    /// Every preset and every spec fixture, each as written and with a change to one file:
    /// the shortcuts of [`diff_dir`] answer what reading every file and comparing gives.
    #[test]
    fn a_directory_diff_answers_what_parsing_every_file_does() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut requests: Vec<Request> = crate::preset::Preset::names()
            .into_iter()
            .map(|name| Request {
                preset: Some(name.to_owned()),
                ..Request::default()
            })
            .collect();
        for entry in std::fs::read_dir(format!("{root}/tests/fixtures/specs")).expect("fixtures") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a fixture");
            requests.push(Request::from_text(path.display().to_string(), text));
        }
        let dir = std::env::temp_dir().join(format!("tdgen-diff-dir-{}", std::process::id()));
        for request in requests {
            let _ = std::fs::remove_dir_all(&dir);
            let what = format!("{:?} {:?}", request.preset, request.file.as_ref().map(|f| &f.name));
            let checked = crate::check(&request).unwrap_or_else(|r| panic!("{what}: {r:?}"));
            let manifests = crate::build::build(&Blueprint::new(&checked.valid));
            manifests.write_dir(&dir).expect("written");
            let files = manifests.files().expect("files");
            assert!(holds_exactly(&dir, &files), "{what}");
            let parsed = read_previous(&dir, false).expect("readable");
            assert!(diff(&parsed, &checked.valid).changes.is_empty(), "{what}");
            let known = read(&dir, false, Some(&Render::new(&manifests, files.clone()))).expect("readable");
            assert_eq!(known.objects(), parsed.objects(), "{what}");

            // Another time zone changes the StatefulSet's file alone.
            let mut changed = request.clone();
            changed.sets.push("spec.timezone=America/Lima".into());
            let changed = crate::check(&changed).unwrap_or_else(|r| panic!("{what}: {r:?}"));
            let report = diff_dir(&dir, &changed.valid).expect("readable");
            assert!(!report.changes.is_empty(), "{what}");
            assert_eq!(report, diff(&parsed, &changed.valid), "{what}");

            // A manifest the render does not write is read, not overlooked.
            std::fs::write(dir.join("extra.yaml"), "kind: ConfigMap\nmetadata: {name: extra}\n").expect("written");
            assert!(!holds_exactly(&dir, &files), "{what}");
            let report = diff_dir(&dir, &checked.valid).expect("readable");
            assert_eq!(
                report,
                diff(&read_previous(&dir, false).expect("readable"), &checked.valid),
                "{what}"
            );
            assert!(!report.changes.is_empty(), "{what}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
