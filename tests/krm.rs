//! `tdgen krm` against the KRM Functions Specification: its own example input, the input a
//! real orchestrator (kpt) sends, and the `Result` schema every output must meet.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{ROOT, render_request, request};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/tests/fixtures/krm/{name}")).expect("a KRM fixture")
}

fn parse(output: &str) -> Value {
    serde_saphyr::from_str(output).expect("the output is YAML")
}

/// The spec's `Result` schema: `message` required; `severity` one of error, warning, info;
/// `field` needs a `path` and a `resourceRef`; `resourceRef` needs apiVersion, kind and name;
/// `file` needs a `path`; `tags` map strings to strings.
fn assert_results_follow_the_schema(list: &Value) {
    assert_eq!(list["kind"], "ResourceList");
    assert!(list["items"].is_array(), "items is required: {list}");
    for result in list["results"].as_array().into_iter().flatten() {
        assert!(result["message"].is_string(), "{result}");
        assert!(
            ["error", "warning", "info"].contains(&result["severity"].as_str().unwrap_or("error")),
            "{result}"
        );
        if !result["field"].is_null() {
            assert!(result["field"]["path"].is_string(), "{result}");
            assert!(
                !result["resourceRef"].is_null(),
                "a field needs its resourceRef: {result}"
            );
        }
        if !result["resourceRef"].is_null() {
            for key in ["apiVersion", "kind", "name"] {
                assert!(result["resourceRef"][key].is_string(), "resourceRef.{key}: {result}");
            }
        }
        if !result["file"].is_null() {
            assert!(result["file"]["path"].is_string(), "{result}");
        }
        for (_, tag) in result["tags"].as_object().into_iter().flatten() {
            assert!(tag.is_string(), "{result}");
        }
    }
}

fn errors(list: &Value) -> Vec<&Value> {
    let results = list["results"].as_array().into_iter().flatten();
    results.filter(|r| r["severity"] == "error").collect()
}

#[test]
fn the_specifications_example_is_refused_with_its_items_intact() {
    let input = fixture("spec-example-input.yaml");
    let outcome = tdgen::krm::run(&input);
    assert!(!outcome.success, "a FulfillmentCenter is not a tdgen spec");
    let list = parse(&outcome.output);
    assert_results_follow_the_schema(&list);
    let given: Value = serde_saphyr::from_str(&input).expect("the example is YAML");
    assert_eq!(list["items"], given["items"], "the items pass through untouched");
    let [error] = errors(&list)[..] else {
        panic!("one error: {list}")
    };
    assert_eq!(error["resourceRef"]["kind"], "FulfillmentCenter");
    assert!(
        error["message"].as_str().unwrap().contains("not a tdgen spec"),
        "{error}"
    );
}

#[test]
fn a_tdgen_spec_as_function_config_appends_the_clusters_objects() {
    let spec_body = "metadata: {name: td, namespace: tsdb}\nspec: {preset: ha}\n";
    let mut input: Value = serde_saphyr::from_str(&fixture("spec-example-input.yaml")).expect("YAML");
    input["functionConfig"] = serde_saphyr::from_str(&crate::support::spec(spec_body)).expect("YAML");
    let outcome = tdgen::krm::run(&serde_json::to_string(&input).expect("JSON"));
    let list = parse(&outcome.output);
    assert!(outcome.success, "{}", outcome.output);
    assert_results_follow_the_schema(&list);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items[0], input["items"][0], "the input's items come first, unchanged");
    let rendered = render_request(&request(spec_body));
    let expected: Vec<Value> = rendered
        .objects()
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    assert_eq!(items[1..], expected[..], "then exactly what `tdgen render` renders");
}

#[test]
fn what_kpt_sends_renders_without_the_orchestrators_annotations() {
    let outcome = tdgen::krm::run(&fixture("kpt-input.yaml"));
    assert!(outcome.success, "{}", outcome.output);
    let list = parse(&outcome.output);
    assert_results_follow_the_schema(&list);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items[0]["metadata"]["name"], "wordpress");
    assert_eq!(
        items[0]["metadata"]["annotations"]["internal.config.kubernetes.io/path"], "service.yaml",
        "the orchestrator's annotations on the input items are kept"
    );
    for item in &items[1..] {
        let annotations = item["metadata"]["annotations"].as_object().into_iter().flatten();
        for (key, _) in annotations {
            assert!(
                !key.contains("config.kubernetes.io/") && !key.starts_with("config.k8s.io/"),
                "{key} on {item}"
            );
        }
    }
    assert!(
        items[1..]
            .iter()
            .any(|i| i["kind"] == "StatefulSet" && i["metadata"]["name"] == "td")
    );
}

#[test]
fn every_finding_becomes_a_result_on_the_specs_field() {
    let config = "  apiVersion: tdgen/v1\n  kind: TDengineCluster\n  metadata:\n    name: td\n    annotations:\n      internal.config.kubernetes.io/path: clusters/td.yaml\n  spec: {dnodes: 0, mnodes: 2, timezone: Mars/Base}\n";
    let input =
        format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n{config}");
    let outcome = tdgen::krm::run(&input);
    assert!(!outcome.success);
    let list = parse(&outcome.output);
    assert_results_follow_the_schema(&list);
    let fields: Vec<&str> = errors(&list)
        .iter()
        .map(|r| r["field"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["spec.dnodes", "spec.mnodes", "spec.timezone"]);
    for error in errors(&list) {
        assert_eq!(
            error["file"]["path"], "clusters/td.yaml",
            "the file the orchestrator named"
        );
        assert_eq!(error["resourceRef"]["name"], "td");
        assert!(error["tags"]["tdgen.io/code"].is_string());
    }
    assert_eq!(list["items"], Value::Array(Vec::new()), "nothing is generated");
}

#[test]
fn inputs_that_are_not_a_function_call_are_refused_with_a_result() {
    for (input, says) in [
        ("{{{", "not YAML"),
        ("- a list", "not a ResourceList"),
        ("apiVersion: v1\nkind: List\nitems: []\n", "not a ResourceList"),
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n",
            "no functionConfig",
        ),
    ] {
        let outcome = tdgen::krm::run(input);
        assert!(!outcome.success, "{input}");
        let list = parse(&outcome.output);
        assert_results_follow_the_schema(&list);
        let message = errors(&list)[0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{input}: {message}");
    }
}

#[test]
fn every_refused_input_is_answered_with_a_resource_list() {
    let dir = format!("{ROOT}/tests/fixtures/krm/refused");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).expect("cases") {
        let path = entry.expect("entry").path();
        let input = std::fs::read_to_string(&path).expect("case");
        let says = input
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("# expect:");
        let outcome = tdgen::krm::run(&input);
        assert!(!outcome.success, "{}", path.display());
        let list = parse(&outcome.output);
        assert_results_follow_the_schema(&list);
        let messages: Vec<&str> = errors(&list).iter().filter_map(|r| r["message"].as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains(says)),
            "{}: {messages:?}",
            path.display()
        );
        cases += 1;
    }
    assert!(cases >= 4);
    // Bytes that are not text, or too many of them, still get a ResourceList.
    for input in [vec![0xff, 0xfe], vec![b'a'; tdgen::krm::MAX_INPUT_BYTES as usize + 1]] {
        let list = parse(&tdgen::krm::run_bytes(&input).output);
        assert_results_follow_the_schema(&list);
        assert_eq!(errors(&list).len(), 1);
    }
    // A package rendered once and rendered again holds one copy of each object.
    let once = tdgen::krm::run(&fixture("kpt-input.yaml"));
    let mut again = parse(&once.output);
    again["functionConfig"] = parse(&fixture("kpt-input.yaml"))["functionConfig"].clone();
    let twice = tdgen::krm::run(&again.to_string());
    assert!(twice.success, "{}", twice.output);
    assert_eq!(parse(&twice.output)["items"], parse(&once.output)["items"]);
}

#[test]
fn the_command_speaks_the_protocol_on_its_streams() {
    let run = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tdgen"))
            .arg("krm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tdgen runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("written");
        child.wait_with_output().expect("finished")
    };
    let ok = run(&fixture("kpt-input.yaml"));
    assert_eq!(ok.status.code(), Some(0));
    assert!(ok.stderr.is_empty(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(parse(&String::from_utf8_lossy(&ok.stdout))["kind"], "ResourceList");
    let refused = run(&fixture("spec-example-input.yaml"));
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        parse(&String::from_utf8_lossy(&refused.stdout))["kind"],
        "ResourceList",
        "stdout is still a ResourceList"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("tdgen krm"),
        "a word on stderr"
    );
}
