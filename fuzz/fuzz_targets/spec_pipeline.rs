//! Fuzz parse → validate → render → emit (and explain, plan, diff): any input either renders
//! manifests that read back exactly, or yields findings — never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let request = tdgen::Request::from_text("fuzz.yaml", text);
    match tdgen::check(&request) {
        Ok(checked) => {
            let _ = checked.report.render();
            let manifests = tdgen::render(&checked.valid);
            let yaml = manifests.to_yaml().expect("manifests serialise to YAML");
            let json: serde_json::Value =
                serde_json::from_str(&manifests.to_json().expect("manifests serialise to JSON")).expect("JSON parses");
            let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).expect("the YAML stream reads back");
            assert_eq!(json["items"].as_array().expect("a List"), &documents, "YAML and JSON disagree:\n{yaml}");
            manifests.files().expect("output-dir files serialise");
            // A render compared with itself read back has no changes.
            let previous = tdgen::diff::Previous::from_objects(documents, true).expect("a render is a previous render");
            let report = tdgen::diff::diff(&previous, &checked.valid);
            assert!(report.changes.is_empty(), "self-diff found changes:\n{}", report.render(&Default::default()));
            tdgen::explain::explain(&checked.valid).expect("explains");
            use tdgen::runbook::PlanKind;
            let dnodes = checked.valid.dnodes;
            for kind in [PlanKind::Mnodes, PlanKind::Scale { to: dnodes + 1 }, PlanKind::Scale { to: dnodes.saturating_sub(1) }, PlanKind::Teardown, PlanKind::Verify, PlanKind::Adopt] {
                if let Ok(runbook) = tdgen::runbook::plan(&checked.valid, kind) {
                    assert!(!runbook.steps().is_empty(), "a runbook without steps");
                    let _ = runbook.to_markdown();
                }
            }
        }
        Err(report) => {
            assert!(report.has_errors(), "a rejected spec carries an error");
            let _ = report.render();
            let _ = report.to_json();
        }
    }
});
