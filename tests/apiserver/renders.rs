//! Every render tdgen ships or documents, applied to the real API server: server-side apply with
//! no warning, then `kubectl diff --server-side` empty (no drift), as a stream, as an
//! `--output-dir` through `-k` and through plain `-f DIR`; a fleet tree through `-k` and
//! `-f DIR --recursive`. Each preset's Pod Security level as the server judges it, against the
//! README's table; then enforced, with the controllers creating the Pods and PVCs the runbooks
//! select by name and label.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::ensure;
use crate::server::{Env, Outcome};
use crate::tier::Scenario;

/// A spec to apply: a preset, or a spec file's text.
#[derive(Debug, Clone)]
enum Input {
    Preset(String),
    Spec(String),
}

/// Every scenario of this file.
pub fn all() -> Vec<Scenario<Env>> {
    let mut all = Vec::new();
    for preset in presets() {
        let input = Input::Preset(preset.clone());
        all.push(Scenario::new(format!("apply-preset-{preset}"), move |env: &Env, _| {
            applies_clean(env, &format!("apply-preset-{preset}"), &input)
        }));
    }
    for preset in presets() {
        all.push(Scenario::new(format!("pod-security-{preset}"), move |env: &Env, _| {
            pod_security(env, &preset)
        }));
    }
    all.push(Scenario::new("pod-security-hardened-profile", |env: &Env, _| {
        hardened(env)
    }));
    for (name, text) in fixtures().into_iter().chain(examples()) {
        let input = Input::Spec(text);
        let scenario = format!("apply-{name}");
        all.push(Scenario::new(scenario.clone(), move |env: &Env, _| {
            applies_clean(env, &scenario, &input)
        }));
    }
    all.push(Scenario::new("apply-fleet-tree", |env: &Env, _| fleet(env)));
    all
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The built-in presets, as `tdgen presets` lists them.
fn presets() -> Vec<String> {
    tdgen::Preset::names().into_iter().map(str::to_owned).collect()
}

/// `tests/fixtures/specs/*.yaml`: (scenario name, text).
fn fixtures() -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures/specs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            (
                format!("fixture-{stem}"),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect()
}

/// Every spec the README and the manual show in a YAML block: (scenario name, text).
fn examples() -> Vec<(String, String)> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs/src"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    docs.sort();
    pages.extend(docs);
    let mut out = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        let stem = page
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_lowercase();
        let mut block: Option<(usize, String)> = None;
        for (number, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim() == "```yaml" => block = Some((number + 1, String::new())),
                Some((start, body)) if line.trim() == "```" => {
                    if body.contains("kind: TDengineCluster") && body.starts_with("apiVersion:") {
                        out.push((format!("example-{stem}-line-{start}"), body.clone()));
                    }
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {}
            }
        }
    }
    out
}

/// A Kubernetes name for a scenario's namespace.
pub fn namespace_for(scenario: &str) -> String {
    let mut name: String = scenario
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

/// Render `input` pinned to `namespace`: the stream's path, and the `--output-dir`'s.
fn render(env: &Env, dir: &Path, input: &Input, namespace: &str) -> Result<(), String> {
    let mut args: Vec<&str> = vec!["render", "-n", namespace];
    match input {
        Input::Preset(name) => args.extend(["--preset", name.as_str()]),
        Input::Spec(text) => {
            std::fs::write(dir.join("spec.yaml"), text).map_err(|e| e.to_string())?;
            args.extend(["-f", "spec.yaml"]);
        }
    }
    let stream = env.tdgen(&args, dir);
    stream.ok()?;
    std::fs::write(dir.join("stream.yaml"), &stream.stdout).map_err(|e| e.to_string())?;
    args.extend(["--output-dir", "out"]);
    env.tdgen(&args, dir).ok()?;
    Ok(())
}

/// `kubectl apply --server-side` exits 0 and warns of nothing.
pub fn apply_quietly(env: &Env, args: &[&str]) -> Outcome {
    let mut all = vec!["apply", "--server-side", "--field-manager=tdgen"];
    all.extend(args);
    let applied = env.kubectl(&all, None);
    applied.ok()?;
    ensure!(
        applied.stderr.trim().is_empty(),
        "the server warned:\n{}",
        applied.said()
    );
    Ok(())
}

/// `kubectl diff --server-side` exits 0 and prints nothing: the live objects are the render.
/// kubectl diff shows `status` too, which the controllers may update between its read and its
/// dry run; a difference must persist over a few tries to be drift.
pub fn no_drift(env: &Env, args: &[&str]) -> Outcome {
    let mut all = vec!["diff", "--server-side", "--field-manager=tdgen"];
    all.extend(args);
    let mut diffed = env.kubectl(&all, None);
    for _ in 0..4 {
        if diffed.code == Some(0) && diffed.stdout.is_empty() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
        diffed = env.kubectl(&all, None);
    }
    ensure!(
        diffed.code == Some(0) && diffed.stdout.is_empty(),
        "drift after apply:\n{}",
        diffed.said()
    );
    Ok(())
}

fn applies_clean(env: &Env, scenario: &str, input: &Input) -> Outcome {
    let dir = env.scratch(scenario)?;
    let namespace = namespace_for(scenario);
    env.namespace(&namespace, &[])?;
    render(env, &dir, input, &namespace)?;
    // Objects a spec puts in a namespace of their own (spec.monitoring.namespace) need it.
    for other in namespaces_in(&dir.join("stream.yaml"))? {
        env.namespace(&other, &[])?;
    }
    let (stream, out) = (dir.join("stream.yaml"), dir.join("out"));
    let (stream, out) = (stream.display().to_string(), out.display().to_string());
    apply_quietly(env, &["-f", &stream])?;
    no_drift(env, &["-f", &stream])?;
    // The --output-dir holds the same objects: through kustomize and as plain files.
    no_drift(env, &["-k", &out])?;
    no_drift(env, &["-f", &out])?;
    apply_quietly(env, &["-f", &out])?;
    apply_quietly(env, &["-k", &out])?;
    no_drift(env, &["-f", &stream])
}

/// Every namespace the objects of a rendered stream name.
fn namespaces_in(stream: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(stream).map_err(|e| e.to_string())?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| e.to_string())?;
    Ok(documents
        .iter()
        .filter_map(|d| d["metadata"]["namespace"].as_str().map(str::to_owned))
        .collect())
}

/// The fleet of the manual's example (`docs/src/fleets.md`): two clusters in their namespaces,
/// rendered as a tree with a top-level kustomization.
fn fleet(env: &Env) -> Outcome {
    let dir = env.scratch("apply-fleet-tree")?;
    for (namespace, preset) in [("fleet-prod", "ha"), ("fleet-dev", "dev")] {
        let spec = format!(
            "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {{name: tsdb, namespace: {namespace}}}\nspec: {{preset: {preset}}}\n"
        );
        std::fs::create_dir_all(dir.join("clusters").join(namespace)).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("clusters").join(namespace).join("tsdb.yaml"), spec).map_err(|e| e.to_string())?;
        env.namespace(namespace, &[])?;
    }
    env.tdgen(&["render", "-f", "clusters", "--output-dir", "fleet"], &dir)
        .ok()?;
    let tree = dir.join("fleet").display().to_string();
    apply_quietly(env, &["-k", &tree])?;
    no_drift(env, &["-k", &tree])?;
    no_drift(env, &["-f", &tree, "--recursive"])?;
    apply_quietly(env, &["-f", &tree, "--recursive"])?;
    no_drift(env, &["-k", &tree])
}

/// The Pod Security levels, strictest first.
const LEVELS: [&str; 3] = ["restricted", "baseline", "privileged"];

/// The strictest level under which the server admits `object` without a warning.
fn level_of(env: &Env, namespace_base: &str, object: &Value) -> Result<&'static str, String> {
    for level in &LEVELS[..2] {
        let namespace = format!("{namespace_base}-{level}");
        let mut object = object.clone();
        if let Some(metadata) = object["metadata"].as_object_mut() {
            metadata.remove("namespace");
        }
        let text = serde_json::to_string(&object).map_err(|e| e.to_string())?;
        let dry = env.kubectl(
            &[
                "apply",
                "--server-side",
                "--field-manager=tdgen",
                "--dry-run=server",
                "-n",
                &namespace,
                "-f",
                "-",
            ],
            Some(&text),
        );
        dry.ok()?;
        if !dry.stderr.contains("would violate PodSecurity") {
            return Ok(level);
        }
    }
    Ok(LEVELS[2])
}

/// The README's Pod Security table: the row of `preset` (`| `name` | level | level | … |`).
fn readme_levels(preset: &str) -> Result<Vec<String>, String> {
    let readme = std::fs::read_to_string(root().join("README.md")).map_err(|e| e.to_string())?;
    let row = readme
        .lines()
        .find(|l| l.starts_with(&format!("| `{preset}` |")))
        .ok_or_else(|| format!("the README's Pod Security table has no row for `{preset}`"))?;
    Ok(row
        .split('|')
        .skip(2)
        .map(|cell| cell.trim().trim_matches('*').to_owned())
        .filter(|cell| !cell.is_empty())
        .collect())
}

/// The preset's workloads judged by the server's Pod Security admission, against the README;
/// then the namespace enforces the preset's level and the controllers create the pods, with the
/// names and labels the runbooks use.
fn pod_security(env: &Env, preset: &str) -> Outcome {
    let scenario = format!("pod-security-{preset}");
    let dir = env.scratch(&scenario)?;
    let base = namespace_for(&scenario);
    for level in &LEVELS[..2] {
        env.namespace(
            &format!("{base}-{level}"),
            &[&format!("pod-security.kubernetes.io/warn={level}")],
        )?;
    }
    let stream = env.tdgen(&["render", "--preset", preset, "-o", "json"], &dir);
    let list: Value = serde_json::from_str(&stream.ok()?.stdout).map_err(|e| e.to_string())?;
    let objects = list["items"].as_array().cloned().unwrap_or_default();
    let mut judged = Vec::new();
    for kind in ["StatefulSet", "Job", "CronJob"] {
        let level = match objects.iter().find(|o| o["kind"] == kind) {
            Some(object) => level_of(env, &base, object)?,
            None => "—",
        };
        judged.push(level.to_owned());
    }
    let namespace_level = LEVELS
        .iter()
        .rev()
        .find(|l| judged.iter().any(|j| j == *l))
        .copied()
        .unwrap_or("restricted");
    let mut said = vec![namespace_level.to_owned()];
    said.extend(judged.iter().cloned());
    let readme = readme_levels(preset)?;
    ensure!(
        readme.get(..4) == Some(&said[..]),
        "the server judges `{preset}` (namespace, StatefulSet, Job, CronJob) = {said:?}; the README says {readme:?}"
    );
    enforced(env, preset, &format!("{base}-enforced"), namespace_level, &dir)
}

/// The README's promise: with `security.profile: hardened`, the dnodes are `restricted` too.
fn hardened(env: &Env) -> Outcome {
    let scenario = "pod-security-hardened-profile";
    let dir = env.scratch(scenario)?;
    let base = namespace_for(scenario);
    for level in &LEVELS[..2] {
        env.namespace(
            &format!("{base}-{level}"),
            &[&format!("pod-security.kubernetes.io/warn={level}")],
        )?;
    }
    let rendered = env.tdgen(
        &[
            "render",
            "--preset",
            "production",
            "--set",
            "spec.security.profile=hardened",
            "-o",
            "json",
        ],
        &dir,
    );
    let list: Value = serde_json::from_str(&rendered.ok()?.stdout).map_err(|e| e.to_string())?;
    for object in list["items"].as_array().into_iter().flatten() {
        if ["StatefulSet", "Job", "CronJob"].contains(&object["kind"].as_str().unwrap_or_default()) {
            let level = level_of(env, &base, object)?;
            ensure!(level == "restricted", "{} is only {level}", object["kind"]);
        }
    }
    Ok(())
}

/// Under `enforce=<level>`, the controllers create the pods (Pending: there is no scheduler),
/// named `<sts>-<ordinal>`, and their claims `<template>-<sts>-<ordinal>`; the runbooks' label
/// selectors pick exactly those.
fn enforced(env: &Env, preset: &str, namespace: &str, level: &str, dir: &Path) -> Outcome {
    env.namespace(namespace, &[&format!("pod-security.kubernetes.io/enforce={level}")])?;
    let rendered = env.tdgen(&["render", "--preset", preset, "-n", namespace, "-o", "json"], dir);
    let list: Value = serde_json::from_str(&rendered.ok()?.stdout).map_err(|e| e.to_string())?;
    let objects = list["items"].as_array().cloned().unwrap_or_default();
    std::fs::write(dir.join("enforced.json"), &rendered.stdout).map_err(|e| e.to_string())?;
    apply_quietly(env, &["-f", &dir.join("enforced.json").display().to_string()])?;
    let sts = objects
        .iter()
        .find(|o| o["kind"] == "StatefulSet")
        .ok_or("no StatefulSet")?;
    let name = sts["metadata"]["name"].as_str().unwrap_or_default();
    let replicas = sts["spec"]["replicas"].as_u64().unwrap_or(1);
    // OrderedReady creates ordinal 0 and waits for it to be Ready, which a Pending pod never is.
    let created = if sts["spec"]["podManagementPolicy"] == "Parallel" {
        replicas
    } else {
        1
    };
    let pods: BTreeSet<String> = (0..created).map(|i| format!("{name}-{i}")).collect();
    let claims: BTreeSet<String> = sts["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["metadata"]["name"].as_str())
        .flat_map(|t| pods.iter().map(move |p| format!("{t}-{p}")))
        .collect();
    let names = |kind: &str, selector: Option<&str>| -> BTreeSet<String> {
        let mut args = vec!["get", kind, "-n", namespace, "-o", "name"];
        if let Some(selector) = selector {
            args.extend(["-l", selector]);
        }
        env.kubectl(&args, None)
            .stdout
            .lines()
            .filter_map(|l| l.split_once('/').map(|(_, n)| n.to_owned()))
            .collect()
    };
    let job_pods = || names("pods", Some("batch.kubernetes.io/job-name"));
    let jobs = objects.iter().filter(|o| o["kind"] == "Job").count();
    let waited = env.wait_for(
        &format!("the controllers create {pods:?}, {claims:?} and {jobs} Job pod(s)"),
        Duration::from_secs(90),
        || {
            let all = names("pods", None);
            pods.iter().all(|p| all.contains(p)) && claims.is_subset(&names("pvc", None)) && job_pods().len() >= jobs
        },
    );
    if let Err(why) = waited {
        let events = env.kubectl(&["get", "events", "-n", namespace], None);
        return Err(format!("{why}\nevents:\n{}", events.stdout));
    }
    let teardown = env.tdgen(&["plan", "teardown", "--preset", preset, "-n", namespace], dir);
    let plan = teardown.ok()?.stdout.clone();
    let selector = |kind: &str| -> Result<String, String> {
        let marker = format!("kubectl get {kind} -n \"$NAMESPACE\" -l '");
        plan.split(&marker)
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .map(str::to_owned)
            .ok_or_else(|| format!("the teardown runbook selects no {kind} by label"))
    };
    let pvc_selector = selector("pvc")?;
    let all_pods = names("pods", None);
    let dnode_pods: BTreeSet<String> = all_pods.difference(&job_pods()).cloned().collect();
    let selected = names("pods", Some(&pvc_selector));
    ensure!(
        selected == dnode_pods && dnode_pods == pods,
        "`-l {pvc_selector}` picks pods {selected:?}; the StatefulSet's are {pods:?} (all: {all_pods:?})"
    );
    let selected = names("pvc", Some(&pvc_selector));
    ensure!(
        claims.is_subset(&selected),
        "the runbooks' `-l {pvc_selector}` picks claims {selected:?}, not all of {claims:?}"
    );
    Ok(())
}
