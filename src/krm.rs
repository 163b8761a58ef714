//! tdgen as a KRM function (the KRM Functions Specification, `config.kubernetes.io/v1`): a
//! `ResourceList` in, with the spec as its `functionConfig`; a `ResourceList` out, with the
//! input's items, the cluster's objects after them, and every finding as a `result` (severity,
//! the spec field's path, the spec as `resourceRef`, its file when the orchestrator said).
//!
//! Source: `kubernetes-sigs/kustomize`, `cmd/config/docs/api-conventions/functions-spec.md`
//! (the `ResourceList` and `Result` schema, the internal annotations, exit codes).

use serde_json::{Map, Value, json};

use crate::error::{Finding, Severity};
use crate::layer::Request;
use crate::pipeline::{check, render};
use crate::spec;

/// The `apiVersion` tdgen writes (it also reads `v1beta1` and `v1alpha1` lists).
pub(crate) const API_VERSION: &str = "config.kubernetes.io/v1";
/// The list's kind.
pub const KIND: &str = "ResourceList";
/// Annotation prefixes an orchestrator adds to the function's config (`config.kubernetes.io/
/// function`, `…/local-config`, `internal.config.kubernetes.io/path`, …). They are about the
/// config object itself, so tdgen never copies them onto the objects it renders.
const ORCHESTRATOR_PREFIXES: [&str; 4] = [
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
];
/// Where the orchestrator says the config was read from (the internal annotation, then the
/// older one).
const PATH_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/path", "config.kubernetes.io/path"];

/// One run of the function: the `ResourceList` to print on stdout, and whether it succeeded
/// (exit 0) or not (exit non-zero, with the reasons in its `results`).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The output `ResourceList`, as YAML.
    pub output: String,
    /// Whether the function succeeded.
    pub success: bool,
}

/// The most bytes the function reads (as for every input).
pub const MAX_INPUT_BYTES: u64 = crate::input::MAX_INPUT_BYTES;

/// The `apiVersion`s of a `ResourceList` tdgen reads.
const READS: [&str; 3] = [
    API_VERSION,
    "config.kubernetes.io/v1beta1",
    "config.kubernetes.io/v1alpha1",
];

/// Run tdgen over the bytes a KRM function reads on stdin. Whatever they are (too large, not
/// UTF-8, not YAML), the answer is a `ResourceList`: an error is one of its `results`.
pub fn run_bytes(input: &[u8]) -> Outcome {
    let limit = MAX_INPUT_BYTES;
    if input.len() as u64 > limit {
        let message = format!(
            "the input is larger than {} MiB; tdgen reads at most that much",
            limit / (1024 * 1024)
        );
        return refused(API_VERSION, Vec::new(), vec![plain_error(&message)]);
    }
    match std::str::from_utf8(input) {
        Ok(text) => run(text),
        Err(e) => refused(
            API_VERSION,
            Vec::new(),
            vec![plain_error(&format!("the input is not UTF-8 text ({e})"))],
        ),
    }
}

/// Run tdgen over one `ResourceList` text (YAML or JSON).
pub fn run(input: &str) -> Outcome {
    let list = match crate::yaml::from_str::<Value>(input) {
        Ok(Value::Object(list)) => list,
        Ok(_) => {
            return refused(
                API_VERSION,
                Vec::new(),
                vec![plain_error("the input is not a ResourceList (a YAML mapping)")],
            );
        }
        Err(e) => {
            return refused(
                API_VERSION,
                Vec::new(),
                vec![plain_error(&format!("the input is not YAML: {}", e.message))],
            );
        }
    };
    let written = list.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let api_version = if READS.contains(&written) { written } else { API_VERSION }.to_owned();
    let items = match list.get("items") {
        Some(Value::Array(items)) => items.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return refused(&api_version, Vec::new(), vec![plain_error("`items` is not a list")]),
    };
    if list.get("kind").and_then(Value::as_str) != Some(KIND) || !READS.contains(&written) {
        let error = plain_error(&format!(
            "the input is not a ResourceList: tdgen krm reads a KRM function's input (apiVersion: {API_VERSION}, kind: {KIND}), not apiVersion `{written}`, kind `{}`",
            list.get("kind").and_then(Value::as_str).unwrap_or_default()
        ));
        return refused(&api_version, items, vec![error]);
    }
    let not_objects: Vec<Value> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.is_object())
        .map(|(i, item)| plain_error(&format!("items[{i}] is {}, not a Kubernetes object", describe(item))))
        .collect();
    if !not_objects.is_empty() {
        return refused(&api_version, items, not_objects);
    }
    let Some(config) = list.get("functionConfig").filter(|c| !c.is_null()) else {
        let error = plain_error(&format!(
            "there is no functionConfig: give the cluster's spec (apiVersion: {}, kind: {}) as the function's config",
            spec::API_VERSION,
            spec::KIND
        ));
        return refused(&api_version, items, vec![error]);
    };
    generate(&api_version, items, config)
}

/// Check the spec in `config` and append its objects to `items`.
fn generate(api_version: &str, items: Vec<Value>, config: &Value) -> Outcome {
    let subject = Subject::of(config);
    if config["apiVersion"] != spec::API_VERSION || config["kind"] != spec::KIND {
        let what = if config.is_object() {
            format!(
                "apiVersion `{}`, kind `{}`",
                text(&config["apiVersion"]),
                text(&config["kind"])
            )
        } else {
            describe(config)
        };
        let error = json!({
            "message": format!(
                "functionConfig is {what}, not a tdgen spec (apiVersion: {}, kind: {})",
                spec::API_VERSION, spec::KIND
            ),
            "severity": "error",
            "resourceRef": subject.reference,
        });
        return refused(api_version, items, vec![error]);
    }
    let spec_text = match crate::yaml::to_string(&without_orchestrator_annotations(config)) {
        Ok(text) => text,
        Err(message) => return refused(api_version, items, vec![plain_error(&message)]),
    };
    let request = Request::from_text(
        subject.file.clone().unwrap_or_else(|| "functionConfig".into()),
        spec_text,
    );
    match check(&request) {
        Ok(checked) => {
            let mut results: Vec<Value> = checked.report.findings.iter().map(|f| subject.result(f)).collect();
            let objects: Vec<Value> = render(&checked.valid)
                .into_objects()
                .iter()
                .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                .collect();
            // The function owns what it generated on an earlier run (a package re-rendered):
            // those items are replaced. Any other item with a generated object's identity is
            // a collision the function refuses.
            let namespace = checked.valid.namespace.as_deref();
            let (_earlier, mut items): (Vec<Value>, Vec<Value>) = items
                .into_iter()
                .partition(|item| generated_by(item, &checked.valid.name, namespace));
            for item in &items {
                if let Some(object) = objects.iter().find(|o| identity(o) == identity(item)) {
                    let (kind, name) = (text(&object["kind"]), text(&object["metadata"]["name"]));
                    results.push(json!({
                        "message": format!("the input already has {kind}/{name}, which this spec generates; remove it from the package, or rename the cluster (metadata.name)"),
                        "severity": "error",
                        "resourceRef": subject.reference,
                    }));
                }
            }
            if results.iter().any(|r| r["severity"] == "error") {
                return refused(api_version, items, results);
            }
            items.extend(objects);
            answer(api_version, items, results, true)
        }
        Err(report) => {
            let results = report.findings.iter().map(|f| subject.result(f)).collect();
            refused(api_version, items, results)
        }
    }
}

/// The spec a result is about: its `resourceRef`, and its file when the orchestrator gave one.
struct Subject {
    reference: Value,
    file: Option<String>,
}

impl Subject {
    fn of(config: &Value) -> Subject {
        let metadata = &config["metadata"];
        let mut reference = json!({
            "apiVersion": text(&config["apiVersion"]),
            "kind": text(&config["kind"]),
            "name": text(&metadata["name"]),
        });
        if let Some(namespace) = metadata["namespace"].as_str() {
            reference["namespace"] = namespace.into();
        }
        let file = PATH_ANNOTATIONS
            .iter()
            .find_map(|a| metadata["annotations"][*a].as_str())
            .map(str::to_owned);
        Subject { reference, file }
    }

    /// A finding as a KRM result: the code in its tags, the help after the message.
    fn result(&self, finding: &Finding) -> Value {
        let message = match &finding.help {
            Some(help) => format!("{} (help: {help})", finding.message),
            None => finding.message.clone(),
        };
        let mut result = json!({
            "message": message,
            "severity": severity(finding.severity),
            "resourceRef": self.reference,
            "tags": { "tdgen.io/code": finding.code },
        });
        if !finding.path.is_empty() {
            result["field"] = json!({ "path": finding.path });
        }
        if let Some(file) = &self.file {
            result["file"] = json!({ "path": file });
        }
        result
    }
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "info",
    }
}

/// The config without the annotations the orchestrator added to it.
fn without_orchestrator_annotations(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(annotations) = config["metadata"]["annotations"].as_object_mut() {
        annotations.retain(|key, _| !ORCHESTRATOR_PREFIXES.iter().any(|p| key.starts_with(p)));
        if annotations.is_empty()
            && let Some(metadata) = config["metadata"].as_object_mut()
        {
            metadata.remove("annotations");
        }
    }
    config
}

/// An object tdgen generated for cluster `name` in `namespace` (its managed-by and instance
/// labels).
fn generated_by(item: &Value, name: &str, namespace: Option<&str>) -> bool {
    let labels = &item["metadata"]["labels"];
    labels["app.kubernetes.io/managed-by"] == "tdgen"
        && labels["app.kubernetes.io/instance"] == name
        && item["metadata"]["namespace"].as_str() == namespace
}

/// What the API server tells objects apart by (the group, not the version, counts).
fn identity(object: &Value) -> (String, String, String, String) {
    let api_version = text(&object["apiVersion"]);
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group).to_owned();
    (
        group,
        text(&object["kind"]),
        text(&object["metadata"]["namespace"]),
        text(&object["metadata"]["name"]),
    )
}

/// A value that is not an object, in words.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ({})", json!(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// An error about the input as a whole (no field, no resource).
fn plain_error(message: &str) -> Value {
    json!({ "message": message, "severity": "error" })
}

/// A failed run: the items as they came, and why.
fn refused(api_version: &str, items: Vec<Value>, results: Vec<Value>) -> Outcome {
    answer(api_version, items, results, false)
}

fn answer(api_version: &str, items: Vec<Value>, results: Vec<Value>, success: bool) -> Outcome {
    let mut list = Map::new();
    list.insert("apiVersion".into(), api_version.into());
    list.insert("kind".into(), KIND.into());
    list.insert("items".into(), items.into());
    if !results.is_empty() {
        list.insert("results".into(), results.into());
    }
    let output = crate::yaml::to_string(&Value::Object(list)).unwrap_or_else(|message| {
        // Values read from YAML always write back; this keeps the function's promise anyway.
        format!(
            "apiVersion: {api_version}\nkind: {KIND}\nitems: []\nresults:\n- message: {}\n  severity: error\n",
            json!(message)
        )
    });
    Outcome { output, success }
}
