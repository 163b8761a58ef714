//! The diff oracle: every row of the diff table (`tests/fixtures/diffs/`), from its base to its
//! change and back, done to the real API server as a GitOps tool does it — the old render
//! applied server-side, then the new one, then every object the new render no longer has
//! deleted (a prune) — and compared with a fresh install of the new render in a namespace of
//! its own. `tdgen diff`'s report must agree with what the server did:
//!
//! - an object the server refuses has a `rejected` change that quotes the refusal (or an `unsafe`
//!   one that does: a change the server refuses only in some states of the cluster, such as
//!   growing a claim that is not bound yet), and every `rejected` change is an object the server
//!   refused, in words one of its quotes has;
//! - when the upgraded objects differ from the fresh install, the change is not `safe`.
//!
//! Rows whose new spec is invalid never reach the server: tdgen refuses them first.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

// The table's `reason` and `says` are for the integration tests.
#[allow(dead_code)]
#[path = "../diff_table.rs"]
mod diff_table;

use crate::ensure;
use crate::renders::apply_quietly;
use crate::server::{Env, Outcome, Ran, resource};
use crate::tier::Scenario;
use diff_table::{Row, merged};

/// One scenario per valid row and direction.
pub fn all() -> Vec<Scenario<Env>> {
    let mut all = Vec::new();
    for (index, row) in diff_table::rows().into_iter().enumerate() {
        if row.class().is_none() {
            continue;
        }
        let row = std::sync::Arc::new(row);
        for reverse in [false, true] {
            let row = row.clone();
            let name = format!("oracle-{}{}", file_stem(&row), if reverse { "-reverse" } else { "" });
            all.push(Scenario::new(name.clone(), move |env: &Env, _| {
                oracle(env, &name, index, &row, reverse)
            }));
        }
    }
    all
}

/// The row's fixture name (the field path, with `-2` for a second row of one field).
fn file_stem(row: &Row) -> String {
    row.file.clone()
}

/// The spec text with `metadata.namespace` replaced by `<prefix>-<old value or "unset">`, so
/// that each case has namespaces of its own and a namespace change stays a change.
/// `spec.monitoring.namespace`, when set, gets the prefix too.
fn pinned(spec: &str, prefix: &str) -> Result<String, String> {
    let mut value: Value = serde_saphyr::from_str(spec).map_err(|e| e.to_string())?;
    let old = value["metadata"]["namespace"].as_str().unwrap_or("unset").to_owned();
    value["metadata"]["namespace"] = Value::from(format!("{prefix}-{old}"));
    if let Some(monitoring) = value["spec"]["monitoring"]["namespace"].as_str().map(str::to_owned) {
        value["spec"]["monitoring"]["namespace"] = Value::from(format!("{prefix}-{monitoring}"));
    }
    serde_json::to_string(&value).map_err(|e| e.to_string())
}

/// The namespace a pinned spec names.
fn namespace_of(spec: &str) -> String {
    let value: Value = serde_saphyr::from_str(spec).unwrap_or_default();
    value["metadata"]["namespace"].as_str().unwrap_or_default().to_owned()
}

/// Every namespace a pinned spec puts objects in: the cluster's, and the monitoring's.
fn namespaces_of(spec: &str) -> Vec<String> {
    let value: Value = serde_saphyr::from_str(spec).unwrap_or_default();
    let monitoring = value["spec"]["monitoring"]["namespace"].as_str().map(str::to_owned);
    std::iter::once(namespace_of(spec)).chain(monitoring).collect()
}

/// The live objects of `kinds` in every namespace of `spec`.
fn live_objects(env: &Env, spec: &str, kinds: &[String]) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    for namespace in namespaces_of(spec) {
        all.extend(env.objects(&namespace, kinds)?);
    }
    Ok(all)
}

/// Render a spec file as a JSON list's items.
fn render(env: &Env, dir: &Path, file: &str) -> Result<Vec<Value>, String> {
    let rendered = env.tdgen(&["render", "-f", file, "-o", "json"], dir);
    let list: Value = serde_json::from_str(&rendered.ok()?.stdout).map_err(|e| e.to_string())?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    std::fs::write(
        dir.join(file.replace(".yaml", ".json")),
        serde_json::to_string(&list).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    Ok(items)
}

/// `Kind/name`, as `tdgen diff` names objects.
fn key(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// What the server said about one object when it refused it: kubectl's line for it (`The
/// StatefulSet "td" is invalid: …`, or `Error from server (…): … persistentvolumeclaims "td" is
/// forbidden: …`).
fn refusal(applied: &Ran, object: &Value) -> Option<String> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let plural = format!("{}s \"{name}\"", kind.to_lowercase());
    let named = format!("{kind} \"{name}\"");
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| format!("{kind}.{g} \"{name}\""))
        .unwrap_or_else(|| named.clone());
    applied
        .stderr
        .lines()
        .find(|l| {
            (l.starts_with("The ") || l.starts_with("Error from server"))
                && (l.contains(&named) || l.contains(&group) || l.contains(&plural))
        })
        .map(str::to_owned)
}

/// A live object as the comparison sees it: the render's part of it (labels, annotations,
/// spec, data), without what the server allocates (cluster IPs, a Job's generated selector),
/// and with the case's namespace prefix replaced by a placeholder.
fn comparable(mut object: Value, prefix: &str) -> Value {
    let metadata = object["metadata"].clone();
    if let Some(map) = object.as_object_mut() {
        map.retain(|k, _| ["spec", "data", "kind"].contains(&k.as_str()));
        map.insert(
            "metadata".into(),
            serde_json::json!({"labels": metadata["labels"], "annotations": metadata["annotations"]}),
        );
    }
    if object["kind"] == "Service"
        && let Some(spec) = object["spec"].as_object_mut()
    {
        if spec.get("clusterIP") != Some(&Value::from("None")) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        spec.remove("healthCheckNodePort");
        for port in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(port) = port.as_object_mut() {
                port.remove("nodePort");
            }
        }
    }
    if object["kind"] == "Job" {
        if let Some(spec) = object["spec"].as_object_mut() {
            spec.remove("selector");
        }
        for labels in ["/metadata/labels", "/spec/template/metadata/labels"] {
            if let Some(map) = object.pointer_mut(labels).and_then(Value::as_object_mut) {
                map.retain(|k, _| !k.contains("controller-uid") && !k.ends_with("job-name"));
            }
        }
    }
    let text = serde_json::to_string(&object)
        .unwrap_or_default()
        .replace(prefix, "PREFIX");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The JSON paths where two values differ.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                differences(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        (x, y) if x == y => {}
        (x, y) => out.push(format!("{path}: {x} ≠ {y}")),
    }
}

fn oracle(env: &Env, name: &str, index: usize, row: &Row, reverse: bool) -> Outcome {
    let dir = env.scratch(name)?;
    let (base, changed) = (row.base(), merged(&row.base(), &row.change));
    let (from, to) = if reverse { (changed, base) } else { (base, changed) };
    // Prefixes of one length, so that names built from the namespace keep their length.
    let tag = format!("{index:03}{}", if reverse { "r" } else { "f" });
    let (up, fresh) = (format!("o{tag}u"), format!("o{tag}n"));
    let write = |file: &str, text: String| std::fs::write(dir.join(file), text).map_err(|e| e.to_string());
    write("from.yaml", pinned(&from, &up)?)?;
    write("to.yaml", pinned(&to, &up)?)?;
    write("fresh.yaml", pinned(&to, &fresh)?)?;
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    for file in ["from.yaml", "to.yaml", "fresh.yaml"] {
        for namespace in namespaces_of(&read(file)) {
            env.namespace(&namespace, &[])?;
        }
    }
    let old = render(env, &dir, "from.yaml")?;
    let new = render(env, &dir, "to.yaml")?;
    render(env, &dir, "fresh.yaml")?;
    env.tdgen(&["render", "-f", "from.yaml", "--output-dir", "previous"], &dir)
        .ok()?;
    let report = env.tdgen(
        &["diff", "--previous", "previous", "-f", "to.yaml", "--format", "json"],
        &dir,
    );
    ensure!(
        matches!(report.code, Some(0 | 3)),
        "tdgen diff failed: {}",
        report.said()
    );
    let report: Value = serde_json::from_str(&report.stdout).map_err(|e| e.to_string())?;
    let changes = report["changes"].as_array().cloned().unwrap_or_default();
    let classes = |object: &str| -> Vec<(String, String)> {
        changes
            .iter()
            .filter(|c| c["object"] == object)
            .map(|c| {
                (
                    c["class"].as_str().unwrap_or_default().to_owned(),
                    c["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };

    apply_quietly(env, &["-f", &dir.join("from.json").display().to_string()])?;
    let applied = env.kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager=tdgen",
            "-f",
            &dir.join("to.json").display().to_string(),
        ],
        None,
    );
    std::fs::write(dir.join("applied.txt"), applied.said()).map_err(|e| e.to_string())?;
    let refused: BTreeMap<String, String> = new
        .iter()
        .filter_map(|o| refusal(&applied, o).map(|r| (key(o), r)))
        .collect();
    ensure!(
        applied.code == Some(0) || !refused.is_empty(),
        "the apply failed, but not on an object of the render: {}",
        applied.said()
    );
    for (object, said) in &refused {
        let ours = classes(object);
        let agrees = ours
            .iter()
            .any(|(class, message)| (class == "rejected" || class == "unsafe") && quotes_hold(message, said));
        ensure!(
            agrees,
            "the server refused {object}:\n  {said}\nbut tdgen diff says {ours:?}"
        );
    }
    for change in changes.iter().filter(|c| c["class"] == "rejected") {
        let object = change["object"].as_str().unwrap_or_default();
        let said = refused.get(object);
        ensure!(
            said.is_some(),
            "tdgen diff says {object} is rejected ({}), but the server accepted it",
            change["message"]
        );
        let message = change["message"].as_str().unwrap_or_default();
        ensure!(
            quotes_hold(message, said.map(String::as_str).unwrap_or_default()),
            "tdgen quotes the server as {message:?}; it answered {said:?}"
        );
    }
    if !refused.is_empty() {
        return Ok(());
    }
    // The prune: what the old render had and the new one has not (in that namespace).
    let same = |a: &Value, b: &Value| key(a) == key(b) && a["metadata"]["namespace"] == b["metadata"]["namespace"];
    for object in old.iter().filter(|o| !new.iter().any(|n| same(n, o))) {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        env.kubectl(
            &["delete", &resource(object), name, "-n", namespace, "--wait=false"],
            None,
        )
        .ok()?;
    }
    apply_quietly(env, &["-f", &dir.join("fresh.json").display().to_string()])?;
    let kinds: Vec<String> = {
        let mut kinds: Vec<String> = new.iter().map(resource).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    };
    let upgraded = live_objects(env, &read("to.yaml"), &kinds)?;
    let installed = live_objects(env, &read("fresh.yaml"), &kinds)?;
    let mut differ = Vec::new();
    for object in &new {
        let find = |live: &[Value]| live.iter().find(|l| key(l) == key(object)).cloned();
        let (Some(a), Some(b)) = (find(&upgraded), find(&installed)) else {
            differ.push(format!("{}: missing after the upgrade or the install", key(object)));
            continue;
        };
        let mut paths = Vec::new();
        differences(&comparable(a, &up), &comparable(b, &fresh), "", &mut paths);
        differ.extend(paths.into_iter().map(|p| format!("{} {p}", key(object))));
    }
    let worst = changes
        .iter()
        .filter_map(|c| c["class"].as_str())
        .min_by_key(|c| ["rejected", "unsafe", "safe"].iter().position(|x| x == c));
    ensure!(
        differ.is_empty() || matches!(worst, Some("rejected" | "unsafe")),
        "tdgen diff calls this safe, but the upgraded objects differ from a fresh install:\n  {}",
        differ.join("\n  ")
    );
    Ok(())
}

/// The server's words a message quotes: every `` `…` `` after "answers".
fn quotes(message: &str) -> Vec<&str> {
    message
        .split("answers `")
        .skip(1)
        .filter_map(|rest| rest.split('`').next())
        .collect()
}

/// Whether one of a message's quotes is what the server said (`…` stands for any text).
pub fn quotes_hold(message: &str, said: &str) -> bool {
    quotes(message).iter().any(|quote| {
        quote
            .split('…')
            .map(str::trim)
            .filter(|piece| !piece.is_empty())
            .all(|piece| said.contains(piece))
    })
}
