//! Fleets, end to end: `render`, `validate` and `diff` with `-f DIR`, a failing spec among good
//! ones, conflicts between specs, and the fleet tree's kustomizations.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Sandbox, render_request, request, spec};

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

const PROD: &str = "metadata: {name: tsdb, namespace: prod}\nspec: {preset: ha, timezone: UTC}\n";
const DEV: &str = "metadata: {name: tsdb, namespace: dev}\nspec: {preset: dev}\n";
const EDGE: &str = "metadata: {name: edge, namespace: prod}\nspec: {preset: dev, dnodes: 3, mnodes: 1}\n";

/// A fleet directory with the given specs (file, body).
fn fleet(name: &str, specs: &[(&str, &str)]) -> Sandbox {
    let sandbox = Sandbox::new(name, &[]);
    for (file, body) in specs {
        let path = sandbox.dir.join("clusters").join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
        std::fs::write(path, spec(body)).expect("a spec");
    }
    sandbox
}

#[test]
fn a_fleet_renders_each_cluster_to_its_directory_under_one_kustomization() {
    let sandbox = fleet(
        "fleet-tree",
        &[
            ("prod/tsdb.yaml", PROD),
            ("dev/tsdb.yml", DEV),
            ("prod/edge.yaml", EDGE),
        ],
    );
    let out = tdgen(&sandbox.dir, &["render", "-f", "clusters", "--output-dir", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let top = std::fs::read_to_string(sandbox.dir.join("out/Kustomization")).expect("top kustomization");
    assert!(
        top.ends_with("resources:\n- dev/tsdb\n- prod/edge\n- prod/tsdb\n"),
        "the clusters in file order: {top}"
    );
    // Each cluster's directory is exactly what `render --output-dir` writes for it alone.
    for (cluster, body) in [("prod/tsdb", PROD), ("dev/tsdb", DEV), ("prod/edge", EDGE)] {
        let alone = render_request(&request(body)).files().expect("files");
        for (name, expected) in alone {
            let written = std::fs::read_to_string(sandbox.dir.join("out").join(cluster).join(&name))
                .unwrap_or_else(|_| panic!("{cluster}/{name}"));
            assert_eq!(written, expected, "{cluster}/{name}");
        }
    }
    // Without --output-dir: one stream, the clusters in file order.
    let stream = tdgen(&sandbox.dir, &["render", "-f", "clusters"]);
    let expected: String = [DEV, EDGE, PROD]
        .iter()
        .map(|body| render_request(&request(body)).to_yaml().expect("yaml"))
        .collect::<Vec<_>>()
        .join("---\n");
    assert_eq!(text(&stream.stdout), expected);
}

#[test]
fn one_failing_spec_stops_the_fleet_and_every_finding_names_its_file() {
    let sandbox = fleet(
        "fleet-failing",
        &[
            ("prod/tsdb.yaml", PROD),
            (
                "dev/tsdb.yaml",
                "metadata: {name: tsdb, namespace: dev}\nspec: {dnodes: 0}\n",
            ),
        ],
    );
    let out = tdgen(&sandbox.dir, &["render", "-f", "clusters", "--output-dir", "out"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!sandbox.dir.join("out").exists(), "nothing is written");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--> clusters/dev/tsdb.yaml:"), "{stderr}");
    assert!(stderr.contains("1 refused"), "{stderr}");
    let json = tdgen(&sandbox.dir, &["validate", "-f", "clusters", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    let files = value["files"].as_object().expect("grouped by file");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["clusters/dev/tsdb.yaml", "clusters/prod/tsdb.yaml"]
    );
    assert_eq!(files["clusters/dev/tsdb.yaml"][0]["code"], "dnodes-range");
    assert_eq!(files["clusters/prod/tsdb.yaml"], serde_json::json!([]));
}

#[test]
fn conflicts_between_specs_are_findings() {
    let same_cluster = "metadata: {name: tsdb, namespace: prod}\nspec: {preset: dev}\n";
    let same_service = "metadata: {name: other, namespace: prod}\nspec: {preset: dev, service: {name: tsdb}}\n";
    let unpinned = "metadata: {name: loose}\nspec: {preset: dev}\n";
    let sandbox = fleet(
        "fleet-conflicts",
        &[
            ("a.yaml", PROD),
            ("b.yaml", same_cluster),
            ("c.yaml", same_service),
            ("d.yaml", unpinned),
        ],
    );
    let out = tdgen(&sandbox.dir, &["validate", "-f", "clusters", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let codes = |file: &str| -> Vec<String> {
        value["files"][file]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(codes("clusters/a.yaml"), Vec::<String>::new(), "the first claim stands");
    assert_eq!(codes("clusters/b.yaml"), ["fleet-duplicate-cluster"]);
    assert_eq!(
        codes("clusters/c.yaml"),
        ["fleet-object-collision", "fleet-object-collision"],
        "Services prod/tsdb and prod/tsdb-client twice"
    );
    assert_eq!(codes("clusters/d.yaml"), ["fleet-namespace-unpinned"]);
    let collision = &value["files"]["clusters/c.yaml"][0];
    assert!(
        collision["message"].as_str().unwrap().contains("Service prod/tsdb")
            && collision["message"].as_str().unwrap().contains("clusters/a.yaml"),
        "{collision}"
    );
    assert_eq!(collision["location"]["source"], "clusters/c.yaml");
}

#[test]
fn a_fleet_diff_classifies_changed_new_and_removed_clusters() {
    let sandbox = fleet("fleet-diff", &[("prod/tsdb.yaml", PROD), ("dev/tsdb.yaml", DEV)]);
    let first = tdgen(&sandbox.dir, &["render", "-f", "clusters", "--output-dir", "out"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let unchanged = tdgen(&sandbox.dir, &["diff", "-f", "clusters", "--previous", "out"]);
    assert_eq!(unchanged.status.code(), Some(0), "{}", text(&unchanged.stdout));
    // prod shrinks (unsafe), dev goes (removed), edge comes (new).
    std::fs::write(
        sandbox.dir.join("clusters/prod/tsdb.yaml"),
        spec("metadata: {name: tsdb, namespace: prod}\nspec: {preset: ha, timezone: UTC, dnodes: 4}\n"),
    )
    .unwrap();
    std::fs::remove_file(sandbox.dir.join("clusters/dev/tsdb.yaml")).unwrap();
    std::fs::write(sandbox.dir.join("clusters/prod/edge.yaml"), spec(EDGE)).unwrap();
    let changed = tdgen(&sandbox.dir, &["diff", "-f", "clusters", "--previous", "out"]);
    assert_eq!(changed.status.code(), Some(3), "{}", text(&changed.stderr));
    let report = text(&changed.stdout);
    assert!(report.contains("== prod/tsdb\n"), "{report}");
    assert!(report.contains("dnodes 3 → 4"), "{report}");
    assert!(report.contains("== prod/edge\nsafe"), "a new cluster is safe: {report}");
    assert!(
        report.contains("== dev/tsdb\nunsafe   the cluster's spec is gone"),
        "{report}"
    );
    let json = tdgen(
        &sandbox.dir,
        &["diff", "-f", "clusters", "--previous", "out", "--format", "json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["removed"], serde_json::json!(["dev/tsdb"]));
    assert!(value["clusters"]["prod/tsdb"]["changes"].is_array(), "{value}");
    assert!(
        value["files"]["clusters/prod/tsdb.yaml"].is_array(),
        "the findings, in the same document"
    );
    // Rendering the changed fleet keeps the gone cluster's directory and says so.
    let again = tdgen(&sandbox.dir, &["render", "-f", "clusters", "--output-dir", "out"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stderr).contains("kept out/dev/tsdb"),
        "{}",
        text(&again.stderr)
    );
    assert!(sandbox.dir.join("out/dev/tsdb/tsdb.yaml").exists());
    let top = std::fs::read_to_string(sandbox.dir.join("out/Kustomization")).unwrap();
    assert!(!top.contains("dev/tsdb"), "no longer listed: {top}");
}

#[test]
fn a_fleet_diff_without_a_previous_tree_fails_closed() {
    let sandbox = fleet("fleet-diff-new", &[("prod/tsdb.yaml", PROD)]);
    let refused = tdgen(&sandbox.dir, &["diff", "-f", "clusters", "--previous", "out"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("--allow-new"),
        "{}",
        text(&refused.stderr)
    );
    let first = tdgen(
        &sandbox.dir,
        &["diff", "-f", "clusters", "--previous", "out", "--allow-new"],
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stdout));
}

#[test]
fn the_order_of_a_fleet_does_not_depend_on_threads() {
    let requests: Vec<tdgen::Request> = (0..40)
        .map(|i| {
            let body = format!(
                "metadata: {{name: c{i:02}, namespace: ns{}}}\nspec: {{preset: dev}}\n",
                i % 7
            );
            tdgen::Request::from_text(format!("c{i:02}.yaml"), spec(&body))
        })
        .collect();
    let one = tdgen::fleet::check_fleet(&requests, 1);
    let many = tdgen::fleet::check_fleet(&requests, 8);
    assert!(!one.has_errors(), "{:?}", one.reports());
    assert_eq!(one.to_yaml().unwrap(), many.to_yaml().unwrap());
    let files: Vec<&str> = many.members.iter().map(|m| m.file.as_str()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
}
