//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{EnvVar, Service};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tdgen::{Manifest, Manifests, Request};

/// Render a spec file through the library, failing the test on any error.
pub fn render_file(path: &Path) -> Manifests {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    render_request(&Request::from_text(path.display().to_string(), text))
}

/// Render a request, failing the test on any error.
pub fn render_request(request: &Request) -> Manifests {
    match tdgen::check(request) {
        Ok(checked) => tdgen::render(&checked.valid),
        Err(report) => panic!("spec invalid:\n{report}"),
    }
}

/// Render one preset alone.
pub fn render_preset(name: &str) -> Manifests {
    render_request(&Request {
        preset: Some(name.into()),
        ..Request::default()
    })
}

/// Parse `text` into `T`, failing on any field `T` does not know.
pub fn strict_parse<T: DeserializeOwned>(value: &Value) -> T {
    let mut unknown = Vec::new();
    let parsed: T = serde_ignored::deserialize(value, |path| unknown.push(path.to_string())).expect("typed parse");
    assert!(
        unknown.is_empty(),
        "fields the Kubernetes type does not know: {unknown:?}"
    );
    parsed
}

/// Read a YAML stream back document by document, as a YAML 1.1-aware reader sees it.
pub fn yaml_documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text).expect("the stream parses")
}

/// Parse every document back into its k8s-openapi type; assert nothing is unknown or dropped
/// and that the documents equal the library's typed objects exactly.
pub fn assert_parses_back(manifests: &Manifests, text: &str) {
    let documents = yaml_documents(text);
    assert_eq!(documents.len(), manifests.objects().len(), "one document per object");
    for (document, object) in documents.iter().zip(manifests.objects()) {
        let expected = serde_json::to_value(object).expect("object serialises");
        let reparsed = reparse(document);
        assert_eq!(&reparsed, document, "a field was dropped by the typed parse");
        assert_eq!(document, &expected, "the YAML does not read back as the object");
    }
}

/// Parse a document into the k8s-openapi type its `kind` names, strictly, and serialise it again.
pub fn reparse(document: &Value) -> Value {
    use k8s_openapi::api::{
        batch::v1::Job, core::v1::*, networking::v1::NetworkPolicy, policy::v1::PodDisruptionBudget,
    };
    match document["kind"].as_str() {
        Some("Service") => serde_json::to_value(strict_parse::<Service>(document)),
        Some("StatefulSet") => serde_json::to_value(strict_parse::<StatefulSet>(document)),
        Some("ServiceAccount") => serde_json::to_value(strict_parse::<ServiceAccount>(document)),
        Some("ConfigMap") => serde_json::to_value(strict_parse::<ConfigMap>(document)),
        Some("PodDisruptionBudget") => serde_json::to_value(strict_parse::<PodDisruptionBudget>(document)),
        Some("NetworkPolicy") => serde_json::to_value(strict_parse::<NetworkPolicy>(document)),
        Some("Job") => serde_json::to_value(strict_parse::<Job>(document)),
        other => panic!("unexpected kind {other:?}"),
    }
    .expect("reserialises")
}

/// The kubelet's `$(VAR)` expansion: references to variables defined *earlier* in the list
/// are replaced, `$$` becomes `$`, anything unresolved stays literal.
pub fn expand(value: &str, defined: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(close) = inner.find(')')
        {
            let name = &inner[..close];
            match defined.get(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The environment a container of pod `pod_name` in `namespace` ends up with.
pub fn kubelet_env(env: &[EnvVar], pod_name: &str, namespace: &str) -> BTreeMap<String, String> {
    let mut defined = BTreeMap::new();
    for var in env {
        let value = match (&var.value, &var.value_from) {
            (Some(value), None) => expand(value, &defined),
            (None, Some(from)) => match from.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                Some("metadata.name") => pod_name.to_owned(),
                Some("metadata.namespace") => namespace.to_owned(),
                other => panic!("unsupported fieldRef {other:?}"),
            },
            (None, None) => String::new(),
            other => panic!("env var {} has both value and valueFrom: {other:?}", var.name),
        };
        defined.insert(var.name.clone(), value);
    }
    defined
}

/// The StatefulSet's container env.
pub fn container_env(manifests: &Manifests) -> Vec<EnvVar> {
    let sts = manifests.statefulset().expect("a StatefulSet");
    let pod = sts
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec");
    pod.containers[0].env.clone().unwrap_or_default()
}

/// Services by name.
pub fn services(manifests: &Manifests) -> BTreeMap<String, Service> {
    manifests
        .objects()
        .iter()
        .filter_map(|o| match o {
            Manifest::Service(s) => Some((s.metadata.name.clone().unwrap_or_default(), s.clone())),
            _ => None,
        })
        .collect()
}

/// Every spec fixture and preset file, for corpus-wide properties.
pub fn all_inputs() -> Vec<(String, Manifests)> {
    let mut inputs: Vec<(String, Manifests)> = tdgen::Preset::all()
        .iter()
        .map(|p| (format!("preset {}", p.name), render_preset(p.name)))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    inputs.extend(
        files
            .into_iter()
            .map(|path| (path.display().to_string(), render_file(&path))),
    );
    inputs
}

/// A scratch directory with fake commands on PATH, for running generated scripts with bash.
pub struct Sandbox {
    /// The directory; fakes read and write their state here (`$FAKE`).
    pub dir: std::path::PathBuf,
}

impl Sandbox {
    /// A sandbox whose `bin/` holds `fakes` (name, bash text) and a no-op `sleep`.
    pub fn new(name: &str, fakes: &[(&str, &str)]) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("tdgen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).expect("sandbox");
        for (file, text) in fakes.iter().chain(&[("sleep", "#!/usr/bin/env bash\nexit 0\n")]) {
            write_executable(&dir.join("bin").join(file), text);
        }
        Sandbox { dir }
    }

    /// Write a state file.
    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).expect("state");
    }

    /// Run `script` with bash; returns the exit code, stdout+stderr, and the recorded calls.
    pub fn run(&self, script: &str, env: &[(&str, &str)]) -> (i32, String, Vec<String>) {
        let _ = std::fs::remove_file(self.dir.join("calls"));
        std::fs::write(self.dir.join("script.sh"), script).expect("script");
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = std::process::Command::new("bash")
            .arg(self.dir.join("script.sh"))
            .env("PATH", path)
            .env("FAKE", &self.dir)
            .envs(env.iter().copied())
            .output()
            .expect("bash runs");
        let calls = std::fs::read_to_string(self.dir.join("calls")).unwrap_or_default();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (
            output.status.code().unwrap_or(-1),
            log,
            calls.lines().map(str::to_owned).collect(),
        )
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
