//! The real-systems tier: tdgen's runbooks, bootstrap Job and backups run against real TDengine
//! clusters (`../shared/realsys/td-cluster`: real taosd, the real `taos` shell and taosdump,
//! the image's own entrypoint in every pod). Only Kubernetes is stood in for: this binary,
//! called as `kubectl`, is the stand-in (`kubectl.rs`), and its controllers and kubelet
//! (`pods.rs`) run the pods; both modules say which Kubernetes behaviour they imitate.
//!
//! ```text
//! cargo test --test realsys                 # every scenario, REALSYS_JOBS (3) clusters at a time
//! cargo test --test realsys -- scale        # the scenarios whose name contains "scale"
//! cargo test --test realsys -- --list
//! ```
//!
//! Needs root, and `../shared/realsys/setup` run (REALSYS_HOME selects the unpacked builds,
//! REALSYS_DIR the scripts). A missing piece fails the tier; nothing is skipped. Each scenario's
//! files, the runbooks' output and the stand-in's events are in `target/realsys/<scenario>/`.

mod cluster;
mod jsonpath;
mod kubectl;
#[path = "../kubelet.rs"]
mod kubelet;
mod pods;
mod scenarios;
mod state;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cluster::Env;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let called = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if called == "kubectl" {
        return kubectl::main(&argv[1..]);
    }
    let filters: Vec<&String> = argv[1..].iter().filter(|a| !a.starts_with("--")).collect();
    let all = scenarios::all();
    if argv.iter().any(|a| a == "--list") {
        for scenario in &all {
            println!("{}: test", scenario.name);
        }
        return ExitCode::SUCCESS;
    }
    let chosen: VecDeque<scenarios::Scenario> = all
        .into_iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    let env = match environment() {
        Ok(env) => env,
        Err(why) => {
            eprintln!("realsys: {why}");
            return ExitCode::FAILURE;
        }
    };
    let jobs: usize = std::env::var("REALSYS_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(3)
        .max(1);
    println!(
        "realsys: {} scenario(s), {jobs} at a time, files in {}",
        chosen.len(),
        env.work.display()
    );
    let began = Instant::now();
    let queue = Arc::new(Mutex::new(chosen));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..jobs)
        .map(|slot| {
            let (queue, results, env) = (queue.clone(), results.clone(), env.clone());
            std::thread::spawn(move || {
                while let Some(scenario) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    let start = Instant::now();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (scenario.run)(&env, slot)))
                        .unwrap_or_else(|panic| Err(format!("panicked: {panic:?}")));
                    let seconds = start.elapsed().as_secs();
                    match &outcome {
                        Ok(()) => println!("PASS {} ({seconds}s)", scenario.name),
                        Err(why) => println!("FAIL {} ({seconds}s)\n{}\n", scenario.name, indent(why)),
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push((scenario.name, outcome.is_ok(), seconds));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let results = results.lock().map(|r| r.clone()).unwrap_or_default();
    let failed: Vec<&str> = results.iter().filter(|(_, ok, _)| !ok).map(|(n, _, _)| *n).collect();
    println!(
        "realsys: {} passed, {} failed in {}s",
        results.len() - failed.len(),
        failed.len(),
        began.elapsed().as_secs()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failed: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// Find the real systems; anything missing is a failure.
fn environment() -> Result<Env, String> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    let realsys = std::env::var_os("REALSYS_DIR").map_or_else(|| root.join("../shared/realsys"), PathBuf::from);
    let home = std::env::var_os("REALSYS_HOME").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/realsys"),
        PathBuf::from,
    );
    if !realsys.join("td-cluster").exists() {
        return Err(format!("no td-cluster in {} (set REALSYS_DIR)", realsys.display()));
    }
    let checked = Command::new(realsys.join("setup"))
        .arg("--check")
        .env("REALSYS_HOME", &home)
        .status()
        .map_err(|e| e.to_string())?;
    if !checked.success() {
        return Err(format!(
            "the real systems are not set up in {}: run {}/setup (as root)",
            home.display(),
            realsys.display()
        ));
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let work = root.join("target/realsys");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    Ok(Env {
        root,
        realsys,
        home,
        tdgen: PathBuf::from(env!("CARGO_BIN_EXE_tdgen")),
        me,
        work,
    })
}
