//! The diff table: one change of every spec field, with the class `tdgen diff` must give it
//! (`tests/fixtures/diffs/*.yaml`, over `tests/fixtures/diff-baseline.yaml`). Read by the
//! integration tests (`diffs`) and by the API-server tier, which holds each class to what a
//! real API server does.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tdgen::diff::ChangeClass;

/// The repository's top level.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// One spec field's change, read from `tests/fixtures/diffs/<path>.yaml`: the change (YAML
/// merged over its base), its class (`safe`, `unsafe`, `rejected`, or `invalid` when validation
/// refuses the new spec), the reason, and words the report must contain. The base is the
/// baseline (`tests/fixtures/diff-baseline.yaml`: most knobs on, so that a change to any field
/// shows), the baseline with `over` merged over it, or `only` instead.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub path: String,
    pub expect: String,
    pub reason: String,
    pub says: String,
    #[serde(default)]
    pub over: Option<String>,
    #[serde(default)]
    pub only: Option<String>,
    pub change: String,
    /// The fixture's file name without `.yaml`.
    #[serde(skip)]
    pub file: String,
}

impl Row {
    pub fn read(path: &Path) -> Row {
        let text = std::fs::read_to_string(path).expect("a diff fixture");
        let mut row: Row = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        row.file = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        row
    }

    /// The class the change must have; `None` when the new spec is invalid.
    pub fn class(&self) -> Option<ChangeClass> {
        match self.expect.as_str() {
            "safe" => Some(ChangeClass::Safe),
            "unsafe" => Some(ChangeClass::Unsafe),
            "rejected" => Some(ChangeClass::Rejected),
            "invalid" => None,
            other => panic!("{}: expect `{other}`, not safe, unsafe, rejected or invalid", self.path),
        }
    }

    /// The spec the change starts from.
    pub fn base(&self) -> String {
        let baseline = std::fs::read_to_string(Path::new(ROOT).join("tests/fixtures/diff-baseline.yaml"))
            .expect("tests/fixtures/diff-baseline.yaml");
        match (&self.over, &self.only) {
            (_, Some(only)) => only.clone(),
            (Some(over), None) => merged(&baseline, over),
            (None, None) => baseline,
        }
    }
}

/// Every row, from the fixture files.
pub fn rows() -> Vec<Row> {
    let dir = Path::new(ROOT).join("tests/fixtures/diffs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/fixtures/diffs")
        .map(|e| e.expect("an entry").path())
        .collect();
    files.sort();
    files.iter().map(|f| Row::read(f)).collect()
}

/// Merge YAML `over` into YAML `base` (maps key by key, everything else replaced; null removes).
pub fn merged(base: &str, over: &str) -> String {
    fn merge(base: &mut Value, over: Value) {
        match (base, over) {
            (Value::Object(base), Value::Object(over)) => {
                for (key, value) in over {
                    if value.is_null() {
                        base.remove(&key);
                    } else {
                        merge(base.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
            (base, over) => *base = over,
        }
    }
    let mut value: Value = serde_saphyr::from_str(base).expect("base YAML");
    merge(&mut value, serde_saphyr::from_str(over).expect("overlay YAML"));
    serde_json::to_string(&value).expect("JSON is YAML")
}
