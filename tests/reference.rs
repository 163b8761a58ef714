//! `docs/src/spec-reference.md` is generated from the JSON Schema (`tdgen schema`), so it lists
//! every field the spec accepts with the words of its doc comment, and cannot fall behind.
//! `UPDATE_DOCS=1 cargo test reference` rewrites the page after a spec change.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

const PAGE: &str = "docs/src/spec-reference.md";

const HEADER: &str = "# Spec reference

Every field of a spec, generated from the JSON Schema `tdgen schema` prints (and held equal to it
by a test). Every field is optional; a default named here is the `seed` preset's, and a preset or
`--set` may change it (`tdgen presets` shows each preset's values). `[]` is an item of a list,
`<key>` an entry of a map. A field typed as a Kubernetes type takes exactly what a pod spec
takes there.

| Field | Type | Description |
|---|---|---|
";

/// One row per field, depth first in schema order.
struct Reference<'a> {
    defs: &'a serde_json::Map<String, Value>,
    rows: String,
    /// The definitions being expanded, to stop at a recursive type.
    open: BTreeSet<String>,
}

impl Reference<'_> {
    /// A node's definition when it is a `$ref` (or a nullable `anyOf` around one).
    fn target(node: &Value) -> Option<String> {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            return Some(r.trim_start_matches("#/$defs/").to_owned());
        }
        node.get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|n| n.get("$ref").and_then(Value::as_str))
            .map(|r| r.trim_start_matches("#/$defs/").to_owned())
    }

    /// The node with its reference resolved, unless it is a Kubernetes type.
    fn resolve<'n>(&'n self, node: &'n Value) -> &'n Value {
        match Self::target(node) {
            Some(name) if !name.starts_with("io.k8s.") => self.defs.get(&name).unwrap_or(node),
            _ => node,
        }
    }

    fn kind(&self, node: &Value) -> String {
        if let Some(name) = Self::target(node).filter(|n| n.starts_with("io.k8s.")) {
            return format!("Kubernetes `{}`", name.rsplit('.').next().unwrap_or(&name));
        }
        let node = self.resolve(node);
        if let Some(values) = node.get("oneOf").and_then(Value::as_array) {
            let consts: Vec<String> = values
                .iter()
                .filter_map(|v| v.get("const").and_then(Value::as_str))
                .map(|c| format!("`{c}`"))
                .collect();
            if consts.len() == values.len() {
                return format!("one of {}", consts.join(", "));
            }
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            let names: Vec<String> = values
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| format!("`{v}`"))
                .collect();
            return format!("one of {}", names.join(", "));
        }
        let types: Vec<&str> = match node.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
            _ => Vec::new(),
        };
        match types.as_slice() {
            ["object"] if node.get("properties").is_none() => match node.get("additionalProperties") {
                Some(inner) if inner.is_object() => format!("map of {}", self.kind(inner)),
                _ => "map".to_owned(),
            },
            ["array"] => format!(
                "list of {}",
                node.get("items").map(|i| self.kind(i)).unwrap_or_default()
            ),
            [] => "any".to_owned(),
            many => many.join(" or "),
        }
    }

    fn field(&mut self, path: &str, node: &Value) {
        let description = node
            .get("description")
            .or_else(|| self.resolve(node).get("description"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace('|', "\\|");
        let kind = self.kind(node);
        writeln!(self.rows, "| `{path}` | {kind} | {description} |").expect("a String takes writes");
        self.children(path, node);
    }

    fn children(&mut self, path: &str, node: &Value) {
        let name = Self::target(node).filter(|n| !n.starts_with("io.k8s."));
        if let Some(name) = &name
            && !self.open.insert(name.clone())
        {
            return;
        }
        let resolved = self.resolve(node).clone();
        if let Some(properties) = resolved.get("properties").and_then(Value::as_object) {
            for (key, child) in properties {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                self.field(&child_path, child);
            }
        } else if let Some(items) = resolved.get("items") {
            if self.resolve(items).get("properties").is_some() {
                self.children(&format!("{path}[]"), items);
            }
        } else if let Some(values) = resolved.get("additionalProperties").filter(|v| v.is_object())
            && self.resolve(values).get("properties").is_some()
        {
            self.children(&format!("{path}.<key>"), values);
        }
        if let Some(name) = name {
            self.open.remove(&name);
        }
    }
}

fn generated() -> String {
    let schema = serde_json::to_value(tdgen::json_schema()).expect("the schema is JSON");
    let empty = serde_json::Map::new();
    let defs = schema.get("$defs").and_then(Value::as_object).unwrap_or(&empty);
    let mut reference = Reference {
        defs,
        rows: String::new(),
        open: BTreeSet::new(),
    };
    reference.children("", &schema);
    format!("{HEADER}{}", reference.rows)
}

#[test]
fn the_spec_reference_is_the_schema() {
    let path = Path::new(crate::support::ROOT).join(PAGE);
    let page = generated();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("write the reference");
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == page,
        "{PAGE} is not what the schema says: run `UPDATE_DOCS=1 cargo test reference` and review it"
    );
    for field in [
        "spec.dnodes",
        "spec.storage.data.size",
        "spec.backup.schedule",
        "metadata.name",
    ] {
        assert!(page.contains(&format!("| `{field}` |")), "the reference lacks {field}");
    }
}
