//! The API-server tier: tdgen's renders applied to a real Kubernetes control plane
//! (`../shared/realsys/k8s-up`: etcd, kube-apiserver v1.36.2 and kube-controller-manager, whose
//! StatefulSet, Job, PersistentVolume and ServiceAccount controllers run; no scheduler or kubelet,
//! so pods stay Pending) with the real `kubectl` 1.37 that `scripts/conformance` installs.
//!
//! - `renders.rs`: every preset, fixture, documented example and a fleet tree apply server-side
//!   with no warning and no drift; the Pod Security level of each preset, checked by the
//!   server; the Pods and PVCs the controllers create carry the names the runbooks select.
//! - `oracle.rs`: every row of the diff table (`tests/fixtures/diffs/`), both ways, applied for
//!   real: `tdgen diff`'s class against what the server did.
//! - `findings.rs`: the regressions that needed the server to be seen.
//!
//! ```text
//! cargo test --test apiserver                 # every scenario, APISERVER_JOBS (4) at a time
//! cargo test --test apiserver -- oracle       # the scenarios whose name contains "oracle"
//! cargo test --test apiserver -- --list
//! ```
//!
//! Needs `../shared/realsys/setup` run (REALSYS_HOME, REALSYS_DIR as for the realsys tier) and
//! kubectl 1.37 (`KUBECTL`, else `target/conformance/tools/bin/kubectl`). A missing piece fails
//! the tier; nothing is skipped. The control plane runs from `target/apiserver/k8s` on ports of its
//! own (API 16543, etcd 23890), started clean and stopped at the end; each scenario's files are in
//! `target/apiserver/<scenario>/`.

mod findings;
mod oracle;
mod renders;
mod server;
#[path = "../tier.rs"]
mod tier;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let selection = tier::Selection::from_args(&argv[1..]);
    let mut all = renders::all();
    all.extend(findings::all());
    all.extend(oracle::all());
    if selection.list {
        return tier::list(&all);
    }
    let chosen = selection.pick(all);
    let env = match server::Env::start() {
        Ok(env) => env,
        Err(why) => {
            eprintln!("apiserver: {why}");
            return ExitCode::FAILURE;
        }
    };
    let jobs = tier::jobs("APISERVER_JOBS", 4);
    println!(
        "apiserver: {} scenario(s), {jobs} at a time, against {}; files in {}",
        chosen.len(),
        env.server_version,
        env.work.display()
    );
    let stop = env.clone();
    let code = tier::run("apiserver", chosen, env, jobs);
    stop.stop();
    code
}
