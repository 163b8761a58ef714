//! Diagnostics: the invalid-spec corpus (one mistake per file, its expected code on the first
//! line) snapshots the exact user-facing text, and every documented code has a fixture.

use std::collections::BTreeSet;
use std::path::Path;

use tdgen::Request;

use crate::support::spec;

/// Codes that no spec file can trigger, with the test that covers each instead.
const COVERED_ELSEWHERE: [(&str, &str); 7] = [
    (
        "too-many-nodes",
        "diagnostics::huge_inputs_are_refused_and_findings_counted",
    ),
    (
        "more-findings",
        "diagnostics::huge_inputs_are_refused_and_findings_counted",
    ),
    (
        "root-password-strength",
        "production::a_password_secret_gets_the_notes_its_version_needs",
    ),
    (
        "root-password-in-pod-logs",
        "production::a_password_secret_gets_the_notes_its_version_needs",
    ),
    ("invalid-set", "cli::set_errors_name_the_expression"),
    (
        "annotations-too-large",
        "diagnostics::oversized_annotations_are_rejected",
    ),
    ("preset-conflict", "cli::set_preset_acts_like_the_flag"),
];

fn expected_code(text: &str) -> &str {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .expect("first line `# expect: CODE`")
}

fn report_for(name: &str, text: &str) -> tdgen::Report {
    match tdgen::check(&Request::from_text(name, text)) {
        Ok(checked) => checked.report,
        Err(report) => report,
    }
}

#[test]
fn invalid_specs_match_their_snapshots() {
    insta::glob!("fixtures/invalid", "*.yaml", |path| {
        let text = std::fs::read_to_string(path).expect("fixture");
        let name = format!("invalid/{}", path.file_name().unwrap().to_string_lossy());
        let report = report_for(&name, &text);
        let code = expected_code(&text);
        assert!(
            report.findings.iter().any(|f| f.code == code),
            "{name}: expected `{code}`, got:\n{report}"
        );
        insta::assert_snapshot!("invalid", report.render());
    });
}

#[test]
fn the_corpus_is_large_and_every_documented_code_is_exercised() {
    let dir = Path::new(crate::support::ROOT).join("tests/fixtures/invalid");
    let mut exercised = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("fixture");
        exercised.insert(expected_code(&text).to_owned());
        files += 1;
    }
    assert!(files >= 40, "only {files} invalid fixtures");
    let readme = std::fs::read_to_string(Path::new(crate::support::ROOT).join("docs/src/validation.md"))
        .expect("the validation page");
    let documented: BTreeSet<String> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter(|l| {
            let severity = l.split('|').nth(2).unwrap_or_default();
            ["error", "warning", "note"].iter().any(|s| severity.contains(s))
        })
        .flat_map(|l| {
            l.split('|')
                .nth(1)
                .unwrap_or_default()
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let elsewhere: BTreeSet<String> = COVERED_ELSEWHERE.iter().map(|(c, _)| c.to_string()).collect();
    let missing: Vec<_> = documented
        .difference(&exercised)
        .filter(|c| !elsewhere.contains(*c))
        .collect();
    assert!(missing.is_empty(), "documented codes without a fixture: {missing:?}");
    let undocumented: Vec<_> = exercised.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "codes missing from the table of docs/src/validation.md: {undocumented:?}"
    );
}

#[test]
fn huge_inputs_are_refused_and_findings_counted() {
    // Over 100,000 YAML values: refused before anything is built, with the place it went over.
    let keys: String = (0..60_000).map(|i| format!("  k{i}: 1\n")).collect();
    assert_refused_at(&spec(&format!("spec:\n{keys}")), "100000 YAML values", 50_000);
    // Over 16,384 list items in all (here in two lists): refused the same way.
    let volumes: String = (0..10_000).map(|i| format!("  - {{name: v{i}}}\n")).collect();
    let text = spec(&format!("spec:\n  extraVolumes:\n{volumes}  tolerations:\n{volumes}"));
    // Lines 1-4 lead to the first list, whose 10,000 items end on line 10,004; line 10,005
    // opens the second, whose item 6,385 is item 16,385 of the text.
    assert_refused_at(&text, "16384 items", 10_005 + 6_385);
    // Under the bound, each code's first 1,000 findings are kept and the rest counted exactly.
    for (unknown, more) in [(1_000, 0), (1_001, 1), (40_000, 39_000)] {
        let keys: String = (0..unknown).map(|i| format!("  k{i}: 1\n")).collect();
        let report = report_for("s.yaml", &spec(&format!("spec:\n{keys}")));
        let shown = report.findings.iter().filter(|f| f.code == "unknown-field").count();
        assert_eq!(shown, 1_000, "{unknown} unknown keys");
        let counted: Vec<&tdgen::Finding> = report.findings.iter().filter(|f| f.code == "more-findings").collect();
        if more == 0 {
            assert!(counted.is_empty(), "{counted:?}");
        } else {
            assert_eq!(counted.len(), 1);
            assert!(
                counted[0]
                    .message
                    .starts_with(&format!("{more} more `unknown-field` findings")),
                "{}",
                counted[0].message
            );
            assert_eq!(counted[0].path, "spec.k1000");
        }
    }
}

/// `text` is refused as `too-many-nodes` alone, saying `bound`, at `line`.
fn assert_refused_at(text: &str, bound: &str, line: usize) {
    let report = report_for("s.yaml", text);
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["too-many-nodes"], "{report}");
    assert!(report.findings[0].message.contains(bound), "{report}");
    let span = report.findings[0]
        .location
        .as_ref()
        .and_then(|l| l.span)
        .expect("a place");
    assert_eq!(span.line, line, "{report}");
}

#[test]
fn oversized_annotations_are_rejected() {
    let big = "x".repeat(300 * 1024);
    let report = report_for(
        "s.yaml",
        &spec(&format!("metadata:\n  annotations:\n    note: {big}\n")),
    );
    assert!(
        report.findings.iter().any(|f| f.code == "annotations-too-large"),
        "{:?}",
        report.findings
    );
}

#[test]
fn all_findings_are_reported_at_once() {
    let text = spec(
        "metadata:\n  name: TD\nspec:\n  dnodes: 2\n  mnodes: 3\n  timezone: Mars/Olympus\n  storage:\n    data: {size: 5GB}\n",
    );
    let report = report_for("s.yaml", &text);
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    for code in [
        "invalid-name",
        "mnodes-exceed-dnodes",
        "invalid-timezone",
        "invalid-quantity",
        "two-dnodes",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}

/// The entrypoint links /etc/localtime to /usr/share/zoneinfo/$TZ, which the container's
/// filesystem matches case by case: a name in the wrong case is refused with the right spelling.
#[test]
fn a_time_zone_must_be_spelled_as_the_database_spells_it() {
    let finding_for = |zone: &str| {
        report_for("s.yaml", &spec(&format!("spec:\n  timezone: {zone}\n")))
            .findings
            .into_iter()
            .find(|f| f.code == "invalid-timezone")
    };
    for exact in ["Asia/Shanghai", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+8"] {
        assert!(finding_for(exact).is_none(), "{exact} is an IANA name");
    }
    for (wrong, right) in [
        ("asia/shanghai", "Asia/Shanghai"),
        ("utc", "UTC"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
    ] {
        let finding = finding_for(wrong).unwrap_or_else(|| panic!("{wrong} passed"));
        assert_eq!(finding.path, "spec.timezone");
        let hint = finding.help.unwrap_or_default();
        assert!(hint.contains(&format!("use `{right}`")), "{wrong}: {hint}");
    }
    let misspelt = finding_for("Asia/Shangai").expect("a misspelt zone is refused");
    assert!(
        misspelt
            .help
            .unwrap_or_default()
            .contains("did you mean `Asia/Shanghai`?")
    );
}

#[test]
fn findings_are_data_with_paths_and_positions() {
    let report = report_for("s.yaml", &spec("spec:\n  storage:\n    data:\n      size: 5GB\n"));
    let finding = &report.findings[0];
    assert_eq!(
        (finding.code, finding.path.as_str()),
        ("invalid-quantity", "spec.storage.data.size")
    );
    let location = finding.location.as_ref().expect("located");
    assert_eq!(location.source, "s.yaml");
    let span = location.span.expect("span");
    assert_eq!((span.line, span.column, span.len), (6, 13, 3));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json[0]["location"]["line"], 6);
    assert_eq!(json[0]["severity"], "error");
}
