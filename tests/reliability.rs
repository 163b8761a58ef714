//! Failing closed on hostile file systems: output directories killed mid-write, two renders at
//! once, something tdgen did not write in the way, FIFOs and directory links in a fleet or a
//! previous render, and the kustomize plugin's path as a link.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::{Sandbox, spec};

fn tdgen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tdgen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fleet of `n` clusters under `DIR/clusters`, all at image tag `tag`.
fn fleet_specs(dir: &Path, n: usize, tag: &str) {
    let clusters = dir.join("clusters");
    let _ = std::fs::remove_dir_all(&clusters);
    for i in 0..n {
        let body = format!(
            "metadata: {{name: c{i}, namespace: ns{}}}\nspec: {{preset: dev, image: {{tag: \"{tag}\"}}}}\n",
            i % 7
        );
        let path = clusters.join(format!("c{i:04}.yaml"));
        std::fs::create_dir_all(&clusters).expect("clusters");
        std::fs::write(path, spec(&body)).expect("spec");
    }
}

/// Every file under `dir` (relative path, contents), sorted.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)
            .expect("readable")
            .map(|e| e.expect("entry"))
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir").display().to_string();
                files.push((relative, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

/// tdgen's temporary files under `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.contains(".tdgen-"))
        .collect()
}

/// The file names of one cluster directory of a tree, and their texts.
fn cluster<'a>(files: &'a [(String, String)], prefix: &str) -> Vec<&'a (String, String)> {
    files.iter().filter(|(name, _)| name.starts_with(prefix)).collect()
}

#[test]
fn a_fleet_render_killed_at_any_instant_is_old_new_or_refused() {
    let sandbox = Sandbox::new("reliability-kill", &[]);
    let dir = &sandbox.dir;
    // Kills spread over a whole render's time, the write phase (its end) most densely.
    let span = old_and_new_trees(dir);
    const ATTEMPTS: u32 = 30;
    let (old, new) = (tree(&dir.join("old")), tree(&dir.join("new")));
    let mut outcomes = [0usize; 3];
    for attempt in 0..ATTEMPTS {
        let out = dir.join("out");
        let mut child = render_over_old(dir, &out);
        std::thread::sleep(instant(span, attempt, ATTEMPTS));
        let _ = child.kill();
        let _ = child.wait();
        let diff = tdgen(dir, &["diff", "-f", "clusters", "--previous", "out"]);
        let now: Vec<(String, String)> = tree(&out).into_iter().filter(|(n, _)| !n.contains(".tdgen-")).collect();
        match diff.status.code() {
            Some(2) => {
                assert!(
                    text(&diff.stderr).contains("render the fleet again")
                        || text(&diff.stderr).contains("render the deployed spec again"),
                    "a refusal says what to do: {}",
                    text(&diff.stderr)
                );
                outcomes[2] += 1;
            }
            Some(0 | 3) => {
                // Accepted: every cluster directory is wholly the old or wholly the new render.
                for i in 0..60 {
                    let prefix = format!("ns{}/c{i}/", i % 7);
                    let here = cluster(&now, &prefix);
                    assert!(
                        here == cluster(&old, &prefix) || here == cluster(&new, &prefix),
                        "attempt {attempt}: {prefix} mixes two renders and diff accepted it"
                    );
                }
                outcomes[usize::from(now == new)] += 1;
            }
            other => panic!("attempt {attempt}: diff exited {other:?}: {}", text(&diff.stderr)),
        }
        let again = tdgen(dir, &["render", "-f", "clusters", "--output-dir", "out"]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(
            temporaries(&out),
            Vec::<String>::new(),
            "the next render removes every temporary file"
        );
        assert_eq!(tree(&out), new, "the next render is the new render");
    }
    eprintln!("old, new, refused: {outcomes:?}");
}

/// A 60-cluster fleet rendered into `DIR/old`, then changed (another image tag) and rendered
/// into `DIR/new`, `DIR/clusters` left as the new specs; how long the second render took.
fn old_and_new_trees(dir: &Path) -> std::time::Duration {
    fleet_specs(dir, 60, "3.3.6.13");
    let old = tdgen(dir, &["render", "-f", "clusters", "--output-dir", "old"]);
    assert!(old.status.success(), "{}", text(&old.stderr));
    fleet_specs(dir, 60, "3.3.6.14");
    let started = std::time::Instant::now();
    let new = tdgen(dir, &["render", "-f", "clusters", "--output-dir", "new"]);
    assert!(new.status.success(), "{}", text(&new.stderr));
    started.elapsed()
}

/// Start `render -f clusters --output-dir OUT` over a fresh copy of `DIR/old`.
fn render_over_old(dir: &Path, out: &Path) -> std::process::Child {
    let _ = std::fs::remove_dir_all(out);
    copy_tree(&dir.join("old"), out);
    Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(["render", "-f", "clusters", "--output-dir"])
        .arg(out)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tdgen starts")
}

/// When to interrupt attempt `attempt` of `attempts`: spread over a whole render's time
/// (`span`) and a little past it, the write phase (its end) most densely.
fn instant(span: std::time::Duration, attempt: u32, attempts: u32) -> std::time::Duration {
    let share = 1.0 - f64::from(attempts - attempt).powi(2) / f64::from(attempts).powi(2);
    span.mul_f64(share * 1.2)
}

/// SIGINT, SIGTERM and SIGHUP (a user's ^C, a CI runner's timeout, a closed terminal) at any
/// instant: tdgen removes its temporary files itself and the tree is wholly the old render or
/// wholly the new one, with no later render needed; the process ends by that signal.
#[test]
fn a_fleet_render_interrupted_by_a_signal_leaves_the_old_or_the_new_tree() {
    use std::os::unix::process::ExitStatusExt as _;
    let sandbox = Sandbox::new("reliability-signal", &[]);
    let dir = &sandbox.dir;
    let span = old_and_new_trees(dir);
    let (old, new) = (tree(&dir.join("old")), tree(&dir.join("new")));
    const ATTEMPTS: u32 = 24;
    let mut outcomes = [0usize; 2];
    for attempt in 0..ATTEMPTS {
        let (name, number) = [("INT", 2), ("TERM", 15), ("HUP", 1)][attempt as usize % 3];
        let out = dir.join("out");
        let mut child = render_over_old(dir, &out);
        std::thread::sleep(instant(span, attempt, ATTEMPTS));
        let sent = Command::new("kill")
            .args(["-s", name, &child.id().to_string()])
            .status()
            .expect("kill runs");
        let status = child.wait().expect("tdgen ends");
        assert!(
            status.success() || status.signal() == Some(number) || !sent.success(),
            "attempt {attempt}: SIG{name} ended tdgen with {status:?}"
        );
        assert_eq!(
            temporaries(&out),
            Vec::<String>::new(),
            "attempt {attempt}: SIG{name} ({status:?}) left temporary files"
        );
        let now = tree(&out);
        assert!(
            now == old || now == new,
            "attempt {attempt}: SIG{name} left a tree that is neither render"
        );
        outcomes[usize::from(now == new)] += 1;
    }
    eprintln!("old, new: {outcomes:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    for (name, text) in tree(from) {
        let path = to.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, text).expect("copy");
    }
}

#[test]
fn two_renders_into_one_directory_take_turns() {
    let sandbox = Sandbox::new("reliability-concurrent", &[]);
    let dir = &sandbox.dir;
    std::fs::write(
        dir.join("backups.yaml"),
        spec("spec: {backup: {schedule: \"0 1 * * *\"}}\n"),
    )
    .expect("spec");
    for round in 0..6 {
        // One render adds a CronJob's file, the other removes it: both prune the same file.
        let children: Vec<_> = [
            &["render", "-f", "backups.yaml", "--output-dir", "out"][..],
            &["render", "--output-dir", "out"],
        ]
        .iter()
        .map(|args| {
            Command::new(env!("CARGO_BIN_EXE_tdgen"))
                .args(*args)
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("tdgen starts")
        })
        .collect();
        for child in children {
            let out = child.wait_with_output().expect("waits");
            assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        }
        let diff = tdgen(dir, &["diff", "--previous", "out"]);
        let with_backups = tdgen(dir, &["diff", "-f", "backups.yaml", "--previous", "out"]);
        let consistent = [&diff, &with_backups]
            .iter()
            .any(|o| text(&o.stdout).starts_with("no changes"));
        assert!(consistent, "round {round}: the directory is one of the two renders");
        assert_eq!(temporaries(&dir.join("out")), Vec::<String>::new());
    }
}

#[test]
fn a_fleet_that_cannot_write_one_cluster_changes_none() {
    let sandbox = Sandbox::new("reliability-obstacle", &[]);
    let dir = &sandbox.dir;
    fleet_specs(dir, 3, "3.3.6.13");
    assert!(
        tdgen(dir, &["render", "-f", "clusters", "--output-dir", "out"])
            .status
            .success()
    );
    let before = tree(&dir.join("out"));
    fleet_specs(dir, 3, "3.3.6.14");
    // The last cluster's StatefulSet file cannot be replaced (a directory is in its way), as a
    // full disk would stop it after the first clusters were written.
    let blocked = dir.join("out/ns2/c2/c2.yaml");
    std::fs::remove_file(&blocked).expect("remove");
    std::fs::create_dir(&blocked).expect("obstacle");
    let out = tdgen(dir, &["render", "-f", "clusters", "--output-dir", "out"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("c2.yaml"), "{}", text(&out.stderr));
    std::fs::remove_dir(&blocked).expect("obstacle gone");
    let after: Vec<_> = tree(&dir.join("out"));
    let expected: Vec<_> = before.into_iter().filter(|(n, _)| n != "ns2/c2/c2.yaml").collect();
    assert_eq!(after, expected, "no cluster was changed, no temporary file left");
}

#[test]
fn a_file_tdgen_did_not_write_is_never_replaced() {
    let sandbox = Sandbox::new("reliability-foreign", &[]);
    let dir = &sandbox.dir;
    std::fs::create_dir_all(dir.join("out")).expect("out");
    std::fs::write(dir.join("out/tdengine.yaml"), "# mine\nkind: ConfigMap\n").expect("mine");
    let out = tdgen(dir, &["render", "--output-dir", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("was not written by tdgen"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out/tdengine.yaml")).expect("kept"),
        "# mine\nkind: ConfigMap\n"
    );
    assert_eq!(tree(&dir.join("out")).len(), 1, "nothing else written");
    std::fs::write(dir.join("file"), "").expect("a file");
    let out = tdgen(dir, &["render", "--output-dir", "file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("file: is not a directory"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_edited_or_mixed_output_directory_is_refused_by_diff() {
    let sandbox = Sandbox::new("reliability-record", &[]);
    let dir = &sandbox.dir;
    assert!(tdgen(dir, &["render", "--output-dir", "out"]).status.success());
    assert!(tdgen(dir, &["diff", "--previous", "out"]).status.success());
    let kustomization = std::fs::read_to_string(dir.join("out/Kustomization")).expect("record");
    let checked = Command::new("sh")
        .args([
            "-c",
            "grep '^# sha256sum: ' Kustomization | cut -c14- | sha256sum -c --quiet",
        ])
        .current_dir(dir.join("out"))
        .status()
        .expect("sha256sum runs");
    assert!(
        checked.success(),
        "the record is what sha256sum -c reads: {kustomization}"
    );
    assert!(
        tdgen(dir, &["render", "--set", "spec.dnodes=5", "--output-dir", "other"])
            .status
            .success()
    );
    std::fs::copy(dir.join("other/tdengine.yaml"), dir.join("out/tdengine.yaml")).expect("mix");
    let out = tdgen(dir, &["diff", "--previous", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("tdengine.yaml is not the file its kustomization records"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn fifos_and_directory_links_never_hang_a_walk() {
    let sandbox = Sandbox::new("reliability-walk", &[]);
    let dir = &sandbox.dir;
    fleet_specs(dir, 2, "3.3.6.13");
    let clusters = dir.join("clusters");
    std::os::unix::fs::symlink("..", clusters.join("up")).expect("loop");
    std::os::unix::fs::symlink("/", clusters.join("root")).expect("root");
    std::os::unix::fs::symlink(clusters.join("c0000.yaml"), clusters.join("shared.yml")).expect("file link");
    let out = with_timeout(dir, &["validate", "-f", "clusters"]);
    // The file link is read (a second spec for c0); the directory links are not followed.
    assert!(
        text(&out.stderr).contains("fleet-duplicate-cluster"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stderr).matches("fleet-duplicate-cluster").count(),
        1,
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(clusters.join("shared.yml")).expect("unlink");
    mkfifo(&clusters.join("pipe.yaml"));
    let out = with_timeout(dir, &["validate", "-f", "clusters"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("pipe.yaml: not a regular file"),
        "{}",
        text(&out.stderr)
    );
    assert!(tdgen(dir, &["render", "--output-dir", "previous"]).status.success());
    mkfifo(&dir.join("previous/extra.yaml"));
    let out = with_timeout(dir, &["diff", "--previous", "previous"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("extra.yaml: not a regular file"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(unix)]
fn mkfifo(path: &PathBuf) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(made.success());
}

/// Run tdgen, killing it after 20 s: a hang fails the test instead of stalling it.
fn with_timeout(dir: &Path, args: &[&str]) -> Output {
    let child = Command::new("timeout")
        .arg("20")
        .arg(env!("CARGO_BIN_EXE_tdgen"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("timeout runs");
    let out = child.wait_with_output().expect("waits");
    assert_ne!(out.status.code(), Some(124), "tdgen {args:?} hung");
    out
}

#[cfg(unix)]
#[test]
fn the_plugin_is_never_written_through_a_link() {
    let sandbox = Sandbox::new("reliability-plugin", &[]);
    let dir = &sandbox.dir;
    std::fs::write(dir.join("victim"), "precious\n").expect("victim");
    let path = tdgen::kustomize::plugin_path(&dir.join("plugins"));
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
    std::os::unix::fs::symlink(dir.join("victim"), &path).expect("link");
    let out = tdgen(dir, &["kustomize-plugin", "install", "--dir", "plugins"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("victim")).expect("kept"), "precious\n");
    use std::os::unix::fs::PermissionsExt as _;
    let victim = std::fs::metadata(dir.join("victim")).expect("meta");
    assert_eq!(
        victim.permissions().mode() & 0o111,
        0,
        "the link's target was not made executable"
    );
    let installed = std::fs::symlink_metadata(&path).expect("installed");
    assert!(installed.file_type().is_file() && installed.permissions().mode() & 0o111 != 0);
}

/// `sh -c SCRIPT` with `$TDGEN` set, in `dir`: its exit code and stderr.
fn shell(dir: &Path, script: &str) -> (Option<i32>, String) {
    let out = Command::new("sh")
        .args(["-c", script])
        .env("TDGEN", env!("CARGO_BIN_EXE_tdgen"))
        .current_dir(dir)
        .output()
        .expect("sh runs");
    (out.status.code(), text(&out.stderr))
}

#[cfg(target_os = "linux")]
#[test]
fn exit_codes_tell_whether_the_output_was_written() {
    let sandbox = Sandbox::new("reliability-exit", &[]);
    let dir = &sandbox.dir;
    for (script, code, says) in [
        ("\"$TDGEN\" render >&-", 2, "stdout is closed"),
        ("\"$TDGEN\" render >/dev/full", 2, "No space left"),
        ("\"$TDGEN\" --help >/dev/full", 2, ""),
        ("\"$TDGEN\" --version >/dev/full", 2, ""),
        ("\"$TDGEN\" render >/dev/null", 0, ""),
        ("\"$TDGEN\" render | head -c 10 >/dev/null", 0, ""),
        ("\"$TDGEN\" render --output-dir out 2>/dev/full", 0, ""),
        ("\"$TDGEN\" render --output-dir out2 >&- 2>&-", 0, ""),
    ] {
        let (status, stderr) = shell(dir, script);
        assert_eq!(status, Some(code), "{script}: {stderr}");
        assert!(stderr.contains(says), "{script}: {stderr}");
    }
    assert!(dir.join("out/Kustomization").is_file() && dir.join("out2/Kustomization").is_file());
}

#[test]
fn values_kubernetes_or_taosd_refuse_are_refused_in_every_spelling() {
    let table =
        std::fs::read_to_string(Path::new(crate::support::ROOT).join("tests/fixtures/reliability/refused-values.tsv"))
            .expect("table");
    let rows = table.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let mut checked = 0;
    for row in rows {
        let [code, severity, body, says] = row.split('\t').collect::<Vec<_>>()[..] else {
            panic!("four columns: {row}");
        };
        let text = format!("apiVersion: tdgen/v1\nkind: TDengineCluster\nspec: {body}\n");
        let report = match tdgen::check(&tdgen::Request::from_text("case.yaml", &text)) {
            Ok(checked) => checked.report,
            Err(report) => report,
        };
        let finding = report.findings.iter().find(|f| f.code == code);
        let finding = finding.unwrap_or_else(|| panic!("{body}: no `{code}` in\n{report}"));
        assert_eq!(format!("{:?}", finding.severity).to_lowercase(), severity, "{body}");
        assert!(finding.message.contains(says), "{body}: {}", finding.message);
        checked += 1;
    }
    assert!(checked >= 20, "the table has its rows");
}
