//! Fuzz parse → validate → render → emit: any input either renders manifests that read back
//! exactly, or yields findings — never a panic.

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
        }
        Err(report) => {
            assert!(report.has_errors(), "a rejected spec carries an error");
            let _ = report.render();
            let _ = report.to_json();
        }
    }
});
