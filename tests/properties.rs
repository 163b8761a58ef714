//! Property: any string placed in any string field of the spec either renders manifests in
//! which that exact value arrives where it belongs (after the kubelet's `$(VAR)` expansion for
//! environment values), that read back exactly and add no key of their own — or is rejected
//! with a finding. Never a panic.

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
    let mut spec = json!({"apiVersion": "tdgen/v1", "kind": "TDengineCluster", "metadata": {"name": "td"}, "spec": {"image": {"tag": "3.3.6.13"}}});
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
            "$",
            "$$",
            "a$$b",
            "$$(POD_NAME)",
            "$(TZ)",
            "${TZ}",
            "$(",
            "a$b$(c)$$d",
            "SupportVnodes",
            "SUPPORTVNODES",
            "supportvnodes",
            "DebugFlag",
        ])
        .prop_map(str::to_owned),
        "[$()a-z]{0,12}",
    ]
}

/// The StatefulSet's container as a JSON value, and its environment after the kubelet's
/// expansion for pod `td-0` in namespace `ns`.
fn container_and_env(documents: &[Value]) -> (Value, std::collections::BTreeMap<String, String>) {
    let sts = documents
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("a StatefulSet");
    let container = sts["spec"]["template"]["spec"]["containers"][0].clone();
    let env: Vec<k8s_openapi::api::core::v1::EnvVar> = serde_json::from_value(container["env"].clone()).expect("env");
    // Secret references become empty values in the simulation; only literals are compared.
    let literal: Vec<_> = env
        .into_iter()
        .map(|mut var| {
            if var.value_from.as_ref().is_some_and(|f| f.field_ref.is_none()) {
                var.value_from = None;
            }
            var
        })
        .collect();
    (container, crate::support::kubelet_env(&literal, "td-0", "ns"))
}

/// A Kubernetes quantity's value, read independently of tdgen's parser: a decimal number, then a
/// binary suffix (`Ki`…`Ei`), a decimal one (`m`, `k`, `M`…`E`) or an exponent (`e3`, `E-2`).
fn quantity(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        binary if binary.len() == 2 && binary.ends_with('i') => {
            let power = "KMGTPE".find(&binary[..1])? as i32 + 1;
            2f64.powi(10 * power)
        }
        exponent => 10f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(number * scale)
}

/// Where the value written at `pointer` must arrive, exactly.
fn arrived(pointer: &str, is_key: bool, text: &str, documents: &[Value]) -> Result<(), String> {
    let sts = documents
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .ok_or("no StatefulSet")?;
    let pod = &sts["spec"]["template"];
    let (container, env) = container_and_env(documents);
    let same = |got: &Value, want: &str| -> Result<(), String> {
        if got.as_str() == Some(want) {
            Ok(())
        } else {
            Err(format!("{pointer}: {got} instead of {want:?}"))
        }
    };
    match (pointer, is_key) {
        ("/metadata/name", _) => same(&sts["metadata"]["name"], text),
        ("/metadata/namespace", _) => documents
            .iter()
            .try_for_each(|d| same(&d["metadata"]["namespace"], text)),
        ("/metadata/labels/team", _) => same(&sts["metadata"]["labels"]["team"], text),
        ("/metadata/labels", true) => same(&sts["metadata"]["labels"][text], "x"),
        ("/metadata/annotations/note", _) => same(&sts["metadata"]["annotations"]["note"], text),
        ("/metadata/annotations", true) => same(&sts["metadata"]["annotations"][text], "x"),
        ("/spec/preset", _) => tdgen::Preset::find(text)
            .map(|_| ())
            .ok_or(format!("no preset {text:?}")),
        ("/spec/image/repository", _) => same(&container["image"], &format!("{text}:3.3.6.13")),
        ("/spec/image/tag", _) if text.is_empty() => same(&container["image"], "tdengine/tdengine"),
        ("/spec/image/tag", _) => same(&container["image"], &format!("tdengine/tdengine:{text}")),
        ("/spec/image/digest", _) => same(&container["image"], &format!("tdengine/tdengine:3.3.6.13@{text}")),
        ("/spec/image/pullPolicy", _) => same(&container["imagePullPolicy"], text),
        ("/spec/timezone", _) => same(&Value::from(env["TZ"].clone()), text),
        ("/spec/clusterDomain", _) => same(
            &Value::from(env["TAOS_FQDN"].clone()),
            &format!("td-0.td.ns.svc.{text}"),
        ),
        ("/spec/service/name", _) => same(&sts["spec"]["serviceName"], text),
        ("/spec/storage/data/size", _) => {
            let got = &sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"];
            let (want, rendered) = (quantity(text), got.as_str().and_then(quantity));
            match (want, rendered) {
                (Some(w), Some(r)) if (w - r).abs() <= w.abs() * 1e-12 => Ok(()),
                _ => Err(format!("{pointer}: {got} is not the quantity {text:?}")),
            }
        }
        ("/spec/storage/data/storageClassName", _) => same(
            &sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
            text,
        ),
        ("/spec/podManagementPolicy", _) => same(&sts["spec"]["podManagementPolicy"], text),
        ("/spec/config/debugFlag", _) => same(&Value::from(env["TAOS_DEBUG_FLAG"].clone()), text),
        ("/spec/config", true) => {
            let name = tdgen::tdengine::env::config_env_name(text);
            same(&Value::from(env.get(&name).cloned().unwrap_or_default()), "x")
        }
        ("/spec/kubernetesVersion", _) => Ok(()),
        ("/spec/priorityClassName", _) => same(&pod["spec"]["priorityClassName"], text),
        ("/spec/pod/labels/tier", _) => same(&pod["metadata"]["labels"]["tier"], text),
        ("/spec/pod/annotations", true) => same(&pod["metadata"]["annotations"][text], "x"),
        ("/spec/antiAffinity/topologyKey", _) => same(
            &pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
                ["topologyKey"],
            text,
        ),
        ("/spec/clientService/type", _) => {
            let client = documents
                .iter()
                .find(|d| d["kind"] == "Service" && d["spec"]["clusterIP"] != "None")
                .ok_or("no client Service")?;
            same(&client["spec"]["type"], text)
        }
        ("/spec/rootPassword/secretName", _) => {
            let var = container["env"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["name"] == "TAOS_ROOT_PASSWORD")
                .ok_or("no password variable")?;
            same(&var["valueFrom"]["secretKeyRef"]["name"], text)
        }
        ("/spec/nodeSelector", true) => same(&pod["spec"]["nodeSelector"][text], "x"),
        (other, _) => Err(format!("no rule for {other}")),
    }
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
                if let Err(why) = arrived(pointer, is_key, &text, &documents) {
                    prop_assert!(false, "{:?} did not arrive exactly: {}", text, why);
                }
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
