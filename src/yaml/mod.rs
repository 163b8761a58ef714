//! The one place that reads and writes YAML: reading through serde-saphyr (positions, typed
//! errors, duplicate keys), writing through tdgen's own [`write`] module, which quotes the
//! YAML 1.1 scalars (`on`, `no`, `y`, `1_000`) that kubectl's decoder would otherwise read as
//! booleans or integers. The writer also writes the compact JSON a Job's name hashes.

mod write;

use serde::{Serialize, de::DeserializeOwned};

/// A YAML read error with its 1-based position, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub kind: ReadErrorKind,
}

/// What kind of mistake a read error is, for choosing the finding's code and wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadErrorKind {
    /// The text is not YAML.
    Syntax,
    /// A key appears twice in one mapping.
    DuplicateKey(String),
    /// A value has the wrong type; `expected` names the type in plain words.
    Type { expected: String },
    /// A value that must be one of a few words is none of them.
    Choice { allowed: Vec<&'static str> },
    /// Anything else the typed reader refused.
    Other,
}

fn classify(error: &serde_saphyr::Error) -> ReadErrorKind {
    use serde_saphyr::Error as E;
    match error.without_snippet() {
        E::DuplicateMappingKey { key, .. } => ReadErrorKind::DuplicateKey(key.clone().unwrap_or_default()),
        E::InvalidScalar { ty, .. } => ReadErrorKind::Type {
            expected: plain_type(ty),
        },
        E::SerdeInvalidType { expected, .. } | E::SerdeInvalidValue { expected, .. } => ReadErrorKind::Type {
            expected: plain_type(expected),
        },
        E::NullIntoString { .. } => ReadErrorKind::Type {
            expected: "a string".into(),
        },
        E::SerdeUnknownVariant { expected, .. } => ReadErrorKind::Choice {
            allowed: expected.clone(),
        },
        E::SerdeUnknownField { .. } | E::SerdeMissingField { .. } => ReadErrorKind::Other,
        // What the reader expected when another kind of node came: a type error, worded for
        // spec authors (the text's syntax was already checked as a whole).
        E::Unexpected { expected, .. } => match *expected {
            "mapping start" | "mapping end" | "empty mapping start" | "empty mapping end" => ReadErrorKind::Type {
                expected: "a mapping (`key: value` lines)".into(),
            },
            "sequence start" => ReadErrorKind::Type {
                expected: "a list".into(),
            },
            "string scalar" | "str expected" | "missing string" | "scalar" => ReadErrorKind::Type {
                expected: "a single value".into(),
            },
            "bool expected" | "missing bool" => ReadErrorKind::Type {
                expected: "true or false".into(),
            },
            "ptr expects number" | "ptr expects unsigned integer" | "missing numeric ptr" => ReadErrorKind::Type {
                expected: "a number".into(),
            },
            _ => ReadErrorKind::Other,
        },
        E::Message { .. } | E::ExternalMessage { .. } | E::Eof { .. } => ReadErrorKind::Syntax,
        E::IndentationError { .. } => ReadErrorKind::Syntax,
        E::UnexpectedSequenceEnd { .. } | E::UnexpectedMappingEnd { .. } | E::ContainerEndMismatch { .. } => {
            ReadErrorKind::Syntax
        }
        _ => ReadErrorKind::Other,
    }
}

/// serde's type names in words a spec author knows.
fn plain_type(ty: &str) -> String {
    let ty = ty.trim_start_matches("a ").trim_start_matches("an ");
    let integer = |t: &str| {
        t == "integer" || (t.len() > 1 && t.starts_with(['i', 'u']) && t[1..].bytes().all(|b| b.is_ascii_digit()))
    };
    match ty {
        t if integer(t) => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "bool" | "boolean" => "true or false".into(),
        t if t.contains("string") || t == "str" => "a string".into(),
        t if t.contains("map") || t.starts_with("struct") => "a mapping (`key: value` lines)".into(),
        t if t.contains("sequence") => "a list".into(),
        other => other.to_owned(),
    }
}

/// Serialise one value as a YAML document (trailing newline included).
pub(crate) fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    write::to_string(value).map_err(|e| e.to_string())
}

/// Serialise several values as one `---`-separated stream.
pub(crate) fn to_stream<T: Serialize>(values: &[T]) -> Result<String, String> {
    write::to_stream(values).map_err(|e| e.to_string())
}

/// What the reader may spend on one input: enough nodes and events for any text under the
/// 4 MiB input cap written without aliases (each node takes at least a byte), and few aliases,
/// which no spec or render needs and which would otherwise multiply a small text's cost.
fn budget() -> Option<serde_saphyr::Budget> {
    serde_saphyr::budget! {
        max_nodes: 4 * 1024 * 1024,
        max_events: 9 * 512 * 1024,
        max_aliases: 1_000,
        max_recorded_anchor_events: 100_000,
    }
}

/// Read a `---`-separated stream of documents.
pub(crate) fn from_multiple<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    let options = serde_saphyr::options! { with_snippet: false, budget: budget() };
    serde_saphyr::from_multiple_with_options(text, options).map_err(|e| e.to_string())
}

/// Read one typed document.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ReadError> {
    let options = serde_saphyr::options! { with_snippet: false, budget: budget() };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| read_error(&e))
}

/// Read one typed document, and say whether the text had keys the type does not (serde skips
/// them; this notices, at no cost when there are none).
pub(crate) fn from_str_noting_unknown<T: DeserializeOwned>(text: &str) -> Result<(T, bool), ReadError> {
    let options = serde_saphyr::options! { with_snippet: false, budget: budget() };
    let mut unknown = false;
    let value = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_ignored::deserialize(de, |_| unknown = true)
    })
    .map_err(|e| read_error(&e))?;
    Ok((value, unknown))
}

fn read_error(e: &serde_saphyr::Error) -> ReadError {
    let location = e.location();
    ReadError {
        message: strip_position(&e.to_string()),
        line: location.map(|l| l.line() as usize),
        column: location.map(|l| l.column() as usize),
        kind: classify(e),
    }
}

/// serde-saphyr puts `line N column M: ` before or ` at line N, column M` after its messages;
/// tdgen prints positions itself.
fn strip_position(message: &str) -> String {
    let mut text = message.trim_start_matches("error: ");
    if let Some(rest) = text.strip_prefix("line ")
        && let Some((position, after)) = rest.split_once(": ")
        && position.contains("column")
    {
        text = after;
    }
    // The first position is the error's own; later ones (`(defined at …) (used at …)`) go with it.
    if let Some(at) = text.find(" at line ")
        && text[at..].contains(", column ")
    {
        text = &text[..at];
    }
    match text.strip_prefix("budget breached: ") {
        Some(limit) => format!(
            "the text is larger than tdgen reads once its anchors and aliases are expanded ({}); write the values out, or split the input",
            limit.split(" {").next().unwrap_or(limit)
        ),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn yaml_11_scalars_are_quoted_and_read_back_exactly() {
        let hostile = [
            "on", "NO", "y", "1_000", ": x", "a\nb", "{{ x }}", "0x1F", "~", "", "6030",
        ];
        let map: BTreeMap<String, String> = hostile
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i}"), v.to_string()))
            .collect();
        let text = to_string(&map).unwrap();
        let back: BTreeMap<String, String> = from_str(&text).unwrap();
        assert_eq!(back, map, "{text}");
        for bare in ["k0: on", "k1: NO", "k2: y", "k3: 1_000"] {
            assert!(!text.contains(&format!("{bare}\n")), "{bare} left unquoted:\n{text}");
        }
    }

    #[test]
    fn read_errors_carry_positions() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u8,
        }
        let err = from_str::<S>("a: 1\nb: 2\n").unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(1)));
        assert!(err.message.contains("unknown field `b`"), "{}", err.message);
    }
}
