//! The control plane and the two commands the scenarios run: the real `kubectl` against it, and
//! the `tdgen` under test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use crate::tier::Outcome;

/// What a command did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The command line, for messages.
    pub line: String,
}

impl Ran {
    /// `Ok` when the command exited 0, else what it said.
    pub fn ok(&self) -> Result<&Ran, String> {
        if self.code == Some(0) {
            Ok(self)
        } else {
            Err(self.said())
        }
    }

    /// The command, its exit code and everything it printed.
    pub fn said(&self) -> String {
        format!("`{}` exited {:?}\n{}{}", self.line, self.code, self.stdout, self.stderr)
    }
}

/// Where the tier runs: the control plane, the binaries, the scenarios' files.
#[derive(Debug, Clone)]
pub struct Env {
    /// `shared/realsys`.
    pub realsys: PathBuf,
    /// `REALSYS_HOME`.
    pub home: PathBuf,
    /// The `tdgen` under test.
    pub tdgen: PathBuf,
    /// The real kubectl.
    pub kubectl: PathBuf,
    /// The control plane's kubeconfig.
    pub kubeconfig: PathBuf,
    /// `K8S_RUN`: the control plane's state and logs.
    pub run: PathBuf,
    /// Where scenarios keep their files.
    pub work: PathBuf,
    /// `kubectl version`'s server line.
    pub server_version: String,
}

/// The control plane's ports, away from the defaults a developer's own `k8s-up` uses.
const PORTS: [(&str, &str); 2] = [("K8S_API_PORT", "16543"), ("K8S_ETCD_PORT", "23890")];

impl Env {
    /// Find everything, start a clean control plane with its controllers, install the CRDs.
    pub fn start() -> Result<Env, String> {
        let crate::tier::Realsys {
            root,
            dir: realsys,
            home,
        } = crate::tier::realsys("k8s-up")?;
        let kubectl = std::env::var_os("KUBECTL")
            .map_or_else(|| root.join("target/conformance/tools/bin/kubectl"), PathBuf::from);
        if !kubectl.exists() {
            return Err(format!(
                "no kubectl at {}: run scripts/conformance once (it installs kubectl 1.37), or set KUBECTL",
                kubectl.display()
            ));
        }
        let work = root.join("target/apiserver");
        let run = work.join("k8s");
        std::fs::create_dir_all(&run).map_err(|e| e.to_string())?;
        let mut env = Env {
            kubeconfig: run.join("kubeconfig"),
            realsys,
            home,
            tdgen: PathBuf::from(env!("CARGO_BIN_EXE_tdgen")),
            kubectl,
            run,
            work,
            server_version: String::new(),
        };
        env.script("k8s-down", &[("K8S_RESET", "1")])?;
        let up = env.script("k8s-up", &[("K8S_CONTROLLERS", "1")])?;
        let printed = up.stdout.lines().last().unwrap_or_default().trim().to_owned();
        if Path::new(&printed) != env.kubeconfig {
            return Err(format!("k8s-up printed {printed}, not {}", env.kubeconfig.display()));
        }
        let version = env.kubectl(&["version", "-o", "json"], None);
        let version: Value = serde_json::from_str(&version.ok()?.stdout).map_err(|e| e.to_string())?;
        env.server_version = format!(
            "kube-apiserver {} (kubectl {})",
            version["serverVersion"]["gitVersion"].as_str().unwrap_or("?"),
            version["clientVersion"]["gitVersion"].as_str().unwrap_or("?")
        );
        let crds = env.realsys.join("crds");
        env.kubectl(&["apply", "--server-side", "-f", &crds.display().to_string()], None)
            .ok()?;
        env.kubectl(
            &["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"],
            None,
        )
        .ok()?;
        env.wait_for(
            "the controllers' default ServiceAccount",
            Duration::from_secs(60),
            || {
                env.kubectl(&["get", "serviceaccount", "default", "-n", "default"], None)
                    .code
                    == Some(0)
            },
        )?;
        Ok(env)
    }

    /// Stop the control plane (its logs stay in `target/apiserver/k8s/log`).
    pub fn stop(&self) {
        let _ = self.script("k8s-down", &[]);
    }

    fn script(&self, name: &str, vars: &[(&str, &str)]) -> Result<Ran, String> {
        let mut command = Command::new(self.realsys.join(name));
        command
            .env("REALSYS_HOME", &self.home)
            .env("K8S_RUN", &self.run)
            .envs(PORTS)
            .envs(vars.iter().copied());
        let ran = run(command, None, name.to_owned());
        ran.ok().cloned()
    }

    /// Run the real kubectl against the control plane.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Ran {
        let mut command = Command::new(&self.kubectl);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("KUBECACHEDIR", self.work.join("kube-cache"));
        run(command, stdin, format!("kubectl {}", args.join(" ")))
    }

    /// Run the tdgen under test in `dir`.
    pub fn tdgen(&self, args: &[&str], dir: &Path) -> Ran {
        let mut command = Command::new(&self.tdgen);
        command.args(args).current_dir(dir);
        run(command, None, format!("tdgen {}", args.join(" ")))
    }

    /// A fresh directory for a scenario's files.
    pub fn scratch(&self, name: &str) -> Result<PathBuf, String> {
        let dir = self.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// Create a namespace with labels (`key=value`), replacing one left by an earlier run.
    pub fn namespace(&self, name: &str, labels: &[&str]) -> Outcome {
        let object = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": labels.iter().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), Value::from(v))).collect::<serde_json::Map<_, _>>(),
            },
        });
        self.kubectl(
            &["apply", "--server-side", "--field-manager=tier", "-f", "-"],
            Some(&object.to_string()),
        )
        .ok()?;
        Ok(())
    }

    /// Poll `done` every half second until it holds or `limit` passes.
    pub fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Outcome {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(format!("{what}: not after {}s", limit.as_secs()))
    }

    /// Every object of these kinds in a namespace, as JSON.
    pub fn objects(&self, namespace: &str, kinds: &[String]) -> Result<Vec<Value>, String> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let listed = self.kubectl(&["get", &kinds.join(","), "-n", namespace, "-o", "json"], None);
        let list: Value = serde_json::from_str(&listed.ok()?.stdout).map_err(|e| e.to_string())?;
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }
}

/// The kubectl resource name of a rendered object's kind (`StatefulSet.apps`).
pub fn resource(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
    match object["apiVersion"].as_str().and_then(|v| v.split_once('/')) {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind,
    }
}

fn run(mut command: Command, stdin: Option<&str>, line: String) -> Ran {
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn();
    let output = child.and_then(|mut child| {
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write as _;
            pipe.write_all(text.as_bytes())?;
        }
        child.wait_with_output()
    });
    match output {
        Ok(output) => Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            line,
        },
        Err(error) => Ran {
            code: None,
            stdout: String::new(),
            stderr: format!("could not run: {error}"),
            line,
        },
    }
}
