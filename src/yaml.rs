//! The one place that knows the YAML library (serde-saphyr), so it can be swapped.
//!
//! serde-saphyr is used because its emitter quotes YAML 1.1 scalars (`on`, `no`, `y`, `1_000`)
//! that kubectl's decoder would otherwise read as booleans or integers.

use serde::{Serialize, de::DeserializeOwned};

/// A YAML read error with its 1-based position, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Serialise one value as a YAML document (trailing newline included).
pub(crate) fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string_with_options(value, options())
        .map(terminated)
        .map_err(|e| e.to_string())
}

/// Serialise several values as one `---`-separated stream.
pub(crate) fn to_stream<T: Serialize>(values: &[T]) -> Result<String, String> {
    serde_saphyr::to_string_multiple_with_options(values, options())
        .map(terminated)
        .map_err(|e| e.to_string())
}

/// Every emitted text ends with exactly one newline.
fn terminated(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Read one typed document.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ReadError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let location = e.location();
        ReadError {
            message: strip_position(&e.to_string()),
            line: location.map(|l| l.line() as usize),
            column: location.map(|l| l.column() as usize),
        }
    })
}

fn options() -> serde_saphyr::SerializerOptions {
    // Multi-line strings become literal blocks, which read well in review; long single-line
    // strings stay on one line (folding them would hurt grep and diffs). Everything else stays
    // default: kubectl-style compact lists and YAML 1.1-safe quoting.
    serde_saphyr::ser_options! { prefer_block_scalars: true, folded_wrap_chars: usize::MAX }
}

/// serde-saphyr prefixes messages with `line N column M: `; tdgen prints positions itself.
fn strip_position(message: &str) -> String {
    let trimmed = message.trim_start_matches("error: ");
    match trimmed.strip_prefix("line ") {
        Some(rest) => match rest.split_once(": ") {
            Some((position, text)) if position.contains("column") => text.to_owned(),
            _ => trimmed.to_owned(),
        },
        None => trimmed.to_owned(),
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
