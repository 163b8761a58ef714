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
#[path = "../tier.rs"]
mod tier;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    let selection = tier::Selection::from_args(&argv[1..]);
    let all: Vec<tier::Scenario<Env>> = scenarios::all()
        .into_iter()
        .map(|s| tier::Scenario::new(s.name, s.run))
        .collect();
    if selection.list {
        return tier::list(&all);
    }
    let chosen = selection.pick(all);
    let env = match environment() {
        Ok(env) => env,
        Err(why) => {
            eprintln!("realsys: {why}");
            return ExitCode::FAILURE;
        }
    };
    let jobs = tier::jobs("REALSYS_JOBS", 3);
    println!(
        "realsys: {} scenario(s), {jobs} at a time, files in {}",
        chosen.len(),
        env.work.display()
    );
    tier::run("realsys", chosen, env, jobs)
}

/// Find the real systems; anything missing is a failure.
fn environment() -> Result<Env, String> {
    let tier::Realsys { root, dir, home } = tier::realsys("td-cluster")?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let work = root.join("target/realsys");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    Ok(Env {
        root,
        realsys: dir,
        home,
        tdgen: PathBuf::from(env!("CARGO_BIN_EXE_tdgen")),
        me,
        work,
    })
}
