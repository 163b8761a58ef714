//! One scenario's world: a spec, its render, a real TDengine cluster (td-cluster) behind the
//! kubectl stand-in, and what the scenario asks of them: apply, run a runbook the `tdgen` binary
//! writes, read the real `show dnodes` / `show mnodes` and row counts, break things.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pods::Controller;
use crate::state::{Config, JobStatus, State, Store};

/// Where the tier finds the real systems and the binaries.
#[derive(Debug, Clone)]
pub struct Env {
    /// The repository.
    pub root: PathBuf,
    /// `shared/realsys`.
    pub realsys: PathBuf,
    /// `REALSYS_HOME`: the unpacked builds.
    pub home: PathBuf,
    /// The `tdgen` binary under test.
    pub tdgen: PathBuf,
    /// This binary (also the `kubectl` stand-in).
    pub me: PathBuf,
    /// Where scenarios keep their files.
    pub work: PathBuf,
}

use crate::ensure;
pub use crate::tier::Outcome;

/// A finished runbook run.
#[derive(Debug)]
pub struct Run {
    /// Its exit status (`None`: killed).
    pub status: Option<i32>,
    /// Its stdout and stderr, interleaved.
    pub log: String,
}

impl Run {
    /// The run succeeded.
    pub fn ok(&self) -> Outcome {
        ensure!(
            self.status == Some(0),
            "the runbook failed ({:?}):\n{}",
            self.status,
            tail(&self.log, 60)
        );
        Ok(())
    }

    /// The run stopped with status 1 and said `what`.
    pub fn stopped_with(&self, what: &str) -> Outcome {
        ensure!(
            self.status == Some(1) && self.log.contains(what),
            "expected the runbook to stop with {what:?}; it ended {:?}:\n{}",
            self.status,
            tail(&self.log, 60)
        );
        Ok(())
    }

    /// The log says `what`.
    pub fn said(&self, what: &str) -> Outcome {
        ensure!(
            self.log.contains(what),
            "the runbook never said {what:?}:\n{}",
            tail(&self.log, 60)
        );
        Ok(())
    }
}

/// The last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One row of `show dnodes` / `show mnodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The dnode id.
    pub id: String,
    /// `fqdn:port`.
    pub endpoint: String,
    /// `ready`, `offline`, …
    pub status: String,
    /// The mnode's role (mnodes only).
    pub role: String,
}

/// A scenario's cluster.
pub struct Cluster {
    /// The tier's paths.
    pub env: Env,
    /// The scenario's directory.
    pub dir: PathBuf,
    /// The spec file.
    pub spec: PathBuf,
    /// td-cluster's names for this cluster.
    pub td_env: BTreeMap<String, String>,
    /// The StatefulSet's name.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// The root password the cluster has now (the test's own knowledge).
    pub password: String,
    store: Store,
    controller: Option<Controller>,
    log: std::fs::File,
}

impl Cluster {
    /// A cluster for `spec` (YAML) in slot `slot`, with `aliases` of image tags to builds. Nothing
    /// runs until the render is applied.
    pub fn new(
        env: &Env,
        scenario: &str,
        slot: usize,
        spec: &str,
        aliases: &[(&str, &str)],
    ) -> Result<Cluster, String> {
        let dir = env.work.join(scenario);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).map_err(|e| e.to_string())?;
        let kubectl = dir.join("bin/kubectl");
        std::os::unix::fs::symlink(&env.me, &kubectl).map_err(|e| e.to_string())?;
        let spec_path = dir.join("cluster.yaml");
        std::fs::write(&spec_path, spec).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("scenario.log")).map_err(|e| e.to_string())?;
        let mut cluster = Cluster {
            env: env.clone(),
            dir: dir.clone(),
            spec: spec_path,
            td_env: BTreeMap::new(),
            name: String::new(),
            namespace: String::new(),
            password: "taosdata".into(),
            store: Store::new(&dir),
            controller: None,
            log,
        };
        let rendered = cluster.tdgen(&["render", "-f", &cluster.spec.display().to_string(), "-o", "json"])?;
        let list: Value = serde_json::from_str(&rendered).map_err(|e| e.to_string())?;
        let sts = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["kind"] == "StatefulSet")
            .cloned()
            .ok_or("the render has no StatefulSet")?;
        let env_of = |name: &str| {
            sts["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["name"] == name)
                .and_then(|e| e["value"].as_str())
                .map(str::to_owned)
        };
        let fqdn = env_of("TAOS_FQDN").ok_or("no TAOS_FQDN")?;
        let domain = fqdn
            .split_once(".svc.")
            .map(|(_, d)| d.to_owned())
            .ok_or("TAOS_FQDN has no .svc.")?;
        cluster.name = sts["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        cluster.namespace = sts["metadata"]["namespace"].as_str().unwrap_or("tdengine").to_owned();
        let subnet = format!("10.251.{}", 10 + slot);
        cluster.td_env = BTreeMap::from([
            ("TD_RUN".to_owned(), dir.join("td").display().to_string()),
            ("TD_NS_PREFIX".to_owned(), format!("tdr{slot}")),
            ("TD_SUBNET".to_owned(), subnet),
            ("TD_STS".to_owned(), cluster.name.clone()),
            (
                "TD_SERVICE".to_owned(),
                sts["spec"]["serviceName"].as_str().unwrap_or_default().to_owned(),
            ),
            ("TD_NAMESPACE".to_owned(), cluster.namespace.clone()),
            ("TD_DOMAIN".to_owned(), domain),
            (
                "TD_PORT".to_owned(),
                env_of("TAOS_SERVER_PORT").unwrap_or_else(|| "6030".into()),
            ),
        ]);
        // Whatever an earlier run in this slot left behind goes first.
        let _ = cluster.td(None, &["destroy"]);
        let mut locked = cluster.store.lock()?;
        locked.state = State {
            config: Config {
                td_cluster: env.realsys.join("td-cluster"),
                realsys_home: env.home.clone(),
                td_env: cluster.td_env.clone(),
                aliases: aliases
                    .iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect(),
                job_pod: env.root.join("tests/realsys/job-pod"),
            },
            namespace: cluster.namespace.clone(),
            ..State::default()
        };
        locked.save()?;
        cluster.controller = Some(Controller::start(dir));
        Ok(cluster)
    }

    /// Write a line to the scenario's log.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.log, "--- {text}");
    }

    /// Run `tdgen ARGS`; its stdout, or its stderr as the error.
    pub fn tdgen(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.env.tdgen)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        stdout_or_stderr("tdgen", args, &out)
    }

    /// `tdgen render` of the scenario's spec with `--set` overrides.
    pub fn render(&self, sets: &[&str]) -> Result<String, String> {
        let spec = self.spec.display().to_string();
        let mut args = vec!["render", "-f", spec.as_str()];
        for set in sets {
            args.extend(["--set", set]);
        }
        self.tdgen(&args)
    }

    /// Run `td-cluster ARGS` for this cluster (with the build `version`).
    pub fn td(&self, version: Option<&str>, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new(self.env.realsys.join("td-cluster"));
        command
            .envs(&self.td_env)
            .env("REALSYS_HOME", &self.env.home)
            .args(args);
        if let Some(version) = version {
            command.env("TD_VERSION", version);
        }
        let out = command.output().map_err(|e| e.to_string())?;
        stdout_or_stderr("td-cluster", args, &out)
    }

    /// The stand-in's state now.
    pub fn state(&self) -> State {
        self.store.read().unwrap_or_default()
    }

    /// Run the backup CronJob now, as an operator would (`kubectl create job backup-now
    /// --from=cronjob/…`), and wait until the Job finishes or gives up: its status and its log.
    pub fn backup_now(&mut self) -> Result<(JobStatus, String), String> {
        let cronjob = format!("--from=cronjob/{}-backup", self.name);
        self.kubectl(&["create", "job", "backup-now", &cronjob, "-n", &self.namespace], "")?;
        self.until("the backup Job to finish or give up", 300, |c| {
            c.state()
                .jobs
                .get("backup-now")
                .is_some_and(|j| j.complete || j.gave_up)
        })?;
        let job = self.state().jobs["backup-now"].clone();
        let log = std::fs::read_to_string(&job.log).unwrap_or_default();
        Ok((job, log))
    }

    /// Run the stand-in `kubectl ARGS` (stdin from `input`): status, stdout, stderr.
    pub fn kubectl(&self, args: &[&str], input: &str) -> Result<String, String> {
        let mut child = Command::new(self.dir.join("bin/kubectl"))
            .args(args)
            .env("REALSYS_STANDIN", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        stdout_or_stderr("kubectl", args, &out)
    }

    /// Apply a YAML stream in the cluster's namespace.
    pub fn apply(&mut self, yaml: &str) -> Outcome {
        let out = self.kubectl(
            &["apply", "--server-side", "-n", &self.namespace.clone(), "-f", "-"],
            yaml,
        )?;
        self.note(&format!("applied:\n{out}"));
        Ok(())
    }

    /// Create the Secret `name` with `key: value`.
    pub fn secret(&mut self, name: &str, key: &str, value: &str) -> Outcome {
        let yaml = format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {}}}\nstringData: {{{key}: {value:?}}}\n",
            self.namespace
        );
        self.apply(&yaml)
    }

    /// Wait until `check` holds (it is asked every 2 s), or fail after `secs` with `what`.
    pub fn until(&mut self, what: &str, secs: u64, mut check: impl FnMut(&mut Cluster) -> bool) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if check(self) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let events = tail(&self.state().events.join("\n"), 30);
                return Err(format!(
                    "timed out after {secs}s waiting for {what}\nstand-in events:\n{events}"
                ));
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// The pods td-cluster runs now.
    pub fn running(&self) -> Vec<u32> {
        let status = self.td(None, &["status"]).unwrap_or_default();
        status
            .lines()
            .filter(|l| l.ends_with(" running"))
            .filter_map(|l| l.split_whitespace().next()?.rsplit('-').next()?.parse().ok())
            .collect()
    }

    /// Run one statement through a running pod's own `taos`, as root with the cluster's
    /// password: the shell's stdout (`\r` removed) and stderr.
    pub fn taos(&self, sql: &str) -> Result<(String, String), String> {
        let state = self.state();
        let (ordinal, version) = state
            .pods
            .values()
            .filter(|p| p.ordinal.is_some() && !p.lost && p.phase == crate::state::Phase::Running)
            .filter_map(|p| Some((p.ordinal?, p.version.clone())))
            .find(|(o, _)| self.running().contains(o))
            .ok_or("no running pod to ask")?;
        let out = Command::new(self.env.realsys.join("td-cluster"))
            .envs(&self.td_env)
            .env("REALSYS_HOME", &self.env.home)
            .env("TD_VERSION", &version)
            .args(["exec", &ordinal.to_string(), "--", "timeout", "60", "taos"])
            .arg(format!("-p{}", self.password))
            .args(["-s", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace('\r', "");
        Ok((clean(&out.stdout), clean(&out.stderr)))
    }

    /// A `\G` statement's rows, each a map of column to value.
    pub fn rows(&self, sql: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
        let (out, err) = self.taos(sql)?;
        if err.contains("DB error") || !out.contains(" row(s) in set") {
            return Err(format!("{sql}: {err}{out}"));
        }
        let mut rows: Vec<BTreeMap<String, String>> = Vec::new();
        for line in out.lines() {
            if line.starts_with("***") && line.contains(".row ") {
                rows.push(BTreeMap::new());
            } else if let (Some(row), Some((k, v))) = (rows.last_mut(), line.split_once(": ")) {
                row.insert(k.trim().to_owned(), v.to_owned());
            }
        }
        Ok(rows)
    }

    /// Run a change; fail on a refusal.
    pub fn exec_sql(&self, sql: &str) -> Outcome {
        let (out, err) = self.taos(sql)?;
        ensure!(!err.contains("DB error") && out.contains(" OK, "), "{sql}: {err}{out}");
        Ok(())
    }

    /// `show dnodes`, or empty when nobody answers.
    pub fn dnodes(&self) -> Vec<Node> {
        self.nodes(tdgen::tdengine::sql::SHOW_DNODES)
    }

    /// `show mnodes`, or empty when nobody answers.
    pub fn mnodes(&self) -> Vec<Node> {
        self.nodes(tdgen::tdengine::sql::SHOW_MNODES)
    }

    fn nodes(&self, sql: &str) -> Vec<Node> {
        self.rows(sql)
            .unwrap_or_default()
            .into_iter()
            .map(|r| Node {
                id: r.get("id").cloned().unwrap_or_default(),
                endpoint: r.get("endpoint").cloned().unwrap_or_default(),
                status: r.get("status").cloned().unwrap_or_default(),
                role: r.get("role").cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// The endpoint of the pod at `ordinal`.
    pub fn endpoint(&self, ordinal: u32) -> String {
        format!(
            "{}-{ordinal}.{}.{}.svc.{}:{}",
            self.name, self.td_env["TD_SERVICE"], self.namespace, self.td_env["TD_DOMAIN"], self.td_env["TD_PORT"]
        )
    }

    /// Exactly the pods `0..n` as ready dnodes, and nothing else registered.
    pub fn ready_dnodes_are(&self, n: u32) -> bool {
        let mut endpoints: Vec<(String, String)> = self.dnodes().into_iter().map(|d| (d.endpoint, d.status)).collect();
        endpoints.sort();
        let mut wanted: Vec<(String, String)> = (0..n).map(|o| (self.endpoint(o), "ready".to_owned())).collect();
        wanted.sort();
        endpoints == wanted
    }

    /// `n` ready mnodes, one of them the leader, all on the pods `0..pods`.
    pub fn ready_mnodes_are(&self, n: usize, pods: u32) -> bool {
        let mnodes = self.mnodes();
        let on: Vec<String> = (0..pods).map(|o| self.endpoint(o)).collect();
        mnodes.len() == n
            && mnodes.iter().all(|m| m.status == "ready" && on.contains(&m.endpoint))
            && mnodes.iter().filter(|m| m.role == "leader").count() == 1
    }

    /// Wait for exactly `n` ready dnodes (the pods `0..n`).
    pub fn wait_dnodes(&mut self, n: u32, secs: u64) -> Outcome {
        self.until(&format!("{n} ready dnodes"), secs, |c| c.ready_dnodes_are(n))
    }

    /// The database `db` with `replica` replicas and `vgroups` vgroups, 4 tables of 25 rows:
    /// data a scenario counts afterwards.
    pub fn seed(&mut self, db: &str, replica: u32, vgroups: u32) -> Outcome {
        self.exec_sql(&format!(
            "create database if not exists {db} replica {replica} vgroups {vgroups}"
        ))?;
        self.exec_sql(&format!(
            "create stable if not exists {db}.st (ts timestamp, v int) tags (k int)"
        ))?;
        for table in 0..4 {
            let mut values = String::new();
            for row in 0..25u64 {
                let _ = write!(values, " ({}, {row})", 1_700_000_000_000 + row * 1000);
            }
            self.exec_sql(&format!(
                "insert into {db}.t{table} using {db}.st tags ({table}) values{values}"
            ))?;
        }
        Ok(())
    }

    /// Vnodes held, and the room (supportVnodes) of the pods `0..pods`.
    pub fn vnodes(&self, pods: u32) -> Result<(u64, u64), String> {
        let on: Vec<String> = (0..pods).map(|o| self.endpoint(o)).collect();
        let mut held = 0;
        let mut room = 0;
        for row in self.rows(tdgen::tdengine::sql::SHOW_DNODES)? {
            let number = |k: &str| row.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            held += number("vnodes");
            if row.get("endpoint").is_some_and(|e| on.contains(e)) {
                room += number("support_vnodes");
            }
        }
        Ok((held, room))
    }

    /// Rows per user database, asked again for a minute while taosd cannot answer (a leader
    /// election after a restart answers "Sync leader is unreachable" for a few seconds).
    pub fn counts(&self) -> Result<BTreeMap<String, u64>, String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.counts_once() {
                Ok(counts) => return Ok(counts),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_secs(2)),
            }
        }
    }

    fn counts_once(&self) -> Result<BTreeMap<String, u64>, String> {
        let mut counts = BTreeMap::new();
        for db in self
            .rows(tdgen::tdengine::sql::READ_REPLICAS)?
            .into_iter()
            .filter_map(|r| r.get("name").cloned())
            .filter(|n| !n.ends_with("_schema") && !n.starts_with("log"))
        {
            let rows = self.rows(&format!("select count(*) as n from {db}.st\\G"))?;
            let n = rows
                .first()
                .and_then(|r| r.get("n"))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("no count for {db}"))?;
            counts.insert(db, n);
        }
        Ok(counts)
    }

    /// Write the runbook `tdgen plan ARGS` for the spec (with `sets`) into the scenario's
    /// directory.
    pub fn plan(&self, args: &[&str], sets: &[&str]) -> Result<PathBuf, String> {
        let spec = self.spec.display().to_string();
        let mut all = vec!["plan"];
        all.extend(args);
        all.extend(["-f", spec.as_str()]);
        for set in sets {
            all.extend(["--set", set]);
        }
        let script = self.tdgen(&all)?;
        let path = self
            .dir
            .join(format!("{}.sh", args.join("-").replace(['/', ' ', ':', '='], "_")));
        std::fs::write(&path, script).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Start a runbook with `bash`, the stand-in first on PATH, and `vars` in its environment.
    pub fn start(&self, script: &Path, vars: &[(&str, &str)]) -> Result<(Child, PathBuf), String> {
        let runs = std::fs::read_dir(&self.dir).map_or(0, |d| d.count());
        let log = self.dir.join(format!(
            "run{runs:03}-{}.log",
            script.file_stem().and_then(|s| s.to_str()).unwrap_or("run")
        ));
        let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = Command::new("timeout")
            .args(["--kill-after=10", "900", "bash"])
            .arg(script)
            .env("PATH", path)
            .env("REALSYS_STANDIN", &self.dir)
            .env("NAMESPACE", &self.namespace)
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().map_err(|e| e.to_string())?)
            .stderr(file)
            .spawn()
            .map_err(|e| e.to_string())?;
        Ok((child, log))
    }

    /// Run a runbook to its end.
    pub fn run(&mut self, script: &Path, vars: &[(&str, &str)]) -> Result<Run, String> {
        let (child, log) = self.start(script, vars)?;
        self.finish(child, &log)
    }

    /// Wait for a started runbook.
    pub fn finish(&mut self, mut child: Child, log: &Path) -> Result<Run, String> {
        let status = child.wait().map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(log).unwrap_or_default();
        self.note(&format!("{} ended {:?}", log.display(), status.code()));
        Ok(Run {
            status: status.code(),
            log: text,
        })
    }

    /// Wait until the running script's log contains `what` (or it ended).
    pub fn when_log_says(&mut self, child: &mut Child, log: &Path, what: &str, secs: u64) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if std::fs::read_to_string(log).unwrap_or_default().contains(what) {
                return Ok(());
            }
            if child.try_wait().map_err(|e| e.to_string())?.is_some() {
                return Err(format!(
                    "the runbook ended before saying {what:?}:\n{}",
                    tail(&std::fs::read_to_string(log).unwrap_or_default(), 40)
                ));
            }
            ensure!(
                Instant::now() < deadline,
                "the runbook did not say {what:?} within {secs}s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The stand-in's claim names.
    pub fn claims(&self) -> Vec<String> {
        self.state().claims.keys().cloned().collect()
    }

    /// Wait until no claim of the pods `ordinals` is left. `kubectl delete pvc --wait=false`
    /// returns once the claim is marked for deletion; the claim goes later, when the
    /// pvc-protection controller sees no pod using it.
    pub fn claims_gone(&mut self, ordinals: &[u32], secs: u64) -> Outcome {
        let suffixes: Vec<String> = ordinals.iter().map(|o| format!("-{o}")).collect();
        let left = |c: &Cluster| {
            c.claims()
                .into_iter()
                .filter(|claim| suffixes.iter().any(|s| claim.ends_with(s.as_str())))
                .collect::<Vec<_>>()
        };
        let result = self.until(&format!("the claims of pods {ordinals:?} to go"), secs, |c| {
            left(c).is_empty()
        });
        result.map_err(|e| format!("{e}\nclaims left: {:?}", left(self)))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let events = self.state().events.join("\n");
        let _ = writeln!(self.log, "--- stand-in events:\n{events}");
        drop(self.controller.take());
        let _ = self.td(None, &["destroy"]);
        // The Job pods' network namespaces (td-cluster removes its own).
        if let Ok(entries) = std::fs::read_dir("/run/netns") {
            let prefix = format!("{}j", self.td_env.get("TD_NS_PREFIX").cloned().unwrap_or_default());
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&prefix) {
                    let _ = Command::new("ip").args(["netns", "del", &name]).status();
                }
            }
        }
    }
}

/// A finished command's stdout, or `PROGRAM ARGS: stderr` as the error when it failed.
fn stdout_or_stderr(program: &str, args: &[&str], out: &std::process::Output) -> Result<String, String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
