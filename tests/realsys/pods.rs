//! The controllers and the kubelet of the stand-in: they turn what `kubectl` stored into real
//! TDengine pods (td-cluster) and real Job pods (`job-pod`). What each imitates:
//!
//! - **StatefulSet controller** (`pkg/controller/statefulset/stateful_set_control.go`): pods
//!   `NAME-0 … NAME-(replicas-1)`, each with claims from `volumeClaimTemplates`
//!   (`TEMPLATE-NAME-ORDINAL`, labelled with the selector) created when missing. With
//!   `OrderedReady` it creates one pod at a time, each after the ones below it are Running and
//!   Ready, and makes no progress at all while one of them is not (a lost node blocks scaling
//!   both ways); with `Parallel` it creates and deletes all at once. Pods above the replicas go
//!   highest first (one at a time with `OrderedReady`). A `RollingUpdate` replaces the highest
//!   pod at or above `partition` whose template differs, one at a time, only while every pod is
//!   Ready. A deleted pod below the replicas is created again. (A pod re-created below the
//!   partition gets the new template, not the old one.)
//! - **kubelet**: a pod starts with its container's `env` expanded as the kubelet does
//!   (`$(VAR)`, the downward API, Secret keys; `tests/kubelet.rs`), `taos.cfg` from the ConfigMap
//!   mounted at `/etc/taos/taos.cfg`, and the TDengine build its image tag names. The startup
//!   probe must pass before the readiness probe counts; readiness is probed every 2 s (faster
//!   than `periodSeconds`, never slower); `failureThreshold` liveness failures in a row at
//!   `periodSeconds` restart the container. A pod is stopped by running its `preStop` hook
//!   (bounded by `terminationGracePeriodSeconds`), then td-cluster `stop` (SIGTERM to taosd,
//!   SIGKILL after 30 s); `--force` kills it at once. (Where taosd is the container's main
//!   process, as in 3.0.7.1's image, the hook ends the container, and td-cluster restarts it,
//!   as the kubelet would not during a deletion; `stop` then stops it again. The event log says
//!   the hook "failed" then: it was cut off with its container.) A pod whose td-cluster pod was killed is on
//!   a lost node: unready, not restarted, deleted only by force, back when its node is.
//! - **PersistentVolumeClaims**: a StatefulSet's claims are labelled with its selector (as its
//!   controller labels them, and as they stay after the StatefulSet is gone); a claim's data is the pod's td-cluster directory (data or log,
//!   by mount path) or a directory of the stand-in; a claim deleted while a pod uses it goes
//!   when the pod is gone (`kubernetes.io/pvc-protection`), and a new claim starts empty.
//! - **Job controller**: one pod at a time until one succeeds; a failed pod counts against
//!   `backoffLimit`; `activeDeadlineSeconds` ends it. CronJobs never fire on their own: a test
//!   starts a run with `kubectl create job --from=cronjob/NAME`, as an operator would.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::EnvVar;
use serde_json::{Value, json};

use crate::kubelet;
use crate::state::{Claim, JobStatus, Phase, Pod, State, Store};

/// `td-cluster` with this cluster's names, for the build `version` (td-cluster's `TD_VERSION`).
pub fn td_cluster(state: &State, version: Option<&str>) -> Command {
    let mut command = Command::new(&state.config.td_cluster);
    command
        .envs(&state.config.td_env)
        .env("REALSYS_HOME", &state.config.realsys_home);
    if let Some(version) = version {
        command.env("TD_VERSION", version);
    }
    command
}

/// The revision of a StatefulSet's pod template (a hash of it).
pub fn revision(statefulset: &Value) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    statefulset["spec"]["template"].to_string().hash(&mut hasher);
    format!("{:08x}", hasher.finish() as u32)
}

/// A pod as `kubectl get pod -o json` shows it.
pub fn pod_object(state: &State, name: &str, pod: &Pod) -> Value {
    let phase = match pod.phase {
        Phase::Pending => "Pending",
        Phase::Running | Phase::Terminating => "Running",
        Phase::Succeeded => "Succeeded",
        Phase::Failed => "Failed",
    };
    let ready = if pod.lost {
        "Unknown"
    } else if pod.ready {
        "True"
    } else {
        "False"
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": state.namespace,
            "labels": pod.template["metadata"]["labels"].clone(),
            "deletionTimestamp": pod.deleting.map(|_| "2026-01-01T00:00:00Z"),
        },
        "spec": pod.template["spec"].clone(),
        "status": {
            "phase": phase,
            "reason": pod.lost.then_some("NodeLost"),
            "conditions": [{"type": "Ready", "status": ready}],
        },
    })
}

/// A claim made by an applied PersistentVolumeClaim object, in the stand-in's own directory
/// (its labels are the object's: apply it first).
pub fn ensure_claim(state: &mut State, name: &str) {
    if !state.claims.contains_key(name) {
        let dir = PathBuf::from(state.config.td_env.get("TD_RUN").cloned().unwrap_or_default())
            .join("claims")
            .join(name);
        fresh_dir(&dir);
        let volume = format!("pvc-{:04}", state.claims.len() + 1);
        let labels = state
            .object("PersistentVolumeClaim", name)
            .and_then(|o| serde_json::from_value(o["metadata"]["labels"].clone()).ok())
            .unwrap_or_default();
        state.claims.insert(
            name.to_owned(),
            Claim {
                dir,
                deleting: false,
                volume,
                labels,
            },
        );
        state.event(format!("claim {name} created"));
    }
}

/// A new Job's status, with its log file.
pub fn new_job(state: &mut State, dir: &Path, name: &str) {
    let log = dir.join(format!("job-{name}.log"));
    let _ = std::fs::write(&log, "");
    state.jobs.insert(
        name.to_owned(),
        JobStatus {
            log,
            started_at: state.clock,
            ..JobStatus::default()
        },
    );
}

/// The kubelet's volume ownership for `fsGroup` (SetVolumeOwnership): every file's group is
/// the fsGroup, group-readable and writable, and directories pass the group on (setgid). A
/// driver that supports ownership management does this; tdgen's backup claim relies on it.
fn own_volume(dir: &Path, fs_group: Option<i64>) -> Result<(), String> {
    let Some(group) = fs_group else {
        return Ok(());
    };
    let path = dir.display().to_string();
    let group_owned = format!(":{group}");
    let steps: [(&str, Vec<&str>); 3] = [
        ("chown", vec!["-R", &group_owned, &path]),
        ("chmod", vec!["-R", "g+rwX", &path]),
        ("find", vec![&path, "-type", "d", "-exec", "chmod", "g+s", "{}", "+"]),
    ];
    for (program, args) in steps {
        let ran = Command::new(program).args(&args).status().map_err(|e| e.to_string())?;
        if !ran.success() {
            return Err(format!("{program} {args:?} failed"));
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn fresh_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::create_dir_all(dir);
}

/// The controllers, running in a thread until stopped.
pub struct Controller {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Controller {
    /// Start the controllers over `store`.
    pub fn start(store_dir: PathBuf) -> Controller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let store = Store::new(&store_dir);
            let mut world = World::default();
            let began = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                if let Err(e) = world.tick(&store, began.elapsed().as_secs()) {
                    eprintln!("stand-in controller ({}): {e}", store_dir.display());
                }
                std::thread::sleep(Duration::from_millis(700));
            }
            world.shutdown(&store);
        });
        Controller {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the controllers hold in memory: work in flight and the Job pods' processes.
#[derive(Default)]
struct World {
    busy: Arc<Mutex<HashSet<String>>>,
    jobs: HashMap<String, (Child, PathBuf)>,
    next_job_ip: u32,
}

/// The claim names and data directories of pod `ordinal`.
fn claims_of(state: &State, sts: &str, object: &Value, ordinal: u32) -> Vec<(String, PathBuf)> {
    let td_run = PathBuf::from(state.config.td_env.get("TD_RUN").cloned().unwrap_or_default());
    let mounts = &object["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
    object["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["metadata"]["name"].as_str())
        .map(|template| {
            let claim = format!("{template}-{sts}-{ordinal}");
            let path = mounts
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"].as_str() == Some(template))
                .and_then(|m| m["mountPath"].as_str())
                .unwrap_or("");
            let dir = match path {
                "/var/lib/taos" => td_run.join(format!("dnode{ordinal}/data")),
                "/var/log/taos" => td_run.join(format!("dnode{ordinal}/log")),
                _ => td_run.join("claims").join(&claim),
            };
            (claim, dir)
        })
        .collect()
}

/// The TDengine build an image runs, if this machine has it.
fn build_of(state: &State, image: &str) -> Option<String> {
    let tag = image.rsplit_once(':').map_or("latest", |(_, t)| t);
    let version = state.config.aliases.get(tag).cloned().unwrap_or_else(|| tag.to_owned());
    state
        .config
        .realsys_home
        .join(format!("tdengine-{version}"))
        .join("bin/taosd")
        .exists()
        .then_some(version)
}

fn healthy(pod: &Pod) -> bool {
    pod.phase == Phase::Running && pod.ready && pod.deleting.is_none() && !pod.lost
}

enum Action {
    Start(u32),
    Stop(String, bool),
    StartJob(String),
}

impl World {
    fn tick(&mut self, store: &Store, clock: u64) -> Result<(), String> {
        let mut locked = store.lock()?;
        let state = &mut locked.state;
        state.clock = clock;
        let busy = self.busy.lock().map_err(|e| e.to_string())?.clone();
        release_claims(state);
        // A pod that could not start (its image, a Secret, a claim still being deleted) is
        // tried again, as the kubelet and the controller keep trying.
        state
            .pods
            .retain(|_, p| !(p.ordinal.is_some() && p.phase == Phase::Pending && p.deleting.is_none()));
        let mut actions = Vec::new();
        statefulset_controller(state, &busy, &mut actions);
        for (name, pod) in &state.pods {
            if let Some(force) = pod.deleting
                && !busy.contains(name)
                && pod.phase != Phase::Terminating
                && (force || !pod.lost)
            {
                actions.push(Action::Stop(name.clone(), force));
            }
        }
        self.job_controller(state, &mut actions);
        let snapshot = state.clone();
        for action in &actions {
            match action {
                Action::Stop(name, _) => {
                    if let Some(pod) = state.pods.get_mut(name) {
                        pod.phase = Phase::Terminating;
                        pod.ready = false;
                    }
                    self.busy.lock().map_err(|e| e.to_string())?.insert(name.clone());
                }
                Action::Start(ordinal) => start_pod(state, *ordinal),
                Action::StartJob(_) => {}
            }
        }
        let snapshot_after = state.clone();
        locked.save()?;
        for action in actions {
            match action {
                Action::Stop(name, force) => self.stop_pod(store, &snapshot_after, name, force),
                Action::Start(ordinal) => {
                    let name = format!("{}-{ordinal}", snapshot_after.statefulset().map_or("", |(n, _)| n));
                    if let Some(pod) = snapshot_after.pods.get(&name)
                        && pod.phase == Phase::Running
                    {
                        let status = td_cluster(&snapshot_after, Some(&pod.version))
                            .args(["up", &ordinal.to_string()])
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status();
                        if !status.is_ok_and(|s| s.success()) {
                            eprintln!("stand-in: td-cluster up {ordinal} failed");
                        }
                    }
                }
                Action::StartJob(name) => self.start_job(store, &snapshot, &name)?,
            }
        }
        self.kubelet(store)?;
        Ok(())
    }

    /// Probe every running StatefulSet pod; notice lost nodes and returned ones.
    fn kubelet(&mut self, store: &Store) -> Result<(), String> {
        let state = store.read()?;
        let busy = self.busy.lock().map_err(|e| e.to_string())?.clone();
        let mut results: BTreeMap<String, (bool, bool, Option<bool>, bool)> = BTreeMap::new();
        for (name, pod) in &state.pods {
            let Some(ordinal) = pod.ordinal else { continue };
            if pod.phase != Phase::Running || busy.contains(name) {
                continue;
            }
            let running = td_cluster(&state, Some(&pod.version))
                .args(["running", &ordinal.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if !running {
                results.insert(name.clone(), (false, pod.started, None, true));
                continue;
            }
            let container = &pod.template["spec"]["containers"][0];
            let probe = |which: &str| -> Option<bool> {
                let command: Vec<String> = container[which]["exec"]["command"]
                    .as_array()?
                    .iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect();
                let timeout = container[which]["timeoutSeconds"].as_u64().unwrap_or(1);
                Some(
                    td_cluster(&state, Some(&pod.version))
                        .args(["exec", &ordinal.to_string(), "--", "timeout", &timeout.to_string()])
                        .args(&command)
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success()),
                )
            };
            let started = pod.started || probe("startupProbe").unwrap_or(true);
            let ready = started && probe("readinessProbe").unwrap_or(true);
            let period = container["livenessProbe"]["periodSeconds"].as_u64().unwrap_or(10);
            let liveness =
                (started && state.clock >= pod.probed_at + period).then(|| probe("livenessProbe").unwrap_or(true));
            results.insert(name.clone(), (ready, started, liveness, false));
        }
        let mut restarts = Vec::new();
        let mut locked = store.lock()?;
        let clock = locked.state.clock;
        for (name, (ready, started, liveness, lost)) in results {
            let Some(pod) = locked.state.pods.get_mut(&name) else {
                continue;
            };
            if pod.phase != Phase::Running {
                continue;
            }
            let was_lost = pod.lost;
            pod.lost = lost;
            pod.ready = ready && !lost;
            pod.started = started;
            if let Some(alive) = liveness {
                pod.probed_at = clock;
                pod.liveness_failures = if alive { 0 } else { pod.liveness_failures + 1 };
                let threshold = pod.template["spec"]["containers"][0]["livenessProbe"]["failureThreshold"]
                    .as_u64()
                    .unwrap_or(3);
                if u64::from(pod.liveness_failures) >= threshold {
                    pod.liveness_failures = 0;
                    pod.ready = false;
                    restarts.push((name.clone(), pod.ordinal.unwrap_or(0), pod.version.clone()));
                }
            }
            if lost != was_lost {
                let what = if lost { "lost its node" } else { "is back on its node" };
                locked.state.event(format!("pod {name} {what}"));
            }
        }
        for (name, _, _) in &restarts {
            locked
                .state
                .event(format!("pod {name}: liveness probe failed, container restarted"));
        }
        let state = locked.state.clone();
        locked.save()?;
        for (_, ordinal, version) in restarts {
            let _ = td_cluster(&state, Some(&version))
                .args(["kill", &ordinal.to_string()])
                .status();
            let _ = td_cluster(&state, Some(&version))
                .args(["up", &ordinal.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        Ok(())
    }

    /// Stop a pod in a thread of its own: preStop, then td-cluster `stop` (or `kill`).
    fn stop_pod(&self, store: &Store, state: &State, name: String, force: bool) {
        let busy = self.busy.clone();
        let dir = store.dir().to_path_buf();
        let state = state.clone();
        std::thread::spawn(move || {
            let store = Store::new(&dir);
            let pod = state.pods.get(&name).cloned();
            if let Some(pod) = &pod
                && let Some(ordinal) = pod.ordinal
            {
                let container = &pod.template["spec"]["containers"][0];
                let grace = pod.template["spec"]["terminationGracePeriodSeconds"]
                    .as_u64()
                    .unwrap_or(30);
                let hook: Vec<String> = container["lifecycle"]["preStop"]["exec"]["command"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect();
                let mut said = String::new();
                if !force && !hook.is_empty() {
                    let began = Instant::now();
                    let ok = td_cluster(&state, Some(&pod.version))
                        .args(["exec", &ordinal.to_string(), "--", "timeout", &grace.to_string()])
                        .args(&hook)
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success());
                    said = format!(
                        "; preStop {} in {:.1}s",
                        if ok { "finished" } else { "failed" },
                        began.elapsed().as_secs_f64()
                    );
                }
                let verb = if force { "kill" } else { "stop" };
                let _ = td_cluster(&state, Some(&pod.version))
                    .args([verb, &ordinal.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                if let Ok(mut locked) = store.lock() {
                    locked.state.pods.remove(&name);
                    let gone: Vec<String> = locked
                        .state
                        .claims
                        .iter()
                        .filter(|(c, claim)| claim.deleting && c.ends_with(&format!("-{name}")))
                        .map(|(c, _)| c.clone())
                        .collect();
                    for claim in &gone {
                        if let Some(removed) = locked.state.claims.remove(claim) {
                            fresh_dir(&removed.dir);
                        }
                    }
                    let how = if force { "force-deleted" } else { "deleted" };
                    locked.state.event(format!(
                        "pod {name} {how}{said}{}",
                        if gone.is_empty() {
                            String::new()
                        } else {
                            format!("; claims {} deleted", gone.join(", "))
                        }
                    ));
                    let _ = locked.save();
                }
            } else if let Ok(mut locked) = store.lock() {
                locked.state.pods.remove(&name);
                let _ = locked.save();
            }
            if let Ok(mut set) = busy.lock() {
                set.remove(&name);
            }
        });
    }

    fn job_controller(&mut self, state: &mut State, actions: &mut Vec<Action>) {
        // Finished Job pods.
        let mut finished = Vec::new();
        for (name, (child, _)) in self.jobs.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                finished.push((name.clone(), status.success()));
            }
        }
        for (pod_name, success) in finished {
            self.jobs.remove(&pod_name);
            let Some(pod) = state.pods.get_mut(&pod_name) else {
                continue;
            };
            pod.phase = if success { Phase::Succeeded } else { Phase::Failed };
            let job = pod.job.clone().unwrap_or_default();
            let backoff = state
                .object("Job", &job)
                .and_then(|j| j["spec"]["backoffLimit"].as_u64())
                .unwrap_or(6) as u32;
            if let Some(status) = state.jobs.get_mut(&job) {
                if success {
                    status.succeeded += 1;
                    status.complete = true;
                } else {
                    status.failed += 1;
                    status.gave_up = status.failed > backoff;
                }
            }
            let how = if success { "succeeded" } else { "failed" };
            state.event(format!("job pod {pod_name} {how}"));
        }
        // Deleted Job pods are killed.
        for (name, pod) in state.pods.clone() {
            if pod.job.is_some() && pod.deleting.is_some() {
                if let Some((mut child, _)) = self.jobs.remove(&name) {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                state.pods.remove(&name);
            }
        }
        // Deadlines, and a new pod for each Job that needs one.
        let jobs: Vec<String> = state.jobs.keys().cloned().collect();
        for job in jobs {
            let Some(object) = state.object("Job", &job).cloned() else {
                continue;
            };
            let deadline = object["spec"]["activeDeadlineSeconds"].as_u64();
            let clock = state.clock;
            let Some(status) = state.jobs.get_mut(&job) else {
                continue;
            };
            if status.complete || status.gave_up {
                continue;
            }
            if deadline.is_some_and(|d| clock > status.started_at + d) {
                status.gave_up = true;
                for (name, (child, _)) in self.jobs.iter_mut() {
                    if name.starts_with(&format!("{job}-")) {
                        let _ = child.kill();
                    }
                }
                state.event(format!("job {job} passed its activeDeadlineSeconds"));
                continue;
            }
            let active = state
                .pods
                .values()
                .any(|p| p.job.as_deref() == Some(&job) && matches!(p.phase, Phase::Pending | Phase::Running));
            if !active {
                actions.push(Action::StartJob(job));
            }
        }
    }

    /// Start a Job's pod: its container, env and volumes, in a pod namespace of its own.
    fn start_job(&mut self, store: &Store, state: &State, job: &str) -> Result<(), String> {
        let Some(object) = state.object("Job", job) else {
            return Ok(());
        };
        let template = object["spec"]["template"].clone();
        let container = &template["spec"]["containers"][0];
        let attempt = state.jobs.get(job).map_or(0, |s| s.succeeded + s.failed);
        let pod_name = format!("{job}-{attempt}");
        let image = container["image"].as_str().unwrap_or_default().to_owned();
        let work = store.dir().join("pods").join(&pod_name);
        fresh_dir(&work);
        let log_path = state.jobs.get(job).map(|s| s.log.clone()).unwrap_or_default();
        let record = |phase: Phase, message: Option<String>| -> Result<(), String> {
            let mut locked = store.lock()?;
            locked.state.pods.insert(
                pod_name.clone(),
                Pod {
                    job: Some(job.to_owned()),
                    ..Pod::new(image.clone(), phase, template.clone())
                },
            );
            if let Some(message) = message {
                locked.state.event(format!("job pod {pod_name}: {message}"));
            }
            locked.save()
        };
        let Some(version) = build_of(state, &image) else {
            return record(
                Phase::Pending,
                Some(format!("no TDengine build for image {image} (ErrImagePull)")),
            );
        };
        let env: Vec<EnvVar> = serde_json::from_value(container["env"].clone()).unwrap_or_default();
        let env = match kubelet::container_env(&env, &pod_name, &state.namespace, |n, k| state.secret(n, k)) {
            Ok(env) => env,
            Err(e) => return record(Phase::Pending, Some(format!("CreateContainerConfigError: {e}"))),
        };
        // The kubelet's part of the security context: the user a container runs as (the image's
        // is root), refused when runAsNonRoot asks for another; fsGroup as a supplementary group
        // that owns the pod's volumes.
        let security = |field: &str| {
            container["securityContext"][field]
                .as_i64()
                .or_else(|| template["spec"]["securityContext"][field].as_i64())
        };
        let user = security("runAsUser").unwrap_or(0);
        let group = security("runAsGroup").unwrap_or(0);
        let fs_group = template["spec"]["securityContext"]["fsGroup"].as_i64();
        let non_root = container["securityContext"]["runAsNonRoot"]
            .as_bool()
            .or_else(|| template["spec"]["securityContext"]["runAsNonRoot"].as_bool());
        if non_root == Some(true) && user == 0 {
            return record(
                Phase::Pending,
                Some("CreateContainerConfigError: container has runAsNonRoot and image will run as root".into()),
            );
        }
        let home = state.config.realsys_home.join(format!("tdengine-{version}"));
        let mut lines = vec![
            format!(
                "PATH={0}/bin:{0}/image:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                home.display()
            ),
            format!("LD_LIBRARY_PATH={}/lib", home.display()),
            // The kubelet's HOME for a user the image's /etc/passwd does not know is /.
            format!("HOME={}", if user == 0 { "/root" } else { "/" }),
            format!("HOSTNAME={pod_name}"),
            "LANG=C.UTF-8".to_owned(),
        ];
        lines.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        std::fs::write(work.join("env"), lines.join("\n") + "\n").map_err(|e| e.to_string())?;
        let mut mounts = Vec::new();
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let name = mount["name"].as_str().unwrap_or_default();
            let path = mount["mountPath"].as_str().unwrap_or_default();
            let mode = if mount["readOnly"].as_bool() == Some(true) {
                "ro"
            } else {
                "rw"
            };
            let volume = template["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"].as_str() == Some(name))
                .cloned()
                .unwrap_or(Value::Null);
            let source = work.join("volumes").join(name);
            if let Some(map) = volume["configMap"]["name"].as_str() {
                fresh_dir(&source);
                let Some(config) = state.object("ConfigMap", map) else {
                    return record(Phase::Pending, Some(format!("configmap \"{map}\" not found")));
                };
                for (key, text) in config["data"].as_object().into_iter().flatten() {
                    std::fs::write(source.join(key), text.as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
                }
                mounts.push(format!("{}\t{path}\t{mode}", source.display()));
            } else if volume.get("emptyDir").is_some() {
                fresh_dir(&source);
                // The kubelet makes an emptyDir world-writable.
                set_mode(&source, 0o777)?;
                own_volume(&source, fs_group)?;
                mounts.push(format!("{}\t{path}\t{mode}", source.display()));
            } else if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
                let Some(found) = state.claims.get(claim) else {
                    return record(
                        Phase::Pending,
                        Some(format!("persistentvolumeclaim \"{claim}\" not found")),
                    );
                };
                own_volume(&found.dir, fs_group)?;
                mounts.push(format!("{}\t{path}\t{mode}", found.dir.display()));
            }
        }
        std::fs::write(work.join("mounts"), mounts.join("\n") + "\n").map_err(|e| e.to_string())?;
        let command: Vec<String> = container["command"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(container["args"].as_array().into_iter().flatten())
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        self.next_job_ip += 1;
        let index = 200 + self.next_job_ip % 50;
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log_path)
            .map_err(|e| e.to_string())?;
        let child = Command::new(&state.config.job_pod)
            .envs(&state.config.td_env)
            .env("JOB_POD_USER", format!("{user}:{group}"))
            .env("JOB_POD_GROUPS", fs_group.map(|g| g.to_string()).unwrap_or_default())
            .arg(&pod_name)
            .arg(index.to_string())
            .arg(&work)
            .arg(&home)
            .arg("--")
            .args(&command)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("job-pod: {e}"))?;
        self.jobs.insert(pod_name.clone(), (child, work));
        record(Phase::Running, Some(format!("started ({image})")))
    }

    fn shutdown(&mut self, store: &Store) {
        for (_, (mut child, _)) in self.jobs.drain() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.busy.lock().map(|b| !b.is_empty()).unwrap_or(false) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = store;
    }
}

/// Claims deleted while no pod uses them go now (pvc-protection holds only claims in use).
fn release_claims(state: &mut State) {
    let in_use = |state: &State, claim: &str| {
        state.pods.iter().any(|(name, pod)| {
            matches!(pod.phase, Phase::Running | Phase::Terminating)
                && (claim.ends_with(&format!("-{name}"))
                    || pod.template["spec"]["volumes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| v["persistentVolumeClaim"]["claimName"].as_str() == Some(claim)))
        })
    };
    let gone: Vec<String> = state
        .claims
        .iter()
        .filter(|(name, claim)| claim.deleting && !in_use(state, name))
        .map(|(name, _)| name.clone())
        .collect();
    for name in gone {
        if let Some(claim) = state.claims.remove(&name) {
            fresh_dir(&claim.dir);
        }
        state.event(format!("claim {name} deleted"));
    }
}

/// Record a new pod for `ordinal` from the current template, with its claims, to be started.
fn start_pod(state: &mut State, ordinal: u32) {
    let Some((sts, object)) = state.statefulset().map(|(n, o)| (n.to_owned(), o.clone())) else {
        return;
    };
    let name = format!("{sts}-{ordinal}");
    let template = object["spec"]["template"].clone();
    let container = template["spec"]["containers"][0].clone();
    let image = container["image"].as_str().unwrap_or_default().to_owned();
    let mut phase = Phase::Running;
    let mut why = String::new();
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for map in [&object["spec"]["selector"]["matchLabels"]] {
        for (k, v) in map.as_object().into_iter().flatten() {
            labels.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    for (claim, dir) in claims_of(state, &sts, &object, ordinal) {
        if let Some(existing) = state.claims.get(&claim) {
            if existing.deleting {
                phase = Phase::Pending;
                why = format!("claim {claim} is being deleted");
            }
            continue;
        }
        fresh_dir(&dir);
        let volume = format!("pvc-{:04}", state.claims.len() + 1);
        state.claims.insert(
            claim.clone(),
            Claim {
                dir,
                deleting: false,
                volume,
                labels: labels.clone(),
            },
        );
        state.event(format!("claim {claim} created (empty)"));
    }
    let version = build_of(state, &image);
    if version.is_none() {
        phase = Phase::Pending;
        why = format!("no TDengine build for image {image} (ErrImagePull)");
    }
    if phase == Phase::Running
        && let Err(e) = write_pod_env(state, &name, ordinal, &object)
    {
        phase = Phase::Pending;
        why = e;
    }
    state.pods.insert(
        name.clone(),
        Pod {
            ordinal: Some(ordinal),
            version: version.unwrap_or_default(),
            revision: revision(&object),
            ..Pod::new(image.clone(), phase, template)
        },
    );
    if phase == Phase::Running {
        state.event(format!("pod {name} created ({image})"));
    } else {
        let message = format!("pod {name} pending: {why}");
        if !state.events.last().is_some_and(|e| e.ends_with(&message)) {
            state.event(message);
        }
    }
}

/// The pod's environment (td-cluster's `env/I`) and taos.cfg (`taos.cfg`), as the kubelet
/// gives them to the container.
fn write_pod_env(state: &State, name: &str, ordinal: u32, object: &Value) -> Result<(), String> {
    let template = &object["spec"]["template"];
    let container = &template["spec"]["containers"][0];
    let env: Vec<EnvVar> = serde_json::from_value(container["env"].clone()).map_err(|e| e.to_string())?;
    let env = kubelet::container_env(&env, name, &state.namespace, |n, k| state.secret(n, k))
        .map_err(|e| format!("CreateContainerConfigError: {e}"))?;
    let td_run = PathBuf::from(state.config.td_env.get("TD_RUN").cloned().unwrap_or_default());
    std::fs::create_dir_all(td_run.join("env")).map_err(|e| e.to_string())?;
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(td_run.join(format!("env/{ordinal}")), text).map_err(|e| e.to_string())?;
    // taos.cfg from the ConfigMap mounted over the image's.
    let cfg = td_run.join("taos.cfg");
    let mounted = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["mountPath"].as_str() == Some("/etc/taos/taos.cfg"))
        .cloned();
    match mounted {
        Some(mount) => {
            let volume = template["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == mount["name"])
                .cloned()
                .unwrap_or(Value::Null);
            let map = volume["configMap"]["name"].as_str().unwrap_or_default();
            let key = mount["subPath"].as_str().unwrap_or("taos.cfg");
            let text = state
                .object("ConfigMap", map)
                .and_then(|c| c["data"][key].as_str())
                .ok_or_else(|| format!("configmap \"{map}\" (key {key}) not found"))?;
            std::fs::write(&cfg, text).map_err(|e| e.to_string())?;
        }
        None => {
            let _ = std::fs::remove_file(&cfg);
        }
    }
    Ok(())
}

fn statefulset_controller(state: &mut State, busy: &HashSet<String>, actions: &mut Vec<Action>) {
    let sts = state.statefulset().map(|(n, o)| (n.to_owned(), o.clone()));
    let ordinal_pods: Vec<(String, u32)> = state
        .pods
        .iter()
        .filter_map(|(n, p)| p.ordinal.map(|o| (n.clone(), o)))
        .collect();
    let Some((name, object)) = sts else {
        return;
    };
    let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
    let monotonic = object["spec"]["podManagementPolicy"].as_str() != Some("Parallel");
    let partition = object["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
        .as_u64()
        .unwrap_or(0) as u32;
    let current = revision(&object);
    let pod = |state: &State, o: u32| state.pods.get(&format!("{name}-{o}")).cloned();
    // Replicas: create what is missing, lowest first.
    for o in 0..replicas {
        match pod(state, o) {
            None => {
                actions.push(Action::Start(o));
                if monotonic {
                    return;
                }
            }
            Some(p) if !healthy(&p) && monotonic => return,
            Some(_) => {}
        }
    }
    // Condemned: above the replicas, highest first.
    let mut condemned: Vec<(String, u32)> = ordinal_pods.into_iter().filter(|(_, o)| *o >= replicas).collect();
    condemned.sort_by_key(|(_, o)| std::cmp::Reverse(*o));
    let first_unhealthy = condemned
        .iter()
        .find(|(n, _)| state.pods.get(n).is_none_or(|p| !healthy(p)))
        .map(|(n, _)| n.clone());
    for (n, _) in &condemned {
        let Some(p) = state.pods.get_mut(n) else { continue };
        if p.deleting.is_some() || busy.contains(n) {
            if monotonic {
                return;
            }
            continue;
        }
        if monotonic && !healthy(p) && Some(n) != first_unhealthy.as_ref() {
            return;
        }
        p.deleting = Some(false);
        state.event(format!("pod {n} condemned (replicas {replicas})"));
        if monotonic {
            return;
        }
    }
    if !condemned.is_empty() {
        return;
    }
    // Rolling update: one stale pod at a time, highest first, while every pod is Ready.
    if (0..replicas).any(|o| pod(state, o).is_none_or(|p| !healthy(&p))) {
        return;
    }
    for o in (partition..replicas).rev() {
        if let Some(p) = state.pods.get_mut(&format!("{name}-{o}"))
            && p.revision != current
        {
            p.deleting = Some(false);
            state.event(format!(
                "pod {name}-{o} replaced by the rolling update (revision {current})"
            ));
            return;
        }
    }
}
