//! The runner of the real-systems tiers (`realsys`, `apiserver`): scenarios picked by name
//! filters (`-- NAME…`, `-- --list`), run on a number of worker threads, each scenario's panic
//! caught and reported as its failure, a line per scenario and a summary at the end.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A scenario's result: `Err` says what did not hold.
pub type Outcome = Result<(), String>;

/// Fail the scenario with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// What a scenario runs: given the tier's environment and a worker slot.
pub type Run<E> = Box<dyn Fn(&E, usize) -> Outcome + Send + Sync>;

/// One scenario: its name and what it does, given the tier's environment and a worker slot.
pub struct Scenario<E> {
    /// How `cargo test --test TIER -- FILTER` finds it.
    pub name: String,
    /// The scenario.
    pub run: Run<E>,
}

impl<E> Scenario<E> {
    /// A scenario named `name` running `run`.
    pub fn new(name: impl Into<String>, run: impl Fn(&E, usize) -> Outcome + Send + Sync + 'static) -> Self {
        Scenario {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// What the command line asks: `--list`, or the name filters (none: every scenario).
pub struct Selection {
    /// Only list the scenarios.
    pub list: bool,
    filters: Vec<String>,
}

impl Selection {
    /// Read the command line (after the program name).
    pub fn from_args(args: &[String]) -> Selection {
        Selection {
            list: args.iter().any(|a| a == "--list"),
            filters: args.iter().filter(|a| !a.starts_with("--")).cloned().collect(),
        }
    }

    /// The scenarios the filters pick.
    pub fn pick<E>(&self, all: Vec<Scenario<E>>) -> Vec<Scenario<E>> {
        all.into_iter()
            .filter(|s| self.filters.is_empty() || self.filters.iter().any(|f| s.name.contains(f.as_str())))
            .collect()
    }
}

/// Where the real systems are: the repository, `shared/realsys` (`REALSYS_DIR`) and the builds
/// its `setup` unpacked (`REALSYS_HOME`).
pub struct Realsys {
    /// The repository.
    pub root: PathBuf,
    /// `shared/realsys`: the scripts.
    pub dir: PathBuf,
    /// `REALSYS_HOME`: the unpacked builds.
    pub home: PathBuf,
}

/// Find the real systems, set up (`setup --check`), with `script` among them; anything
/// missing is a failure.
pub fn realsys(script: &str) -> Result<Realsys, String> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let dir = std::env::var_os("REALSYS_DIR").map_or_else(|| root.join("../shared/realsys"), PathBuf::from);
    let home = std::env::var_os("REALSYS_HOME").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/realsys"),
        PathBuf::from,
    );
    if !dir.join(script).exists() {
        return Err(format!("no {script} in {} (set REALSYS_DIR)", dir.display()));
    }
    let checked = Command::new(dir.join("setup"))
        .arg("--check")
        .env("REALSYS_HOME", &home)
        .status()
        .map_err(|e| e.to_string())?;
    if !checked.success() {
        return Err(format!(
            "the real systems are not set up in {}: run {}/setup (as root)",
            home.display(),
            dir.display()
        ));
    }
    Ok(Realsys { root, dir, home })
}

/// How many scenarios run at once: the variable `var`, else `default`.
pub fn jobs(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// Print the scenarios as libtest's `--list` does.
pub fn list<E>(all: &[Scenario<E>]) -> ExitCode {
    for scenario in all {
        println!("{}: test", scenario.name);
    }
    ExitCode::SUCCESS
}

/// Run `scenarios` on `jobs` threads; success only when every one passed.
pub fn run<E: Send + Sync + 'static>(tier: &str, scenarios: Vec<Scenario<E>>, env: E, jobs: usize) -> ExitCode {
    let began = Instant::now();
    let queue = Arc::new(Mutex::new(VecDeque::from(scenarios)));
    let env = Arc::new(env);
    let results: Arc<Mutex<Vec<(String, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..jobs.max(1))
        .map(|slot| {
            let (queue, results, env) = (queue.clone(), results.clone(), env.clone());
            std::thread::spawn(move || {
                while let Some(scenario) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    let start = Instant::now();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (scenario.run)(&env, slot)))
                        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
                    let seconds = start.elapsed().as_secs();
                    match &outcome {
                        Ok(()) => println!("PASS {} ({seconds}s)", scenario.name),
                        Err(why) => println!("FAIL {} ({seconds}s)\n{}\n", scenario.name, indent(why)),
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push((scenario.name, outcome.is_ok()));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let results = results.lock().map(|r| r.clone()).unwrap_or_default();
    let failed: Vec<&str> = results.iter().filter(|(_, ok)| !ok).map(|(n, _)| n.as_str()).collect();
    println!(
        "{tier}: {} passed, {} failed in {}s",
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

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".into())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
