//! The stand-in's view of one namespace: what was applied, the pods and claims the controllers
//! made, and the Jobs' progress. One JSON file per scenario, read and written under a lock by
//! every `kubectl` call and by the controller thread (which also runs the pods).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to reach the real systems behind the stand-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The `td-cluster` script.
    pub td_cluster: PathBuf,
    /// Where `setup` unpacked the builds (`REALSYS_HOME`).
    pub realsys_home: PathBuf,
    /// `TD_RUN`, `TD_NS_PREFIX`, `TD_SUBNET`, `TD_STS`, `TD_SERVICE`, `TD_NAMESPACE`,
    /// `TD_DOMAIN`, `TD_PORT`: td-cluster's names for this cluster.
    pub td_env: BTreeMap<String, String>,
    /// Image tags that run another build (`3.3.6.14` → `3.3.6.13`): the one way to roll pods
    /// to a "new" image when only one build of a release line exists.
    pub aliases: BTreeMap<String, String>,
    /// The `job-pod` script.
    pub job_pod: PathBuf,
}

/// A pod's life as the stand-in tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Created, not started yet (or its image does not exist here).
    Pending,
    /// Its container runs.
    Running,
    /// Being deleted: its preStop hook and stop are under way.
    Terminating,
    /// A Job pod whose container exited 0.
    Succeeded,
    /// A Job pod whose container failed.
    Failed,
}

/// One pod.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pod {
    /// The StatefulSet ordinal (td-cluster's pod number), or none for a Job's pod.
    pub ordinal: Option<u32>,
    /// The Job that owns it.
    pub job: Option<String>,
    /// The image it runs.
    pub image: String,
    /// The TDengine build that image runs.
    pub version: String,
    /// The StatefulSet template revision it was made from.
    pub revision: String,
    /// Where it is in its life.
    pub phase: Phase,
    /// Its startup probe has passed.
    pub started: bool,
    /// Its readiness probe passes (and it runs).
    pub ready: bool,
    /// Its node is gone (td-cluster `kill`): it stays, unready, until the node returns or a
    /// forced delete removes it.
    pub lost: bool,
    /// A delete was asked for (with `--force`: no grace, no preStop).
    pub deleting: Option<bool>,
    /// Consecutive liveness failures.
    pub liveness_failures: u32,
    /// Seconds (the controller's clock) of the last probe.
    pub probed_at: u64,
    /// The template the pod was made from (its container, hooks and probes).
    pub template: Value,
}

impl Pod {
    /// A pod just created from `template`: not started, not ready, on its node, never probed.
    pub fn new(image: String, phase: Phase, template: Value) -> Pod {
        Pod {
            ordinal: None,
            job: None,
            image,
            version: String::new(),
            revision: String::new(),
            phase,
            started: false,
            ready: false,
            lost: false,
            deleting: None,
            liveness_failures: 0,
            probed_at: 0,
            template,
        }
    }
}

/// One PersistentVolumeClaim.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claim {
    /// Where its data lives on this machine.
    pub dir: PathBuf,
    /// Deleted while a pod used it (pvc-protection): it goes when the pod is gone.
    pub deleting: bool,
    /// The volume bound to it.
    pub volume: String,
    /// Its labels (a StatefulSet's claims carry the claim template's and the selector's).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A Job's progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobStatus {
    /// Pods that exited 0.
    pub succeeded: u32,
    /// Pods that failed.
    pub failed: u32,
    /// The Job finished well.
    pub complete: bool,
    /// The Job gave up (backoffLimit or activeDeadlineSeconds).
    pub gave_up: bool,
    /// Its pods' combined log.
    pub log: PathBuf,
    /// When it started (the controller's clock).
    pub started_at: u64,
}

/// Everything in the namespace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The real systems behind it.
    pub config: Config,
    /// The one namespace this stand-in serves.
    pub namespace: String,
    /// Objects by `Kind/name`, as JSON: what the server holds.
    pub objects: BTreeMap<String, Value>,
    /// The configuration last applied to each object (server-side apply's managed fields).
    pub applied: BTreeMap<String, Value>,
    /// Pods by name.
    pub pods: BTreeMap<String, Pod>,
    /// Claims by name.
    pub claims: BTreeMap<String, Claim>,
    /// Jobs by name.
    pub jobs: BTreeMap<String, JobStatus>,
    /// What the controllers did, in order (tests read it).
    pub events: Vec<String>,
    /// The controller's clock, in seconds since it started.
    pub clock: u64,
}

impl State {
    /// An object by kind and name.
    pub fn object(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects.get(&format!("{kind}/{name}"))
    }

    /// The one StatefulSet, if any.
    pub fn statefulset(&self) -> Option<(&str, &Value)> {
        self.objects
            .iter()
            .find(|(k, _)| k.starts_with("StatefulSet/"))
            .map(|(k, v)| (&k["StatefulSet/".len()..], v))
    }

    /// A Secret's key, decoded.
    pub fn secret(&self, name: &str, key: &str) -> Result<String, String> {
        let secret = self
            .object("Secret", name)
            .ok_or_else(|| format!("secret \"{name}\" not found"))?;
        if let Some(text) = secret["stringData"][key].as_str() {
            return Ok(text.to_owned());
        }
        let encoded = secret["data"][key]
            .as_str()
            .ok_or_else(|| format!("couldn't find key {key} in Secret {name}"))?;
        let bytes = base64_decode(encoded).ok_or_else(|| format!("Secret {name} key {key} is not base64"))?;
        String::from_utf8(bytes).map_err(|_| format!("Secret {name} key {key} is not UTF-8"))
    }

    /// Record what a controller did.
    pub fn event(&mut self, what: String) {
        self.events.push(format!("[{}s] {what}", self.clock));
    }
}

/// The state file and its lock.
pub struct Store {
    path: PathBuf,
}

/// The state, locked until dropped; `save` writes it back.
pub struct Locked {
    file: File,
    /// The state as read.
    pub state: State,
}

impl Store {
    /// The store in `dir`.
    pub fn new(dir: &Path) -> Store {
        Store {
            path: dir.join("standin.json"),
        }
    }

    /// Where it lives.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Read and lock.
    pub fn lock(&self) -> Result<Locked, String> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        file.lock()
            .map_err(|e| format!("locking {}: {e}", self.path.display()))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| e.to_string())?;
        let state = if text.trim().is_empty() {
            State::default()
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", self.path.display()))?
        };
        Ok(Locked { file, state })
    }

    /// A copy of the state (locked only while reading).
    pub fn read(&self) -> Result<State, String> {
        Ok(self.lock()?.state)
    }
}

impl Locked {
    /// Write the state back (the lock is released when `self` is dropped).
    pub fn save(mut self) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&self.state).map_err(|e| e.to_string())?;
        self.file.set_len(0).map_err(|e| e.to_string())?;
        self.file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        self.file.write_all(text.as_bytes()).map_err(|e| e.to_string())
    }
}

/// Standard base64 (the `data` of Secrets), padding optional.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            n |= u32::from(*b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
