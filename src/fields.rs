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
    let mut findings = crate::capped::Capped::default();
    // In the order they are written, so the findings kept are the first ones in the text.
    let mut unknown: Vec<_> = index
        .keys_with_segments()
        .filter_map(|(path, segments)| Some((index.key(path), path, segments, check(&SCHEMA, segments)?)))
        .collect();
    unknown.sort_by_key(|(span, ..)| span.map(|s| (s.line, s.column)));
    for (_, path, segments, (parent, allowed)) in unknown {
        let Some(field) = segments.last() else { continue };
        if !findings.wants("unknown-field") {
            findings.left_out(crate::error::Severity::Error, "unknown-field", path);
            continue;
        }
        let mut allowed: Vec<&str> = allowed.keys().map(String::as_str).collect();
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
    findings.finish()
}

/// Walk `segments` down the schema. `Some((parent path, the parent's fields))` when the last
/// segment is a field its parent object does not have; `None` when it is known or not
/// checkable here.
fn check<'a>(root: &'a Value, segments: &[String]) -> Option<(String, &'a serde_json::Map<String, Value>)> {
    let mut schema = root;
    let mut parent = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let object = resolve(schema)?;
        if let Some(next) = child(object, segment) {
            schema = next;
        } else if segment.starts_with('[') {
            return None;
        } else {
            match object.get("additionalProperties") {
                Some(Value::Bool(false)) | None if object.get("properties").is_some() => {
                    let last = i + 1 == segments.len();
                    return last.then_some((parent, object["properties"].as_object()?));
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

/// The schema of `segment` under `object`: a list's items for `[N]`, else the named property.
fn child<'a>(object: &'a Value, segment: &str) -> Option<&'a Value> {
    if segment.starts_with('[') {
        object.get("items")
    } else {
        object.get("properties").and_then(|p| p.get(segment))
    }
}

/// What the schema wants at `path` (`spec.storage`, `spec.tolerations[0]`), in words: its kind,
/// its fields or choices, and the first sentence of its description; `None` for a path the
/// schema does not describe.
pub(crate) fn expected_shape(path: &str) -> Option<String> {
    let segments = split_path(path)?;
    let mut schema: &Value = &SCHEMA;
    // A map's entries and a list's items are described by the map or list itself.
    let mut described = None;
    for segment in &segments {
        let object = resolve(schema)?;
        let parent = schema.get("description");
        schema = child(object, segment).or_else(|| object.get("additionalProperties").filter(|a| a.is_object()))?;
        described = schema.get("description").or(parent);
    }
    let about = described
        .and_then(Value::as_str)
        .map(first_sentence)
        .filter(|d| !d.is_empty() && d.len() <= 100);
    let shape = describe(schema, 0);
    Some(match about {
        Some(about) => format!("`{path}` is {shape} ({about})"),
        None => format!("`{path}` is {shape}"),
    })
}

/// A description's first sentence, without its full stop (`e.g.` and `i.e.` do not end one).
fn first_sentence(description: &str) -> String {
    let text = description.replace('\n', " ");
    let mut end = text.len();
    for (at, _) in text.match_indices(". ") {
        if !text[..at].ends_with("e.g") && !text[..at].ends_with("i.e") {
            end = at;
            break;
        }
    }
    text[..end].trim_end_matches('.').to_owned()
}

/// A path as the findings write it, back into the schema walk's segments (`[0]` for an index).
fn split_path(path: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inside = &after[..end];
            if inside.starts_with('"') {
                // A quoted key: the JSON string up to its closing quote (which may hold `]`).
                let mut stream = serde_json::Deserializer::from_str(after).into_iter::<String>();
                let key = stream.next()?.ok()?;
                let used = stream.byte_offset();
                segments.push(key);
                rest = after.get(used..)?.strip_prefix(']')?;
            } else {
                segments.push(format!("[{inside}]"));
                rest = &after[end + 1..];
            }
        } else {
            let rest_plain = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_plain.find(['.', '[']).unwrap_or(rest_plain.len());
            segments.push(rest_plain[..end].to_owned());
            rest = &rest_plain[end..];
        }
    }
    Some(segments)
}

/// A schema in words: `a mapping with the fields data, logs`, `a list of mappings …`.
fn describe(schema: &Value, depth: usize) -> String {
    if schema.get("$ref").and_then(Value::as_str) == Some("#/$defs/io.k8s.apimachinery.pkg.api.resource.Quantity") {
        return "a Kubernetes quantity such as `500m`, `2` or `4Gi`".into();
    }
    let Some(schema) = resolve_all(schema) else {
        return "a value".into();
    };
    if let [one] = schema.as_slice() {
        return describe_one(one, depth);
    }
    let kinds: Vec<String> = schema.iter().map(|s| describe_one(s, depth + 1)).collect();
    kinds.join(" or ")
}

fn describe_one(schema: &Value, depth: usize) -> String {
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = choices
            .iter()
            .map(|c| c.as_str().map_or(c.to_string(), str::to_owned))
            .collect();
        return format!("one of {}", names.join(", "));
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(listed)) => {
            let kinds: Vec<&str> = listed
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| *k != "null")
                .collect();
            if let [one] = kinds[..] {
                one
            } else {
                // A whole number is a number: `a string, a number or a boolean`.
                let words: Vec<&str> = kinds
                    .iter()
                    .filter(|k| !(**k == "integer" && kinds.contains(&"number")))
                    .map(|k| match *k {
                        "integer" => "a whole number",
                        "number" => "a number",
                        "boolean" => "a boolean",
                        "object" => "a mapping",
                        "array" => "a list",
                        _ => "a string",
                    })
                    .collect();
                return match words.split_last() {
                    Some((last, [])) => (*last).to_owned(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => "a value".into(),
                };
            }
        }
        _ if schema.get("properties").is_some() => "object",
        _ => "",
    };
    match kind {
        "object" => match schema.get("properties").and_then(Value::as_object) {
            Some(fields) if depth == 0 => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                format!("a mapping with the fields {}", names.join(", "))
            }
            _ => "a mapping".into(),
        },
        "array" => match schema.get("items") {
            Some(items) if depth == 0 => format!("a list, each item {}", describe(items, depth)),
            _ => "a list".into(),
        },
        "integer" => {
            let bound = |key| schema.get(key).and_then(Value::as_i64);
            match (bound("minimum"), bound("maximum")) {
                (Some(low), Some(high)) => format!("a whole number from {low} to {high}"),
                (Some(low), None) => format!("a whole number, at least {low}"),
                (None, Some(high)) => format!("a whole number, at most {high}"),
                (None, None) => "a whole number".into(),
            }
        }
        "number" => "a number".into(),
        "boolean" => "true or false".into(),
        "string" => "a string".into(),
        _ => "a value".into(),
    }
}

/// The variants a schema allows after `$ref`s, `null` left out: one for most fields, several
/// for an `anyOf` such as a number-or-string.
fn resolve_all(schema: &Value) -> Option<Vec<&Value>> {
    let mut schema = schema;
    for _ in 0..16 {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/$defs/")?;
            schema = SCHEMA.get("$defs")?.get(name)?;
        } else if let Some(variants) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            let kept: Vec<&Value> = variants
                .iter()
                .filter(|v| v.get("type") != Some(&Value::from("null")))
                .collect();
            if let [one] = kept.as_slice() {
                schema = one;
            } else {
                return Some(kept.into_iter().filter_map(resolve_all).flatten().collect());
            }
        } else {
            return Some(vec![schema]);
        }
    }
    None
}

/// Follow `$ref`s and unwrap `Option`'s `anyOf: [T, null]` to the object schema (the first
/// variant of any other `anyOf`).
fn resolve(schema: &Value) -> Option<&Value> {
    resolve_all(schema)?.first().copied()
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
    fn a_type_error_is_told_the_shape_the_schema_wants() {
        let shape = |path| expected_shape(path).unwrap_or_default();
        assert_eq!(
            shape("spec.storage"),
            "`spec.storage` is a mapping with the fields data, logs, retention (Persistent storage)"
        );
        assert!(
            shape("spec.tolerations")
                .starts_with("`spec.tolerations` is a list, each item a mapping with the fields effect, key, operator")
        );
        assert!(shape("spec.dnodes").starts_with("`spec.dnodes` is a whole number, at least 1 ("));
        assert!(
            shape("spec.config.supportVnodes")
                .starts_with("`spec.config.supportVnodes` is a string, a number or a boolean (Any taos.cfg parameter")
        );
        assert!(shape("spec.resources.requests.cpu").contains("e.g. `{cpu: \"2\", memory: 8Gi}`"));
        assert!(shape(r#"metadata.labels["a.b/c"]"#).starts_with(r#"`metadata.labels["a.b/c"]` is a string"#));
        assert_eq!(expected_shape("spec.nothing"), None);
    }

    #[test]
    fn known_fields_and_free_maps_pass() {
        assert!(
            unknown("apiVersion: tdgen/v1\nspec:\n  probes:\n    startup: {periodSeconds: 1}\n  config: {x: 1}\n")
                .is_empty()
        );
    }
}
