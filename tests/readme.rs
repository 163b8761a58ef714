//! The README and the manual are a test: every shell block runs as written (README first, then
//! the pages of `docs/src/SUMMARY.md` in its order, all in one scratch directory, with the built
//! `tdgen` on PATH), every spec they show validates, and output they show is what tdgen prints. A comment `<!-- readme-test: … -->` on the line before a block says how:
//!
//! - `cluster`: the block needs a cluster; it runs against the stand-ins of `tests/fakes/`
//!   (`kubectl`, `taos`, `curl`) in front of a healthy 3-dnode cluster `tdengine`.
//! - `file NAME`: a YAML block is saved as NAME for later blocks (and must validate).
//! - `output`: a text block that starts with `$ COMMAND`: each shown line without `…` appears in
//!   what COMMAND prints.
//! - `run`: the quick start. `cargo run --release -- ARGS` runs the built tdgen with ARGS, and
//!   `cargo test` is this very test run (and `cargo install` leaves the built tdgen on PATH).
//! - `argocd-plugin`: a YAML block is an Argo CD ConfigManagementPlugin; its `discover.fileName`
//!   must match in the scratch directory, and its `generate` command runs there as the repo
//!   server runs it (`ARGOCD_APP_NAMESPACE` set; once more with `ARGOCD_ENV_SPEC`), printing
//!   exactly what `tdgen render` prints for that file and namespace.
//! - `skip (reason)`: not run; the reason is said in the README.
//!
//! Shell blocks without a comment run too; no shell block is left out silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Sandbox;

#[derive(Debug)]
struct Block {
    /// The page, relative to the repository root.
    page: String,
    lang: String,
    body: String,
    directive: String,
    line: usize,
}

/// The README, then every page of the manual in the order of `docs/src/SUMMARY.md`.
fn pages() -> Vec<String> {
    let root = Path::new(crate::support::ROOT);
    let summary = std::fs::read_to_string(root.join("docs/src/SUMMARY.md")).expect("docs/src/SUMMARY.md");
    let mut pages = vec!["README.md".to_owned()];
    for link in summary.split("](").skip(1) {
        let target = link.split(')').next().unwrap_or_default();
        let page = format!("docs/src/{target}");
        assert!(
            root.join(&page).is_file(),
            "SUMMARY.md links {target}, which does not exist"
        );
        pages.push(page);
    }
    pages
}

/// The fenced blocks of every page, in order, with the directive just above each.
fn blocks() -> Vec<Block> {
    pages().iter().flat_map(|page| blocks_of(page)).collect()
}

/// The fenced blocks of one page.
fn blocks_of(page: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(Path::new(crate::support::ROOT).join(page)).expect("a page");
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let indent = lines[i].len() - trimmed.len();
        if let Some(lang) = trimmed.strip_prefix("```").filter(|l| !l.is_empty()) {
            let directive = i
                .checked_sub(1)
                .and_then(|p| lines[p].trim().strip_prefix("<!-- readme-test:"))
                .and_then(|d| d.strip_suffix("-->"))
                .map(|d| d.trim().to_owned())
                .unwrap_or_default();
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim_start() != "```" {
                end += 1;
            }
            let body: String = lines[start..end]
                .iter()
                .map(|l| format!("{}\n", l.get(indent..).unwrap_or_else(|| l.trim_start())))
                .collect();
            blocks.push(Block {
                page: page.to_owned(),
                lang: lang.to_owned(),
                body,
                directive,
                line: i + 1,
            });
            i = end + 1;
        } else {
            i += 1;
        }
    }
    blocks
}

/// Stand-in for cargo in the quick start: `cargo run --release --` is the built tdgen.
const FAKE_CARGO: &str = r#"#!/usr/bin/env bash
# The README's cargo commands, inside the README test: `run -- ARGS` runs the tdgen this test
# built, `install` leaves it on PATH, and `test` is the run that executes this very script.
case "$1" in
  run) shift; while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done; shift; exec tdgen "$@" ;;
  install | test) exit 0 ;;
esac
echo "the README test does not know: cargo $*" >&2
exit 1
"#;

/// A healthy cluster `tdengine` (namespace `tdengine`, password Secret value `s3cret`) for the
/// fakes: three ready dnodes with mnodes, a StatefulSet with three pods.
fn healthy_cluster(sandbox: &Sandbox) {
    let ep = |o: u32| format!("tdengine-{o}.taosd.tdengine.svc.cluster.local:6030");
    sandbox.write(
        "dnodes",
        &(0..3)
            .map(|o| format!("{} {} ready\n", o + 1, ep(o)))
            .collect::<String>(),
    );
    sandbox.write("mnodes", "1 leader ready\n2 follower ready\n3 follower ready\n");
    sandbox.write(
        "databases",
        "information_schema NULL\nperformance_schema NULL\nmetrics 3\n",
    );
    sandbox.write("pods", "tdengine-0\ntdengine-1\ntdengine-2\n");
    sandbox.write("replicas", "3");
    sandbox.write("pvcs", "");
    sandbox.write("password", "s3cret");
    sandbox.write("secret", "s3cret");
    sandbox.write("pod-env", "TAOS_ROOT_PASSWORD=s3cret\n");
}

fn tdgen_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_tdgen"))
        .parent()
        .expect("bin dir")
        .to_owned()
}

/// Run a script in the sandbox; returns the exit code and everything it printed.
fn run(sandbox: &Sandbox, script: &str) -> (i32, String) {
    let path = format!(
        "{}:{}:{}",
        sandbox.dir.join("bin").display(),
        tdgen_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -eo pipefail\n{script}"))
        .current_dir(&sandbox.dir)
        .env("PATH", path)
        .env("FAKE", &sandbox.dir)
        .env("HOME", &sandbox.dir)
        .env_remove("NAMESPACE")
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn every_readme_example_runs_as_written() {
    let fakes = Path::new(crate::support::ROOT).join("tests/fakes");
    let texts: Vec<(String, String)> = ["taos", "kubectl", "curl"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(fakes.join(f)).expect("fake")))
        .chain([("cargo".to_owned(), FAKE_CARGO.to_owned())])
        .collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let sandbox = Sandbox::new("readme", &refs);
    healthy_cluster(&sandbox);
    let mut ran = 0;
    let mut failures = Vec::new();
    for block in blocks() {
        let where_ = format!("{}:{} ({} block)", block.page, block.line, block.lang);
        let directive = block.directive.as_str();
        if directive.starts_with("skip") {
            assert!(directive.contains('('), "{where_}: a skip says why");
            continue;
        }
        let outcome = match block.lang.as_str() {
            "sh" => Some(run(&sandbox, &block.body)),
            "yaml" if directive == "argocd-plugin" => Some(argocd_plugin(&sandbox, &block.body)),
            "yaml" => {
                let name = directive.strip_prefix("file ").unwrap_or(".readme-spec.yaml").trim();
                sandbox.write(name, &block.body);
                Some(run(&sandbox, &format!("tdgen validate -f {name}")))
            }
            "text" if directive.starts_with("output") => {
                let command = block
                    .body
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("$ "))
                    .expect("`$ COMMAND` first");
                let (code, printed) = run(&sandbox, command);
                for shown in block.body.lines().skip(1).filter(|l| !l.contains('…')) {
                    if !printed.contains(shown) {
                        failures.push(format!("{where_}: `{command}` does not print {shown:?}:\n{printed}"));
                    }
                }
                Some((code, printed))
            }
            _ => None,
        };
        let Some((code, printed)) = outcome else { continue };
        ran += 1;
        if code != 0 {
            failures.push(format!("{where_} exits {code}:\n{}\n---\n{printed}", block.body));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 7, "only {ran} blocks ran");
}

/// Run an Argo CD plugin's `generate` as the repo server does: in the source directory, with
/// the build environment. Returns 0 and the output when it prints what `tdgen render` does.
fn argocd_plugin(sandbox: &Sandbox, text: &str) -> (i32, String) {
    let plugin: serde_json::Value = serde_saphyr::from_str(text).expect("the plugin is YAML");
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    let discover = plugin["spec"]["discover"]["fileName"]
        .as_str()
        .expect("discover.fileName");
    if !sandbox.dir.join(discover.trim_start_matches("./")).exists() {
        return (
            1,
            format!("discover.fileName {discover} matches nothing in the source directory"),
        );
    }
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let mut words = strings(&plugin["spec"]["generate"]["command"]);
    words.extend(strings(&plugin["spec"]["generate"]["args"]));
    sandbox.write(
        "other.yaml",
        &crate::support::spec("metadata: {name: other}\nspec: {preset: dev}\n"),
    );
    let mut report = String::new();
    for (spec_env, file) in [(None, "cluster.yaml"), (Some("other.yaml"), "other.yaml")] {
        let path = format!(
            "{}:{}",
            tdgen_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new(&words[0]);
        command
            .args(&words[1..])
            .current_dir(&sandbox.dir)
            .env("PATH", path)
            .env("ARGOCD_APP_NAME", "tsdb")
            .env("ARGOCD_APP_NAMESPACE", "tsdb-prod")
            .env_remove("ARGOCD_ENV_SPEC");
        if let Some(value) = spec_env {
            command.env("ARGOCD_ENV_SPEC", value);
        }
        let generated = command.output().expect("the generate command runs");
        let (_, expected) = run(sandbox, &format!("tdgen render -f {file} -n tsdb-prod 2>/dev/null"));
        let printed = String::from_utf8_lossy(&generated.stdout).into_owned();
        if !generated.status.success() || printed != expected || !printed.contains("namespace: tsdb-prod") {
            return (
                1,
                format!(
                    "generate for {file}: {}\n{printed}",
                    String::from_utf8_lossy(&generated.stderr)
                ),
            );
        }
        report.push_str(&printed);
    }
    (0, report)
}

#[test]
fn the_quick_start_has_exactly_the_two_set_up_commands() {
    let quick = blocks_of("README.md").into_iter().next().expect("a first block");
    let commands: Vec<String> = quick
        .body
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands, ["cargo run --release -- render", "cargo test"]);
}

/// The manual's library example is the code of `tests/consumer`, which scripts/conformance
/// builds with another Kubernetes version and runs.
#[test]
fn the_library_example_is_the_consumer_crate() {
    let example = blocks()
        .into_iter()
        .find(|b| b.lang == "rust")
        .expect("the manual shows a Rust example");
    let consumer = std::fs::read_to_string(Path::new(crate::support::ROOT).join("tests/consumer/src/main.rs"))
        .expect("tests/consumer/src/main.rs");
    // Everything after the crate's doc comment: a whole program, as a reader would paste it.
    let (_, code) = consumer.split_once("\n\n").expect("a doc comment, then the program");
    assert_eq!(
        code, example.body,
        "{}'s Rust example and tests/consumer/src/main.rs differ",
        example.page
    );
}

#[test]
fn the_manual_names_every_version_gate() {
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/src/renders.md")).expect("renders.md");
    for gate in tdgen::tdengine::CAPABILITIES {
        let row = format!("| {} | {} |", gate.since, gate.what);
        assert!(
            page.contains(&row),
            "docs/src/renders.md lacks the version gate row `{row}`"
        );
    }
}
