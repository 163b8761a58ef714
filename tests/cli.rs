//! The `tdgen` binary: commands, outputs and exit codes (0 ok, 1 invalid spec, 2 usage/I/O).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tdgen(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tdgen starts");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("tdgen finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn render_without_input_prints_the_seed_cluster() {
    let out = tdgen(&["render"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let library = tdgen::render(&tdgen::check(&tdgen::Request::default()).unwrap().valid)
        .to_yaml()
        .unwrap();
    assert_eq!(text(&out.stdout), library);
    assert!(out.stderr.is_empty());
}

#[test]
fn render_reads_stdin_flags_and_json() {
    let out = tdgen(
        &[
            "render",
            "-f",
            "-",
            "-n",
            "tsdb",
            "--set",
            "spec.dnodes=4",
            "-o",
            "json",
        ],
        Some("apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {name: td}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let items = list["items"].as_array().expect("items");
    assert!(items.iter().all(|i| i["metadata"]["namespace"] == "tsdb"));
    let sts = items
        .iter()
        .find(|i| i["kind"] == "StatefulSet")
        .expect("a StatefulSet");
    assert_eq!(sts["spec"]["replicas"], 4);
}

#[test]
fn invalid_specs_exit_1_with_located_findings_and_no_output() {
    let out = tdgen(
        &["render", "-f", "-"],
        Some("apiVersion: tdgen/v1\nkind: TDengineCluster\nspec:\n  dnodes: 2\n  mnodes: 3\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no manifests on error");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[mnodes-exceed-dnodes]"), "{stderr}");
    assert!(stderr.contains("--> <stdin>:5:11 (spec.mnodes)"), "{stderr}");

    let out = tdgen(
        &["validate", "-f", "-", "--format", "json"],
        Some("apiVersion: tdgen/v1\nkind: TDengineCluster\nspec:\n  storage:\n    data: {sise: 1Gi}\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json findings on stdout");
    assert_eq!(findings[0]["code"], "unknown-field");
    assert_eq!(findings[0]["location"]["line"], 5);
}

#[test]
fn warnings_pass_unless_denied() {
    let spec = "apiVersion: tdgen/v1\nkind: TDengineCluster\nspec: {storage: {data: {size: 4096Mi}}}\n";
    let out = tdgen(&["validate", "-f", "-"], Some(spec));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning[non-canonical-quantity]"));
    let out = tdgen(&["validate", "-f", "-", "--deny-warnings"], Some(spec));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(tdgen(&["render", "--bogus"], None).status.code(), Some(2));
    assert_eq!(
        tdgen(&["render", "-f", "/nonexistent/spec.yaml"], None).status.code(),
        Some(2)
    );
    assert_eq!(
        tdgen(&["render", "-o", "json", "--output-dir", "out"], None)
            .status
            .code(),
        Some(2),
        "-o and --output-dir together are a usage error, not silent YAML"
    );
}

#[test]
fn an_unknown_preset_is_an_invalid_input_everywhere() {
    for args in [
        &["render", "--preset", "nope"][..],
        &["validate", "--preset", "nope"],
        &["init", "--preset", "nope"],
        &["presets", "show", "nope"],
        &["plan", "mnodes", "--preset", "nope"],
        &["explain", "--preset", "nope"],
    ] {
        let out = tdgen(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("error[unknown-preset]"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn output_dir_writes_the_docs_files() {
    let dir = std::env::temp_dir().join(format!("tdgen-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = tdgen(&["render", "--output-dir", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Kustomization",
            "taosd-service.yaml",
            "tdengine-configmap.yaml",
            "tdengine-job.yaml",
            "tdengine-poddisruptionbudget.yaml",
            "tdengine.yaml"
        ]
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn init_prints_a_starter_that_renders_like_its_preset() {
    for preset in tdgen::Preset::all() {
        let out = tdgen(&["init", "--preset", preset.name], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let starter = text(&out.stdout);
        assert!(starter.starts_with("# yaml-language-server: $schema="), "{starter}");
        let from_starter = tdgen(&["render", "-f", "-"], Some(&starter));
        assert_eq!(
            from_starter.status.code(),
            Some(0),
            "{}\n{starter}",
            text(&from_starter.stderr)
        );
        let findings = text(&from_starter.stderr);
        assert!(
            !findings.contains("warning[") && !findings.contains("error["),
            "the starter has no warnings: {findings}"
        );
        let from_preset = tdgen(&["render", "--preset", preset.name], None);
        assert_eq!(
            text(&from_starter.stdout),
            text(&from_preset.stdout),
            "preset {}",
            preset.name
        );
        // Nothing the preset decides is hidden: every value the preset sets is written in the
        // starter, at the same place.
        let written = &serde_saphyr::from_str::<serde_json::Value>(&starter).expect("the starter parses");
        let values: serde_json::Value = serde_saphyr::from_str(preset.text).expect("the preset parses");
        for (pointer, value) in leaves(&values, String::new()) {
            let shown = written.pointer(&pointer).map(scalar_text);
            assert_eq!(
                shown.as_deref(),
                Some(scalar_text(value).as_str()),
                "preset {}: the starter does not show {pointer}\n{starter}",
                preset.name
            );
        }
    }
}

/// Every scalar of a JSON value with its JSON pointer (list items by index).
fn leaves(value: &serde_json::Value, at: String) -> Vec<(String, &serde_json::Value)> {
    match value {
        serde_json::Value::Object(fields) => fields
            .iter()
            .flat_map(|(key, v)| leaves(v, format!("{at}/{key}")))
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| leaves(v, format!("{at}/{i}")))
            .collect(),
        scalar => vec![(at, scalar)],
    }
}

/// A scalar as text, so `64` and `"64"` compare equal (the starter writes config values as
/// strings).
fn scalar_text(value: &serde_json::Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

#[test]
fn schema_and_presets_commands() {
    let out = tdgen(&["schema"], None);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    assert_eq!(schema["title"], "TDengineCluster");
    assert_eq!(schema["additionalProperties"], false);
    let listing = text(&tdgen(&["presets"], None).stdout);
    for preset in tdgen::Preset::all() {
        assert!(listing.contains(preset.name));
        assert_eq!(
            text(&tdgen(&["presets", "show", preset.name], None).stdout),
            preset.text
        );
    }
}

#[test]
fn set_errors_name_the_expression() {
    let out = tdgen(&["validate", "--set", "spec.dnodes"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[invalid-set]: `--set spec.dnodes`: missing `=`"),
        "{stderr}"
    );
    let out = tdgen(&["validate", "--set", "spec.dnodes=three"], None);
    assert!(
        text(&out.stderr).contains("`--set spec.dnodes=three`: `three` is not a whole number"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn plan_diff_and_explain_commands() {
    let out = tdgen(&["plan", "scale", "--to", "2"], None);
    assert_eq!(out.status.code(), Some(1), "scaling below 3 mnodes is refused");
    assert!(
        text(&out.stderr).contains("error[plan-scale-refused]"),
        "{}",
        text(&out.stderr)
    );
    let out = tdgen(&["plan", "scale"], None);
    assert_eq!(out.status.code(), Some(2), "--to is required for scale");
    let out = tdgen(&["plan", "mnodes", "--format", "markdown"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("- [ ] **1. Read the dnodes and mnodes**"));

    let dir = std::env::temp_dir().join(format!("tdgen-cli-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        tdgen(&["render", "--output-dir", dir.to_str().unwrap()], None)
            .status
            .code(),
        Some(0)
    );
    let same = tdgen(&["diff", "--previous", dir.to_str().unwrap()], None);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    assert_eq!(text(&same.stdout), "no changes\n");
    let shrink = tdgen(
        &[
            "diff",
            "--previous",
            dir.to_str().unwrap(),
            "--set",
            "spec.storage.data.size=10Gi",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(
        shrink.status.code(),
        Some(3),
        "a claim template change would be rejected"
    );
    let report: serde_json::Value = serde_json::from_slice(&shrink.stdout).expect("one JSON document");
    assert_eq!(report["changes"][0]["class"], "rejected");
    assert!(report["findings"].is_array(), "findings inside the report");
    std::fs::remove_dir_all(&dir).unwrap();

    let out = tdgen(&["explain", "-n", "tsdb"], None);
    assert!(text(&out.stdout).contains("tdengine-0.taosd.tsdb.svc.cluster.local:6030"));
}

#[test]
fn set_preset_acts_like_the_flag() {
    let by_set = tdgen(&["render", "--set", "spec.preset=dev"], None);
    let by_flag = tdgen(&["render", "--preset", "dev"], None);
    assert_eq!(by_set.status.code(), Some(0), "{}", text(&by_set.stderr));
    assert_eq!(
        by_set.stdout, by_flag.stdout,
        "--set spec.preset=dev renders the dev preset"
    );
    let out = tdgen(&["render", "--set", "spec.preset=nonsense"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[unknown-preset]: there is no preset `nonsense`"));
    let out = tdgen(&["render", "--preset", "ha", "--set", "spec.preset=dev"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error[preset-conflict]"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_explicit_input_must_be_a_spec() {
    for input in [
        "",
        "# only a comment\n",
        "spec: {dnodes: 3}\n",
        "apiVersion: v1\nkind: ConfigMap\n",
    ] {
        let out = tdgen(&["render", "-f", "-"], Some(input));
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert!(out.stdout.is_empty(), "{input:?}: nothing rendered");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("missing-envelope") || stderr.contains("error[kind]"),
            "{input:?}: {stderr}"
        );
    }
    let out = tdgen(&["render"], None);
    assert_eq!(out.status.code(), Some(0), "no -f still means the defaults");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tdgen-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

#[test]
fn output_dir_never_writes_through_a_link() {
    let dir = scratch("links");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(dir.join("elsewhere"), "precious\n").expect("target");
    std::os::unix::fs::symlink(dir.join("elsewhere"), out.join("tdengine.yaml")).expect("link");
    std::os::unix::fs::symlink(dir.join("missing/nothing"), out.join("taosd-service.yaml")).expect("dangling");
    let rendered = tdgen(&["render", "--output-dir", out.to_str().unwrap()], None);
    assert_eq!(rendered.status.code(), Some(2), "a link is in the way: refused");
    assert!(
        text(&rendered.stderr).contains("is a symbolic link where tdgen writes a rendered file"),
        "{}",
        text(&rendered.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("elsewhere")).unwrap(),
        "precious\n",
        "the link's target is untouched"
    );
    assert!(
        !dir.join("missing").exists(),
        "nothing created through the dangling link"
    );
    for name in ["tdengine.yaml", "taosd-service.yaml"] {
        let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(meta.file_type().is_symlink(), "{name} is still the user's link");
    }
    assert_eq!(names(&out), ["taosd-service.yaml", "tdengine.yaml"], "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_dir_removes_what_tdgen_no_longer_renders_and_nothing_else() {
    let dir = scratch("stale");
    let out = dir.join("out");
    let arg = out.to_str().unwrap();
    assert_eq!(
        tdgen(
            &["render", "--preset", "production", "-n", "db", "--output-dir", arg],
            None
        )
        .status
        .code(),
        Some(0)
    );
    std::fs::write(
        out.join("mine.yaml"),
        "# my own file\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine}\n",
    )
    .unwrap();
    // Files whose first line only starts like tdgen's marker are the user's.
    let marker = "# Generated by tdgen from a TDengineCluster spec: edit the spec and render again.";
    let mine = ["mine-edited.yaml", "mine-suffix.yaml", "mine-crlf.yaml"];
    for (name, first) in mine.iter().zip([" (edited by hand)\n", "X\n", "\r\n"]) {
        std::fs::write(out.join(name), format!("{marker}{first}kind: ConfigMap\n")).unwrap();
    }
    let before: Vec<String> = names(&out);
    let out_seed = tdgen(&["render", "-n", "db", "--output-dir", arg], None);
    assert_eq!(out_seed.status.code(), Some(0), "{}", text(&out_seed.stderr));
    let after = names(&out);
    assert!(
        after.contains(&"mine.yaml".to_owned()),
        "a file without tdgen's marker stays"
    );
    let expected: Vec<String> = {
        let checked = tdgen::check(&tdgen::Request {
            namespace: Some("db".into()),
            ..Default::default()
        })
        .unwrap();
        let mut names: Vec<String> = tdgen::render(&checked.valid)
            .files()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        names.push("mine.yaml".into());
        names.extend(mine.iter().map(|n| n.to_string()));
        names.sort();
        names
    };
    assert_eq!(after, expected, "before: {before:?}");
    assert!(
        text(&out_seed.stderr).contains("removed "),
        "{}",
        text(&out_seed.stderr)
    );
    for name in after.iter().filter(|n| !n.starts_with("mine")) {
        let first = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(first.starts_with("# Generated by tdgen"), "{name} carries the marker");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn output_dir_refuses_collisions_and_changes_nothing_on_failure() {
    let dir = scratch("collide");
    let out = dir.join("out");
    let arg = out.to_str().unwrap();
    let collision = tdgen(
        &["render", "--set", "metadata.name=kustomization", "--output-dir", arg],
        None,
    );
    assert_eq!(collision.status.code(), Some(2));
    assert!(
        text(&collision.stderr).contains("would both be written to kustomization.yaml"),
        "{}",
        text(&collision.stderr)
    );
    assert!(!out.join("Kustomization").exists());
    assert_eq!(tdgen(&["render", "--output-dir", arg], None).status.code(), Some(0));
    let before: Vec<(String, String)> = names(&out)
        .into_iter()
        .map(|n| {
            let t = std::fs::read_to_string(out.join(&n)).unwrap();
            (n, t)
        })
        .collect();
    std::fs::remove_file(out.join("tdengine-job.yaml")).unwrap();
    std::fs::create_dir(out.join("tdengine-job.yaml")).unwrap();
    let failed = tdgen(&["render", "--set", "spec.dnodes=4", "--output-dir", arg], None);
    assert_eq!(failed.status.code(), Some(2));
    for (name, text_before) in before.iter().filter(|(n, _)| n != "tdengine-job.yaml") {
        assert_eq!(
            &std::fs::read_to_string(out.join(name)).unwrap(),
            text_before,
            "{name} unchanged after a failed render"
        );
    }
    assert!(
        !names(&out).iter().any(|n| n.starts_with('.')),
        "no temporary file left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run tdgen with stdout and stderr connected as given, feeding `stdin`.
fn tdgen_with(args: &[&str], stdin: &str, stdout: Stdio, stderr: Stdio) -> Option<i32> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("tdgen starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait().expect("tdgen finishes").code()
}

/// The write end of a pipe whose reader is already gone.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

fn full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

#[test]
fn closed_or_full_streams_never_panic() {
    let invalid = "apiVersion: tdgen/v1\nkind: TDengineCluster\nspec: {dnodes: 2, mnodes: 3}\n";
    let valid = "apiVersion: tdgen/v1\nkind: TDengineCluster\nspec: {dnodes: 3}\n";
    // `tdgen validate … 2>&1 | head -1`: the reader leaves, the exit code stays the command's.
    assert_eq!(
        tdgen_with(&["validate", "-f", "-"], invalid, Stdio::null(), closed_pipe()),
        Some(1)
    );
    assert_eq!(
        tdgen_with(&["render", "-f", "-"], valid, closed_pipe(), Stdio::null()),
        Some(0)
    );
    assert_eq!(
        tdgen_with(&["validate", "-f", "-"], invalid, Stdio::null(), full()),
        Some(1),
        "diagnostics with nowhere to go leave the command's own exit code"
    );
    assert_eq!(
        tdgen_with(&["render", "-f", "-"], valid, full(), Stdio::null()),
        Some(2),
        "a full stdout is an error"
    );
    assert_eq!(tdgen_with(&["render", "-f", "-"], valid, full(), full()), Some(2));
}

#[test]
fn inputs_are_bounded_and_io_errors_are_said_once() {
    for args in [
        vec!["render", "-f", "/dev/zero"],
        vec!["diff", "--previous", "/dev/zero"],
    ] {
        let out = tdgen(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("larger than 4 MiB"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = tdgen(&["validate", "-f", "/no/such/file.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "said once: {stderr}"
    );
    let out = tdgen(&["validate", "-f", "/no/such/file.yaml", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON finding on stdout");
    assert_eq!(json[0]["code"], "io-error");
    let started = std::time::Instant::now();
    let huge = format!(
        "apiVersion: tdgen/v1\nkind: TDengineCluster\nspec:\n  timezone: {}\n",
        "Asia/Shanghai".repeat(120_000)
    );
    let out = tdgen(&["validate", "-f", "-"], Some(&huge));
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed().as_secs() < 5, "a 1.5 MB time zone is judged quickly");
    assert!(
        out.stderr.len() < 2000,
        "the excerpt is cut: {} bytes",
        out.stderr.len()
    );
}

#[test]
fn the_committed_schema_is_the_one_tdgen_prints() {
    let out = tdgen(&["schema"], None);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(format!(
        "{}/schema/tdenginecluster-v1.schema.json",
        crate::support::ROOT
    ))
    .expect("schema/tdenginecluster-v1.schema.json");
    assert_eq!(
        text(&out.stdout),
        committed,
        "run `tdgen schema > schema/tdenginecluster-v1.schema.json`"
    );
    assert!(committed.contains(&format!("\"$id\": \"{}\"", tdgen::SCHEMA_ID)));
}

#[test]
fn an_unchanged_render_leaves_the_files_alone() {
    let dir = std::env::temp_dir().join(format!("tdgen-cli-unchanged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let target = dir.to_str().unwrap();
    assert_eq!(tdgen(&["render", "--output-dir", target], None).status.code(), Some(0));
    let statefulset = dir.join("tdengine.yaml");
    let before = std::fs::metadata(&statefulset).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = tdgen(&["render", "--output-dir", target], None);
    assert_eq!(again.status.code(), Some(0));
    let said = text(&again.stderr);
    assert!(said.contains(&format!("unchanged {}", statefulset.display())), "{said}");
    assert!(!said.contains("wrote"), "nothing was rewritten: {said}");
    assert_eq!(
        std::fs::metadata(&statefulset).unwrap().modified().unwrap(),
        before,
        "mtime kept"
    );
    let changed = tdgen(&["render", "--output-dir", target, "--set", "spec.dnodes=4"], None);
    assert!(text(&changed.stderr).contains(&format!("wrote {}", statefulset.display())));
    let _ = std::fs::remove_dir_all(&dir);
}
