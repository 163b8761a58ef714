//! `tdgen diff`: every spec field has a declared class, exercised through the binary (class,
//! exit code, remedy, and every remedy command run for real); the regressions; and
//! the gate failing closed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tdgen::diff::{ChangeClass, Previous, diff, read_previous};

use crate::diff_table::{Row, merged, rows};
use crate::support::{request, spec};

/// Every field the JSON Schema has: tdgen's own types are walked, Kubernetes types, maps and
/// lists are fields as a whole.
fn schema_fields() -> BTreeSet<String> {
    let schema = serde_json::to_value(tdgen::json_schema()).expect("schema");
    let defs = schema["$defs"].clone();
    let resolve = |mut node: Value| -> Option<Value> {
        loop {
            if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
                let name = reference.rsplit('/').next().unwrap_or_default();
                if name.starts_with("io.k8s") {
                    return None;
                }
                node = defs[name].clone();
            } else if let Some(variants) = node.get("anyOf").and_then(Value::as_array) {
                node = variants.iter().find(|v| v["type"] != "null")?.clone();
            } else {
                return Some(node);
            }
        }
    };
    fn walk(node: Value, path: String, resolve: &dyn Fn(Value) -> Option<Value>, out: &mut BTreeSet<String>) {
        match resolve(node).and_then(|n| n.get("properties").cloned()) {
            Some(Value::Object(properties)) => {
                for (key, child) in properties {
                    let child_path = if path.is_empty() { key } else { format!("{path}.{key}") };
                    walk(child, child_path, resolve, out);
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(schema, String::new(), &resolve, &mut out);
    out
}

#[test]
fn every_spec_field_has_a_row_and_every_row_a_field() {
    let fields = schema_fields();
    let all = rows();
    let rows: BTreeSet<String> = all.iter().map(|r| r.path.clone()).collect();
    let missing: Vec<&String> = fields.difference(&rows).collect();
    let stale: Vec<&String> = rows.difference(&fields).collect();
    assert!(missing.is_empty(), "spec fields without a diff class: {missing:?}");
    assert!(stale.is_empty(), "rows for fields the spec no longer has: {stale:?}");
    assert!(all.iter().all(|r| !r.reason.is_empty()));
}

fn tdgen(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tdgen runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tdgen-diffs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run a remedy command exactly as printed, with the built tdgen first on PATH.
fn run_remedy(command: &str, dir: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_tdgen")).parent().expect("bin dir");
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .output()
        .expect("sh runs")
}

/// Run a remedy command as printed. A runbook must be written (exit 0); a `tdgen diff` that
/// keeps the old value must no longer show the change it remedies as blocking.
fn remedy_fails(line: &str, change: &Value, dir: &Path) -> Option<String> {
    let ran = run_remedy(line, dir);
    let output = format!("{}{}", text(&ran.stdout), text(&ran.stderr));
    if !line.starts_with("tdgen diff ") {
        return (ran.status.code() != Some(0))
            .then(|| format!("remedy `{line}` exits {:?}: {output}", ran.status.code()));
    }
    let same = format!(
        "{} {}:",
        change["object"].as_str().unwrap_or_default(),
        change["field"].as_str().unwrap_or_default()
    );
    let still = text(&ran.stdout)
        .lines()
        .any(|l| (l.starts_with("rejected") || l.starts_with("unsafe")) && l.contains(&same));
    let ok = matches!(ran.status.code(), Some(0 | 3)) && !still;
    (!ok).then(|| {
        format!(
            "remedy `{line}` does not remove `{same}` (exit {:?}): {output}",
            ran.status.code()
        )
    })
}

/// Each fixture of `tests/fixtures/diffs/`, through the binary: the base rendered into a
/// directory, the change diffed against it; the class, the exit code, the words, a remedy for
/// every blocking change, and every remedy command run as printed. The text report (the
/// findings, for an invalid spec) is the snapshot.
#[test]
fn every_field_change_has_its_class_exit_code_and_working_remedies() {
    let dir = scratch("fields");
    insta::glob!("fixtures/diffs", "*.yaml", |file| {
        let row = Row::read(file);
        let case = dir.join(file.file_stem().expect("a name"));
        std::fs::create_dir_all(&case).expect("case dir");
        let base = row.base();
        std::fs::write(case.join("old.yaml"), &base).expect("old spec");
        std::fs::write(case.join("new.yaml"), merged(&base, &row.change)).expect("new spec");
        let render = tdgen(&["render", "-f", "old.yaml", "--output-dir", "previous"], &case);
        assert_eq!(
            render.status.code(),
            Some(0),
            "the base renders: {}",
            text(&render.stderr)
        );
        let human = tdgen(&["diff", "--previous", "previous", "-f", "new.yaml"], &case);
        let said = format!("{}{}", text(&human.stdout), text(&human.stderr));
        // What the user reads: the report, or for an invalid spec the findings.
        let shown = if row.class().is_some() {
            text(&human.stdout)
        } else {
            said.clone()
        };
        insta::assert_snapshot!("diff", shown);
        let Some(class) = row.class() else {
            assert_eq!(human.status.code(), Some(1), "invalid, so exit 1: {said}");
            assert!(said.contains(&row.says), "does not say {:?}: {said}", row.says);
            return;
        };
        let out = tdgen(
            &["diff", "--previous", "previous", "-f", "new.yaml", "--format", "json"],
            &case,
        );
        let stdout = text(&out.stdout);
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}"));
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        let worst = changes
            .iter()
            .filter_map(|c| c["class"].as_str())
            .map(|c| match c {
                "rejected" => ChangeClass::Rejected,
                "unsafe" => ChangeClass::Unsafe,
                _ => ChangeClass::Safe,
            })
            .min();
        let exit = if class == ChangeClass::Safe { 0 } else { 3 };
        assert_eq!((worst, out.status.code()), (Some(class), Some(exit)), "{stdout}");
        assert_eq!(human.status.code(), Some(exit), "{said}");
        assert!(
            stdout.contains(&row.says),
            "the report does not say {:?}: {stdout}",
            row.says
        );
        for change in changes.iter().filter(|c| c["class"] != "safe") {
            assert!(
                change["remedy"].as_str().is_some_and(|r| !r.is_empty()),
                "a blocking change without a remedy: {change}"
            );
        }
        for change in &changes {
            for command in change["commands"].as_array().into_iter().flatten() {
                let line = command["text"].as_str().unwrap_or_default();
                if let Some(failure) = remedy_fails(line, change, &case) {
                    panic!("{failure}");
                }
            }
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The library path: render `old`, read it back, diff against `new`.
fn report(old: &str, new: &str) -> tdgen::diff::DiffReport {
    let render = |spec: &str| {
        let checked = tdgen::check(&request(spec)).expect("valid");
        tdgen::render(&checked.valid)
    };
    let objects: Vec<Value> = serde_saphyr::from_multiple(&render(old).to_yaml().expect("yaml")).expect("stream");
    let previous = Previous::from_objects(objects, false).expect("a tdgen render");
    let checked = tdgen::check(&request(new)).expect("valid");
    diff(&previous, &checked.valid)
}

fn change<'a>(report: &'a tdgen::diff::DiffReport, field: &str) -> &'a tdgen::diff::Change {
    report
        .changes
        .iter()
        .find(|c| c.field == field)
        .unwrap_or_else(|| panic!("no change of {field}: {report:#?}"))
}

#[test]
fn a_renamed_cluster_is_blocking_and_its_old_objects_are_not_safe_to_prune() {
    let old = "metadata: {name: tdengine}\nspec: {dnodes: 3}\n";
    let report = report(old, "metadata: {name: tsdb}\nspec: {dnodes: 3}\n");
    assert!(report.is_blocking());
    assert_eq!(change(&report, "metadata.name").class, ChangeClass::Unsafe);
    let sts = report
        .changes
        .iter()
        .find(|c| c.object == "StatefulSet/tdengine" && c.field.is_empty())
        .expect("removed StatefulSet");
    assert_eq!(sts.class, ChangeClass::Unsafe, "removing a StatefulSet is never safe");
    let governing = report
        .changes
        .iter()
        .find(|c| c.object == "Service/taosd" && c.field.is_empty())
        .expect("the old governing Service");
    assert_eq!(
        governing.class,
        ChangeClass::Unsafe,
        "pruning it removes the dnodes' DNS names"
    );
}

#[test]
fn a_service_re_pointed_to_other_pods_is_unsafe() {
    let old = "metadata: {name: tdengine}\nspec: {dnodes: 3, service: {name: peers}}\n";
    let report = report(
        old,
        "metadata: {name: tsdb}\nspec: {dnodes: 3, service: {name: peers}}\n",
    );
    let selector = report
        .changes
        .iter()
        .find(|c| c.object == "Service/peers" && c.field == "spec.selector")
        .expect("re-pointed Service");
    assert_eq!(selector.class, ChangeClass::Unsafe);
    assert!(
        selector.message.contains("the running dnodes lose their DNS names"),
        "{}",
        selector.message
    );
}

#[test]
fn a_new_port_changes_every_endpoint_even_though_the_first_ep_text_does_not() {
    let old = "spec: {dnodes: 3}\n";
    let report = report(old, "spec: {dnodes: 3, serverPort: 7030}\n");
    let port = change(&report, "env TAOS_SERVER_PORT");
    assert_eq!(port.class, ChangeClass::Unsafe);
    assert!(
        port.message
            .contains("tdengine-0.taosd.<namespace>.svc.cluster.local:7030"),
        "{}",
        port.message
    );
}

#[test]
fn an_image_bump_replaces_the_bootstrap_job_instead_of_updating_it() {
    let old = "spec: {dnodes: 3, image: {tag: '3.3.6.13'}}\n";
    let report = report(old, "spec: {dnodes: 3, image: {tag: '3.3.6.14'}}\n");
    assert!(!report.is_blocking(), "{report:#?}");
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.object.starts_with("Job/") && c.message.contains("replaced by Job/"))
    );
    assert!(
        !report
            .changes
            .iter()
            .any(|c| c.object.starts_with("Job/") && c.field.contains("template"))
    );
}

#[test]
fn a_changed_password_reference_names_the_order_to_follow() {
    let old = "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: a}}\n";
    let report = report(
        old,
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: b}}\n",
    );
    let password = change(&report, "root password reference");
    assert_eq!(password.class, ChangeClass::Unsafe);
    assert!(
        password
            .remedy
            .as_deref()
            .unwrap_or_default()
            .contains("tdgen plan password --secret")
    );
    let plan = &password.commands[0];
    assert_eq!(plan.subcommand, ["plan", "password"]);
    assert_eq!(
        plan.args,
        [
            "--set",
            "spec.rootPassword.secretName=a",
            "--set",
            "spec.rootPassword.key=password",
            "--secret",
            "b:password"
        ],
        "the spec as it was, and the new Secret"
    );
    let added = report.changes.len();
    assert!(added > 0);
    let none = report_from_none();
    assert_eq!(
        change(&none, "root password reference").class,
        ChangeClass::Unsafe,
        "adding one is unsafe too"
    );
}

fn report_from_none() -> tdgen::diff::DiffReport {
    report(
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}}\n",
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: b}}\n",
    )
}

#[test]
fn storage_changes_say_what_changed() {
    let old = "spec: {dnodes: 3, storage: {data: {size: 5Gi, storageClassName: standard}}}\n";
    let class = report(
        old,
        "spec: {dnodes: 3, storage: {data: {size: 5Gi, storageClassName: fast}}}\n",
    );
    let message = &change(&class, "spec.volumeClaimTemplates[taosdata].storageClassName").message;
    assert!(message.contains("storageClassName standard → fast"), "{message}");
    let retention = report(
        old,
        "spec: {dnodes: 3, storage: {data: {size: 5Gi, storageClassName: standard}, retention: {whenDeleted: Delete}}}\n",
    );
    let message = &change(&retention, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted").message;
    assert!(message.contains("the pods do not roll"), "{message}");
    assert!(
        !retention
            .changes
            .iter()
            .any(|c| c.message.contains("pods roll one at a time"))
    );
}

#[test]
fn scaling_three_to_one_with_three_mnodes_lowers_the_mnodes_first() {
    let dir = scratch("three-to-one");
    std::fs::write(dir.join("old.yaml"), spec("spec: {dnodes: 3, mnodes: 3}\n")).expect("old");
    std::fs::write(dir.join("new.yaml"), spec("spec: {dnodes: 1, mnodes: 1}\n")).expect("new");
    assert_eq!(
        tdgen(&["render", "-f", "old.yaml", "--output-dir", "previous"], &dir)
            .status
            .code(),
        Some(0)
    );
    let out = tdgen(&["diff", "--previous", "previous", "-f", "new.yaml"], &dir);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    let runs: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run:"))
        .map(str::trim)
        .collect();
    assert_eq!(
        runs,
        [
            "tdgen plan mnodes -f new.yaml --set spec.dnodes=3 --set spec.mnodes=1",
            "tdgen plan scale -f new.yaml --set spec.dnodes=3 --set spec.mnodes=1 --to 1",
        ],
        "{stdout}"
    );
    for run in runs {
        let ran = run_remedy(run, &dir);
        assert_eq!(ran.status.code(), Some(0), "{run}: {}", text(&ran.stderr));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_gate_fails_closed() {
    let dir = scratch("closed");
    std::fs::write(dir.join("empty.yaml"), "").expect("empty");
    std::fs::write(dir.join("comments.yaml"), "# nothing\n").expect("comments");
    std::fs::write(
        dir.join("foreign.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .expect("foreign");
    std::fs::write(dir.join("broken.yaml"), "a: [\n").expect("broken");
    std::fs::create_dir_all(dir.join("emptydir")).expect("dir");
    for previous in [
        "/dev/null",
        "empty.yaml",
        "comments.yaml",
        "foreign.yaml",
        "broken.yaml",
        "emptydir",
        "missing.yaml",
    ] {
        let out = tdgen(&["diff", "--previous", previous], &dir);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{previous}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{previous}: nothing on stdout");
        assert!(
            text(&out.stderr).contains(previous.trim_start_matches("/dev/")),
            "{previous}: {}",
            text(&out.stderr)
        );
    }
    for previous in ["/dev/null", "empty.yaml", "foreign.yaml", "emptydir", "missing.yaml"] {
        let out = tdgen(&["diff", "--previous", previous, "--allow-new"], &dir);
        assert_eq!(
            out.status.code(),
            Some(0),
            "--allow-new {previous}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("new object"));
    }
    let out = tdgen(&["diff", "--previous", "broken.yaml", "--allow-new"], &dir);
    assert_eq!(out.status.code(), Some(2), "an unreadable file stays an error");
    assert!(matches!(
        read_previous(Path::new("/dev/null"), false),
        Err(tdgen::Error::Previous { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unchanged_renders_are_empty_and_read_from_streams_lists_and_directories() {
    let spec = "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 5, image: {tag: '3.3.6.13'}, config: {supportVnodes: 16}}\n";
    let checked = tdgen::check(&request(spec)).expect("valid");
    let manifests = tdgen::render(&checked.valid);
    let dir = scratch("forms");
    manifests.write_dir(&dir.join("tree")).expect("dir");
    std::fs::write(dir.join("all.yaml"), manifests.to_yaml().expect("yaml")).expect("yaml");
    std::fs::write(dir.join("all.json"), manifests.to_json().expect("json")).expect("json");
    for form in ["all.yaml", "all.json", "tree"] {
        let previous = read_previous(&dir.join(form), false).expect("readable");
        assert_eq!(previous.objects().len(), manifests.objects().len(), "{form}");
        let report = diff(&previous, &checked.valid);
        assert!(report.changes.is_empty(), "{form}: {report:#?}");
        assert!(!report.is_blocking());
        assert_eq!(report.render(&Default::default()), "no changes\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_docs_clusterip_service_cannot_become_headless_in_place() {
    let spec = "spec: {dnodes: 3}\n";
    let checked = tdgen::check(&request(spec)).expect("valid");
    let yaml = tdgen::render(&checked.valid).to_yaml().expect("yaml");
    let mut objects: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("stream");
    for object in &mut objects {
        if object["kind"] == "Service" && object["metadata"]["name"] == "taosd" {
            object["spec"].as_object_mut().expect("spec").remove("clusterIP");
        }
    }
    let report = diff(
        &Previous::from_objects(objects, false).expect("previous"),
        &checked.valid,
    );
    let clusterip = change(&report, "spec.clusterIP");
    assert_eq!(clusterip.class, ChangeClass::Rejected);
    assert!(
        clusterip
            .remedy
            .as_deref()
            .unwrap_or_default()
            .starts_with("kubectl delete service taosd")
    );
}

#[test]
fn a_render_renamed_by_kustomize_is_named_as_such() {
    // What `namePrefix: x-` does to a render (checked with the real kustomize in
    // scripts/conformance): objects renamed, the pods' variables not.
    let spec_text = "spec: {dnodes: 3}\n";
    let checked = tdgen::check(&request(spec_text)).expect("valid");
    let text = tdgen::render(&checked.valid).to_yaml().expect("yaml");
    let mut objects: Vec<Value> = serde_saphyr::from_multiple(&text).expect("stream");
    for object in &mut objects {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        object["metadata"]["name"] = format!("x-{name}").into();
        if object["kind"] == "StatefulSet" {
            object["spec"]["serviceName"] = "x-taosd".into();
        }
    }
    let previous = Previous::from_objects(objects, false).expect("a render");
    let renamed_report = diff(&previous, &checked.valid);
    let renamed = change(&renamed_report, "env STS_NAME");
    assert_eq!(renamed.class, ChangeClass::Unsafe);
    assert!(renamed.message.contains("namePrefix"), "{}", renamed.message);
    assert!(renamed.message.contains("tdengine-0.taosd"), "{}", renamed.message);
    let untouched = report("spec: {dnodes: 3}\n", "spec: {dnodes: 3}\n");
    assert!(
        untouched.changes.iter().all(|c| c.field != "env STS_NAME"),
        "a plain render is not flagged"
    );
}

#[test]
fn a_previous_render_cut_short_is_refused() {
    let dir = scratch("cut");
    std::fs::write(
        dir.join("three.yaml"),
        spec("metadata: {name: td}\nspec: {dnodes: 3}\n"),
    )
    .expect("spec");
    std::fs::write(
        dir.join("one.yaml"),
        spec("metadata: {name: td}\nspec: {dnodes: 1, mnodes: 1}\n"),
    )
    .expect("spec");
    let render = tdgen(&["render", "-f", "three.yaml"], &dir);
    let framed = text(&render.stdout);
    // tdgen's stream states its object count on its last line: any cut is refused.
    for cut in [framed.len() / 3, framed.len() / 2, framed.len() - 40] {
        std::fs::write(dir.join("cut.yaml"), &framed[..cut]).expect("cut");
        let out = tdgen(&["diff", "--previous", "cut.yaml", "-f", "three.yaml"], &dir);
        assert_eq!(out.status.code(), Some(2), "cut at {cut}: {}", text(&out.stdout));
        assert!(
            text(&out.stderr).contains("not a previous render"),
            "{}",
            text(&out.stderr)
        );
    }
    let (head, _) = framed.split_at(framed.rfind("\n---\n").expect("documents"));
    let tail = framed.lines().last().expect("end line");
    std::fs::write(dir.join("cut.yaml"), format!("{head}\n{tail}\n")).expect("cut");
    let out = tdgen(&["diff", "--previous", "cut.yaml", "-f", "three.yaml"], &dir);
    assert!(
        text(&out.stderr).contains("states 6 objects and it holds 5"),
        "{}",
        text(&out.stderr)
    );
    // A stream of other origin (no marker, as `kustomize build` prints): without its
    // StatefulSet (every document up to it), and without the governing Service; the directory
    // without the StatefulSet's file, and without another listed file.
    let stream: String = framed.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let documents: Vec<&str> = stream.split("\n---\n").collect();
    let without = |kind: &str| {
        documents
            .iter()
            .filter(|d| !d.contains(&format!("\nkind: {kind}\n")) && !d.starts_with(&format!("kind: {kind}\n")))
            .copied()
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    std::fs::write(dir.join("no-statefulset.yaml"), without("StatefulSet")).expect("cut");
    std::fs::write(dir.join("no-service.yaml"), without("Service")).expect("cut");
    for (cut, says) in [
        ("no-statefulset.yaml", "no StatefulSet"),
        ("no-service.yaml", "no Service/td,"),
    ] {
        let out = tdgen(&["diff", "--previous", cut, "-f", "one.yaml"], &dir);
        assert_eq!(out.status.code(), Some(2), "{cut}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains(says), "{cut}: {}", text(&out.stderr));
    }
    for (removed, says) in [
        ("td.yaml", "lists td.yaml"),
        ("td-configmap.yaml", "lists td-configmap.yaml"),
    ] {
        let previous = format!("previous-{removed}");
        let rendered = tdgen(&["render", "-f", "three.yaml", "--output-dir", &previous], &dir);
        assert_eq!(rendered.status.code(), Some(0));
        std::fs::remove_file(dir.join(&previous).join(removed)).expect("remove");
        let out = tdgen(&["diff", "--previous", &previous, "-f", "one.yaml"], &dir);
        assert_eq!(out.status.code(), Some(2), "{removed}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains(says), "{removed}: {}", text(&out.stderr));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rename_is_a_new_object_not_a_refused_change() {
    // Without spec.service.name the governing Service is named after the cluster: a rename
    // changes both, and the server creates a second StatefulSet rather than refusing anything.
    let report = report(
        "metadata: {name: tdengine}\nspec: {dnodes: 3}\n",
        "metadata: {name: tsdb}\nspec: {dnodes: 3}\n",
    );
    assert_eq!(report.count(ChangeClass::Rejected), 0, "{report:#?}");
    assert_eq!(change(&report, "metadata.name").class, ChangeClass::Unsafe);
    assert!(
        report
            .changes
            .iter()
            .filter_map(|c| c.remedy.as_deref())
            .all(|r| !r.contains("spec.service.name")),
        "no remedy names a field the user never set: {report:#?}"
    );
}
