//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{EnvVar, Service};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tdgen::{Manifest, Manifests, Request};

#[path = "../kubelet.rs"]
mod kubelet;

/// The repository's top level (the tests belong to the `cli/` package, which runs the binary).
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Three ready dnodes (id, ordinal, status), as a healthy 3-dnode cluster registers them.
pub const THREE_READY: [(u32, u32, &str); 3] = [(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready")];
/// Three mnodes on the first three dnodes (dnode id, role).
pub const THREE_MNODES: [(u32, &str); 3] = [(1, "leader"), (2, "follower"), (3, "follower")];

/// The envelope every spec given as input carries.
pub const ENVELOPE: &str = "apiVersion: tdgen/v1\nkind: TDengineCluster\n";

/// A spec text: the envelope (unless `body` already starts a spec with it), then `body`.
pub fn spec(body: &str) -> String {
    if body.lines().any(|l| l.starts_with("apiVersion:")) {
        body.to_owned()
    } else {
        format!("{ENVELOPE}{body}")
    }
}

/// A request for the spec `body` (the envelope added).
pub fn request(body: &str) -> Request {
    Request::from_text("s.yaml", spec(body))
}

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
/// The script `key` (`backup.sh`, `mnode-bootstrap.sh`, …) of the ConfigMap that carries it
/// in the render of `spec`.
pub fn rendered_script(spec: &tdgen::ValidSpec, key: &str) -> String {
    tdgen::render(spec)
        .of_kind("ConfigMap")
        .find_map(|m| match m {
            Manifest::ConfigMap(c) => c.data.as_ref()?.get(key).cloned(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ConfigMap carries {key}"))
}

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
        batch::v1::{CronJob, Job},
        core::v1::*,
        networking::v1::NetworkPolicy,
        policy::v1::PodDisruptionBudget,
    };
    match document["kind"].as_str() {
        Some("Service") => serde_json::to_value(strict_parse::<Service>(document)),
        Some("StatefulSet") => serde_json::to_value(strict_parse::<StatefulSet>(document)),
        Some("ServiceAccount") => serde_json::to_value(strict_parse::<ServiceAccount>(document)),
        Some("ConfigMap") => serde_json::to_value(strict_parse::<ConfigMap>(document)),
        Some("PodDisruptionBudget") => serde_json::to_value(strict_parse::<PodDisruptionBudget>(document)),
        Some("NetworkPolicy") => serde_json::to_value(strict_parse::<NetworkPolicy>(document)),
        Some("Job") => serde_json::to_value(strict_parse::<Job>(document)),
        Some("CronJob") => serde_json::to_value(strict_parse::<CronJob>(document)),
        Some("PersistentVolumeClaim") => serde_json::to_value(strict_parse::<PersistentVolumeClaim>(document)),
        Some("PodMonitor") => serde_json::to_value(strict_parse::<tdgen::prometheus::PodMonitor>(document)),
        Some("PrometheusRule") => serde_json::to_value(strict_parse::<tdgen::prometheus::PrometheusRule>(document)),
        other => panic!("unexpected kind {other:?}"),
    }
    .expect("reserialises")
}

/// The environment a container of pod `pod_name` in `namespace` ends up with (no Secrets).
pub fn kubelet_env(env: &[EnvVar], pod_name: &str, namespace: &str) -> BTreeMap<String, String> {
    kubelet::container_env(env, pod_name, namespace, |name, key| {
        Err(format!("no Secret {name} (key {key}) in this test"))
    })
    .unwrap_or_else(|e| panic!("{e}"))
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
    let dir = Path::new(ROOT).join("tests/fixtures/specs");
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

/// Which real `taos` shell the fake imitates (see `tests/fakes/taos`; the realsys tier holds
/// its bytes to each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// 3.3.6.13's: errors carry their code, the banner says "Native".
    Current,
    /// 3.0.7.1's: errors without a code, the older banner.
    Older,
}

/// Both shells, for running every scenario against each.
pub const SHELLS: [Shell; 2] = [Shell::Current, Shell::Older];

/// The endpoint of dnode `ordinal` of the default cluster in namespace `ns`.
pub fn ep(ordinal: u32) -> String {
    format!("tdengine-{ordinal}.taosd.ns.svc.cluster.local:6030")
}

/// A simulated namespace with a TDengine cluster, behind the fake `taos`, `kubectl` and `curl`
/// of `tests/fakes/` (each cites the source it imitates).
pub struct FakeCluster {
    /// The sandbox holding the fakes and their state.
    pub sandbox: Sandbox,
}

/// What a script run did.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub code: i32,
    /// stdout and stderr.
    pub log: String,
    /// Every fake call, in order.
    pub calls: Vec<String>,
}

impl Run {
    /// The SQL statements that change the cluster, in order.
    pub fn sql_changes(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter(|c| c.starts_with("taos "))
            .filter_map(|c| c.split(" sql=").nth(1))
            .filter(|sql| !sql.starts_with("show") && !sql.starts_with("select"))
            .map(str::to_owned)
            .collect()
    }

    /// Every call that changes the cluster (SQL and kubectl), in order.
    pub fn changes(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter_map(|c| {
                if let Some(sql) = c.strip_prefix("taos ").and_then(|c| c.split(" sql=").nth(1)) {
                    return (!sql.starts_with("show") && !sql.starts_with("select")).then(|| format!("sql {sql}"));
                }
                let changing = ["kubectl scale", "kubectl delete", "applied"]
                    .iter()
                    .any(|p| c.starts_with(p));
                changing.then(|| c.clone())
            })
            .collect()
    }

    /// Whether any PVC was deleted.
    pub fn deleted_pvcs(&self) -> bool {
        self.calls.iter().any(|c| c.starts_with("kubectl delete pvc"))
    }

    /// Assert that the run exited with `code` (its whole output is the failure message).
    #[track_caller]
    pub fn assert_exit(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.log);
    }

    /// Assert that the run printed `text` (its whole output is the failure message).
    #[track_caller]
    pub fn assert_said(&self, text: &str) {
        assert!(self.log.contains(text), "expected {text:?} in:\n{}", self.log);
    }

    /// Assert that the run stopped with `code` and `message` and deleted no PVC.
    pub fn assert_stopped(&self, code: i32, message: &str) {
        self.assert_stopped_keeping(code, message, &[]);
        assert!(!self.deleted_pvcs(), "a PVC was deleted: {:?}", self.calls);
    }

    /// Assert that the run stopped with `code` and `message` and kept the PVCs `kept`.
    pub fn assert_stopped_keeping(&self, code: i32, message: &str, kept: &[&str]) {
        self.assert_exit(code);
        self.assert_said(message);
        for pvc in kept {
            let deleted = format!("kubectl delete pvc {pvc} ");
            assert!(!self.calls.iter().any(|c| c.starts_with(&deleted)), "{pvc} was deleted");
        }
    }
}

impl FakeCluster {
    /// An empty namespace imitating `shell`; `test` names the sandbox.
    pub fn new(test: &str, shell: Shell) -> FakeCluster {
        let fakes = Path::new(ROOT).join("tests/fakes");
        let texts: Vec<(String, String)> = ["taos", "kubectl", "curl"]
            .iter()
            .map(|f| (f.to_string(), std::fs::read_to_string(fakes.join(f)).expect("fake")))
            .collect();
        let refs: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let version = match shell {
            Shell::Current => "3.3.6.13",
            Shell::Older => "3.0.7.1",
        };
        let sandbox = Sandbox::new(&format!("{test}-{version}"), &refs);
        sandbox.write("version", version);
        sandbox.write("databases", "information_schema NULL\nperformance_schema NULL\nlog 1\n");
        sandbox.write("mnodes", "");
        sandbox.write("dnodes", "");
        FakeCluster { sandbox }
    }

    /// Dnodes as (id, ordinal, status); the StatefulSet has one pod per row (and its PVCs).
    pub fn dnodes(&self, rows: &[(u32, u32, &str)]) -> &Self {
        let text: String = rows
            .iter()
            .map(|(id, o, st)| format!("{id} {} {st}\n", ep(*o)))
            .collect();
        self.sandbox.write("dnodes", &text);
        let pods: String = (0..rows.len()).map(|o| format!("tdengine-{o}\n")).collect();
        self.sandbox.write("pods", &pods);
        self.sandbox.write("replicas", &rows.len().to_string());
        let pvcs: String = (0..rows.len())
            .flat_map(|o| [format!("taosdata-tdengine-{o}\n"), format!("taoslog-tdengine-{o}\n")])
            .collect();
        self.sandbox.write("pvcs", &pvcs);
        self
    }

    /// Mnodes as (dnode id, role).
    pub fn mnodes(&self, rows: &[(u32, &str)]) -> &Self {
        let text: String = rows.iter().map(|(id, role)| format!("{id} {role} ready\n")).collect();
        self.sandbox.write("mnodes", &text);
        self
    }

    /// User databases as (name, replica), after the two system databases.
    pub fn databases(&self, rows: &[(&str, u32)]) -> &Self {
        let mut text = "information_schema NULL\nperformance_schema NULL\n".to_owned();
        text.extend(rows.iter().map(|(name, replica)| format!("{name} {replica}\n")));
        self.sandbox.write("databases", &text);
        self
    }

    /// Queue a one-shot fault for the next statement matching `glob`.
    pub fn fault(&self, glob: &str, action: &str) -> &Self {
        let path = self.sandbox.dir.join("faults");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("{glob}\t{action}\n"));
        std::fs::write(path, text).expect("faults");
        self
    }

    /// Remove every queued fault.
    pub fn clear_faults(&self) {
        let _ = std::fs::remove_file(self.sandbox.dir.join("faults"));
    }

    /// The fake cluster's state file `name`.
    pub fn state(&self, name: &str) -> String {
        std::fs::read_to_string(self.sandbox.dir.join(name)).unwrap_or_default()
    }

    /// Run a script; `env` adds variables.
    pub fn run(&self, script: &str, env: &[(&str, &str)]) -> Run {
        let (code, log, calls) = self.sandbox.run(script, env);
        Run { code, log, calls }
    }
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
