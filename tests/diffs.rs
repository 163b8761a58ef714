//! `tdgen diff`: one case per class of change, read back the way a pipeline would.

use serde_json::Value;
use tdgen::Request;
use tdgen::diff::{ChangeClass, diff, read_previous};

fn objects(spec: &str) -> Vec<Value> {
    let checked = tdgen::check(&Request::from_text("s.yaml", spec)).expect("valid");
    let yaml = tdgen::render(&checked.valid).to_yaml().expect("yaml");
    serde_saphyr::from_multiple(&yaml).expect("stream")
}

fn classify(old: &str, new: &str) -> Vec<(ChangeClass, String)> {
    let checked = tdgen::check(&Request::from_text("s.yaml", new)).expect("valid");
    let report = diff(&objects(old), &tdgen::render(&checked.valid));
    report
        .changes
        .into_iter()
        .map(|c| (c.class, format!("{} {}", c.object, c.field)))
        .collect()
}

fn has(changes: &[(ChangeClass, String)], class: ChangeClass, needle: &str) -> bool {
    changes.iter().any(|(c, text)| *c == class && text.contains(needle))
}

const BASE: &str = "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 5, image: {tag: '3.3.6.13'}, storage: {data: {size: 10Gi}}, config: {supportVnodes: 16}}\n";

fn with(change: &str) -> String {
    format!("{BASE}{change}")
}

#[test]
fn each_class_of_change_is_recognised() {
    use ChangeClass::*;
    let cases: [(&str, String, ChangeClass, &str); 12] = [
        (
            "storage size",
            BASE.replace("size: 10Gi", "size: 20Gi"),
            Rejected,
            "StatefulSet/td spec.volumeClaimTemplates",
        ),
        (
            "pod management",
            with("---\n")
                .replace("---\n", "")
                .replace("dnodes: 5,", "dnodes: 5, podManagementPolicy: Parallel,"),
            Rejected,
            "spec.podManagementPolicy",
        ),
        (
            "service name",
            BASE.replace("dnodes: 5,", "dnodes: 5, service: {name: peers},"),
            Rejected,
            "spec.serviceName",
        ),
        (
            "service name identity",
            BASE.replace("dnodes: 5,", "dnodes: 5, service: {name: peers},"),
            Unsafe,
            "env SERVICE_NAME",
        ),
        (
            "dnodes down",
            BASE.replace("dnodes: 5", "dnodes: 4"),
            Unsafe,
            "spec.replicas",
        ),
        (
            "mnodes",
            BASE.replace("dnodes: 5,", "dnodes: 5, mnodes: 1,"),
            Unsafe,
            "tdgen.io/mnodes",
        ),
        (
            "downgrade",
            BASE.replace("3.3.6.13", "3.3.6.6"),
            Unsafe,
            "containers[0].image",
        ),
        (
            "persisted config",
            BASE.replace("supportVnodes: 16", "supportVnodes: 32"),
            Unsafe,
            "taos.cfg",
        ),
        (
            "cluster domain",
            BASE.replace("dnodes: 5,", "dnodes: 5, clusterDomain: k.local,"),
            Unsafe,
            "env TAOS_FQDN",
        ),
        (
            "namespace",
            BASE.replace("namespace: tsdb", "namespace: other"),
            Unsafe,
            "metadata.namespace",
        ),
        (
            "probe timing",
            BASE.replace("dnodes: 5,", "dnodes: 5, probes: {liveness: {periodSeconds: 30}},"),
            Safe,
            "StatefulSet/td spec.template",
        ),
        (
            "dnodes up",
            BASE.replace("dnodes: 5", "dnodes: 6"),
            Safe,
            "StatefulSet/td spec.replicas",
        ),
    ];
    for (name, new, class, needle) in cases {
        let changes = classify(BASE, &new);
        assert!(
            has(&changes, class, needle),
            "{name}: expected {class:?} `{needle}` in {changes:#?}"
        );
    }
}

#[test]
fn safe_only_changes_do_not_block_and_unchanged_renders_are_empty() {
    let checked = tdgen::check(&Request::from_text("s.yaml", BASE)).expect("valid");
    let same = diff(&objects(BASE), &tdgen::render(&checked.valid));
    assert!(same.changes.is_empty() && !same.is_blocking(), "{}", same.render());
    assert_eq!(same.render(), "no changes\n");
    let grown = tdgen::check(&Request::from_text(
        "s.yaml",
        BASE.replace("dnodes: 5", "dnodes: 6").as_str(),
    ))
    .expect("valid");
    let report = diff(&objects(BASE), &tdgen::render(&grown.valid));
    assert!(!report.is_blocking(), "{}", report.render());
}

#[test]
fn config_changes_before_persistence_are_safe() {
    let old = BASE.replace("3.3.6.13", "3.0.7.1");
    let changes = classify(&old, &old.replace("supportVnodes: 16", "supportVnodes: 32"));
    assert!(has(&changes, ChangeClass::Safe, "taos.cfg"), "{changes:?}");
    assert!(!changes.iter().any(|(c, _)| *c != ChangeClass::Safe), "{changes:?}");
}

#[test]
fn a_docs_clusterip_service_cannot_become_headless_in_place() {
    let mut previous = objects(BASE);
    for object in &mut previous {
        if object["kind"] == "Service" && object["metadata"]["name"] == "taosd" {
            object["spec"].as_object_mut().expect("spec").remove("clusterIP");
        }
    }
    let checked = tdgen::check(&Request::from_text("s.yaml", BASE)).expect("valid");
    let report = diff(&previous, &tdgen::render(&checked.valid));
    let change = report
        .changes
        .iter()
        .find(|c| c.field == "spec.clusterIP")
        .expect("clusterIP change");
    assert_eq!(change.class, ChangeClass::Rejected);
    assert!(
        change
            .remedy
            .as_deref()
            .unwrap_or_default()
            .starts_with("kubectl delete service taosd")
    );
}

#[test]
fn previous_renders_are_read_from_streams_lists_and_directories() {
    let checked = tdgen::check(&Request::from_text("s.yaml", BASE)).expect("valid");
    let manifests = tdgen::render(&checked.valid);
    let dir = std::env::temp_dir().join(format!("tdgen-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    manifests.write_dir(&dir.join("tree")).expect("dir");
    std::fs::write(dir.join("all.yaml"), manifests.to_yaml().expect("yaml")).expect("yaml");
    std::fs::write(dir.join("all.json"), manifests.to_json().expect("json")).expect("json");
    let count = |path: &str| read_previous(&dir.join(path)).expect("readable").len();
    assert_eq!(count("all.yaml"), manifests.objects().len());
    assert_eq!(count("all.json"), manifests.objects().len());
    assert_eq!(
        count("tree"),
        manifests.objects().len(),
        "kustomization.yaml is skipped"
    );
    let report = diff(&read_previous(&dir.join("tree")).expect("tree"), &manifests);
    assert!(report.changes.is_empty(), "{}", report.render());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
