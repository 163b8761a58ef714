//! Property: any string placed in any string field of the spec either renders manifests that
//! read back exactly and add no key of their own, or is rejected with a finding — never a panic.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use tdgen::Request;

/// Where a string can go: a JSON pointer into the spec, and whether it is a map key.
const FIELDS: [(&str, bool); 27] = [
    ("/metadata/name", false),
    ("/metadata/namespace", false),
    ("/metadata/labels/team", false),
    ("/metadata/labels", true),
    ("/metadata/annotations/note", false),
    ("/metadata/annotations", true),
    ("/spec/preset", false),
    ("/spec/image/repository", false),
    ("/spec/image/tag", false),
    ("/spec/image/digest", false),
    ("/spec/image/pullPolicy", false),
    ("/spec/timezone", false),
    ("/spec/clusterDomain", false),
    ("/spec/service/name", false),
    ("/spec/storage/data/size", false),
    ("/spec/storage/data/storageClassName", false),
    ("/spec/podManagementPolicy", false),
    ("/spec/config/debugFlag", false),
    ("/spec/config", true),
    ("/spec/kubernetesVersion", false),
    ("/spec/priorityClassName", false),
    ("/spec/pod/labels/tier", false),
    ("/spec/pod/annotations", true),
    ("/spec/antiAffinity/topologyKey", false),
    ("/spec/clientService/type", false),
    ("/spec/rootPassword/secretName", false),
    ("/spec/nodeSelector", true),
];

fn spec_with(pointer: &str, is_key: bool, text: &str) -> Value {
    let mut spec = json!({"apiVersion": "tdgen/v1", "kind": "TDengineCluster", "metadata": {"name": "td"}, "spec": {}});
    let (parent, last) = pointer.rsplit_once('/').expect("pointer");
    let mut node = &mut spec;
    for segment in parent.split('/').skip(1) {
        node = node
            .as_object_mut()
            .expect("object")
            .entry(segment)
            .or_insert_with(|| json!({}));
    }
    let map = node.as_object_mut().expect("object");
    if is_key {
        let entry = map.entry(last).or_insert_with(|| json!({}));
        entry
            .as_object_mut()
            .expect("object")
            .insert(text.to_owned(), json!("x"));
    } else {
        map.insert(last.to_owned(), Value::from(text));
    }
    spec
}

fn keys(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn rendered_keys(text: &str) -> Option<BTreeSet<String>> {
    let checked = tdgen::check(&Request::from_text("p.yaml", text)).ok()?;
    let yaml = tdgen::render(&checked.valid).to_yaml().expect("yaml");
    let mut out = BTreeSet::new();
    for document in serde_saphyr::from_multiple::<Value>(&yaml).expect("reads back") {
        keys(&document, &mut out);
    }
    Some(out)
}

fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,24}",
        "[a-z0-9.:/{}#&*!|>'\"%@`, -]{0,16}\n?[a-z: ]{0,8}",
        prop::sample::select(vec![
            "on",
            "NO",
            "y",
            "1_000",
            ": x",
            "a\nb",
            "{{ x }}",
            "$(POD_NAME)",
            "- item",
            "key: value",
            "~",
            "null",
            "",
            "0x1F",
            "1e3",
            "'",
            "\"",
            "#",
            "&anchor",
            "*alias",
            "!!binary",
            "---",
            "...",
            "\t",
            "tdengine",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_in_any_field_renders_exactly_or_is_rejected(field in 0..FIELDS.len(), text in interesting_string()) {
        let (pointer, is_key) = FIELDS[field];
        let spec = spec_with(pointer, is_key, &text);
        let yaml = serde_saphyr::to_string(&spec).expect("spec serialises");
        match tdgen::check(&Request::from_text("p.yaml", yaml.as_str())) {
            Err(report) => {
                prop_assert!(report.has_errors(), "rejected without an error: {report}");
                let _ = report.render();
            }
            Ok(checked) => {
                let manifests = tdgen::render(&checked.valid);
                let stream = manifests.to_yaml().expect("yaml");
                let documents: Vec<Value> = serde_saphyr::from_multiple(&stream).expect("the stream reads back");
                let json: Value = serde_json::from_str(&manifests.to_json().expect("json")).expect("json parses");
                prop_assert_eq!(json["items"].as_array().expect("items"), &documents);
                // No key appears that the same spec with a harmless value would not produce,
                // except the user's own label/annotation/config key itself.
                let baseline_text = serde_saphyr::to_string(&spec_with(pointer, is_key, "tdengine")).expect("baseline");
                let baseline = rendered_keys(&baseline_text).expect("baseline renders");
                let mut got = BTreeSet::new();
                documents.iter().for_each(|d| keys(d, &mut got));
                let extra: Vec<&String> = got.difference(&baseline).filter(|k| !is_key || **k != text).collect();
                prop_assert!(extra.is_empty(), "injected keys {:?} from {:?} in {}", extra, text, pointer);
            }
        }
    }
}
