//! Unknown-field detection: every key of a spec text checked against the spec's JSON Schema,
//! so all misspelt fields are reported at once, each with its line and the closest valid name.

use std::sync::LazyLock;

use serde_json::Value;

use crate::error::{Finding, Location};
use crate::source::{Source, SourceIndex};
use crate::suggest::did_you_mean;

static SCHEMA: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(crate::spec::json_schema()).unwrap_or(Value::Null));

/// One finding per key that the spec does not have (keys below an unknown key are skipped).
pub(crate) fn unknown_fields(source: &Source, index: &SourceIndex) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (path, segments) in index.keys_with_segments() {
        let Some((parent, allowed)) = check(&SCHEMA, segments) else {
            continue;
        };
        let Some(field) = segments.last() else { continue };
        let mut allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        allowed.sort_unstable();
        let place = if parent.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{parent}`")
        };
        let help = if allowed == ["matchExpressions", "matchLabels"] {
            // The old tdgen shape and a common slip: labels straight under a selector.
            format!(
                "{place} is a Kubernetes label selector: put labels under matchLabels (`{{matchLabels: {{{field}: …}}}}`), or use matchExpressions"
            )
        } else {
            format!(
                "{}valid fields in {place}: {}",
                did_you_mean(field, allowed.iter().copied()),
                allowed.join(", ")
            )
        };
        findings.push(Finding {
            location: index.key(path).map(|span| Location {
                source: source.name.clone(),
                span: Some(span),
            }),
            ..Finding::error("unknown-field", path, format!("unknown field `{field}`")).with_help(help)
        });
    }
    findings
}

/// Walk `segments` down the schema. `Some((parent path, allowed names))` when the last segment
/// is a field its parent object does not have; `None` when it is known or not checkable here.
fn check(root: &Value, segments: &[String]) -> Option<(String, Vec<String>)> {
    let mut schema = root;
    let mut parent = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let object = resolve(root, schema)?;
        if segment.starts_with('[') {
            schema = object.get("items")?;
        } else if let Some(next) = object.get("properties").and_then(|p| p.get(segment)) {
            schema = next;
        } else {
            match object.get("additionalProperties") {
                Some(Value::Bool(false)) | None if object.get("properties").is_some() => {
                    let last = i + 1 == segments.len();
                    let names = object["properties"].as_object()?.keys().cloned().collect();
                    return last.then_some((parent, names));
                }
                Some(additional @ Value::Object(_)) => schema = additional,
                _ => return None,
            }
        }
        parent = if segment.starts_with('[') {
            format!("{parent}{segment}")
        } else {
            crate::source::join_path(&parent, segment)
        };
    }
    None
}

/// Follow `$ref`s and unwrap `Option`'s `anyOf: [T, null]` to the object schema.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> Option<&'a Value> {
    for _ in 0..16 {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/$defs/")?;
            schema = root.get("$defs")?.get(name)?;
        } else if let Some(variants) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            schema = variants.iter().find(|v| v.get("type") != Some(&Value::from("null")))?;
        } else {
            return Some(schema);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(String, String)> {
        let source = Source {
            name: "s.yaml".into(),
            text: text.into(),
        };
        unknown_fields(&source, &SourceIndex::new(text))
            .into_iter()
            .map(|f| (f.path, f.help.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn every_unknown_field_is_reported_with_a_suggestion() {
        let found = unknown(
            "metdata: {name: x}\nspec:\n  storage:\n    data: {sise: 1Gi, storageClass: x}\n  config: {anyKey: 1}\n",
        );
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["metdata", "spec.storage.data.sise", "spec.storage.data.storageClass"]
        );
        assert!(found[0].1.starts_with("did you mean `metadata`?"), "{}", found[0].1);
        assert!(found[1].1.starts_with("did you mean `size`?"), "{}", found[1].1);
    }

    #[test]
    fn known_fields_and_free_maps_pass() {
        assert!(
            unknown("apiVersion: tdgen/v1\nspec:\n  probes:\n    startup: {periodSeconds: 1}\n  config: {x: 1}\n")
                .is_empty()
        );
    }
}
