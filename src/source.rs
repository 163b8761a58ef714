//! Where each spec path sits in a YAML source text, so findings can point at line:column.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_saphyr::granit_parser::{Event, Parser};

/// A named YAML text (a spec file, a preset, a `--set` expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What the text is, as shown to users (`spec.yaml`, `preset ha`, `--set spec.dnodes=5`).
    pub name: String,
    /// The text itself.
    pub text: Arc<str>,
}

/// A position in a [`Source`]: 1-based line and column, and the length of the marked text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Number of characters to mark (at least 1).
    pub len: usize,
}

/// Positions of every key and value in one YAML document, by dotted spec path
/// (`spec.storage.data.size`; list items as `spec.tolerations[0]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceIndex {
    keys: BTreeMap<String, Span>,
    values: BTreeMap<String, Span>,
}

enum Frame {
    Map { path: String, pending_key: Option<String> },
    Seq { path: String, next: usize },
}

impl SourceIndex {
    /// Index a YAML text. A text that does not parse yields what was read before the error
    /// (the typed reader reports the error itself).
    pub fn new(text: &str) -> Self {
        let mut index = SourceIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let here = Span {
                line: span.start.line(),
                column: span.start.col() + 1,
                len: span.end.index().saturating_sub(span.start.index()).max(1),
            };
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map {
                        pending_key: pending @ None,
                        path,
                    }) = stack.last_mut()
                    {
                        let key_path = join(path, &value);
                        index.keys.insert(key_path.clone(), here);
                        *pending = Some(key_path);
                    } else {
                        let path = value_path(&mut stack);
                        index.values.insert(path, here);
                    }
                }
                Event::Alias(_) => {
                    let path = value_path(&mut stack);
                    index.values.insert(path, here);
                }
                Event::MappingStart(..) => {
                    let path = value_path(&mut stack);
                    index.values.entry(path.clone()).or_insert(here);
                    stack.push(Frame::Map {
                        path,
                        pending_key: None,
                    });
                }
                Event::SequenceStart(..) => {
                    let path = value_path(&mut stack);
                    index.values.entry(path.clone()).or_insert(here);
                    stack.push(Frame::Seq { path, next: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        index
    }

    /// The span of the value at `path`, else of its key.
    pub fn value(&self, path: &str) -> Option<Span> {
        self.values.get(path).or_else(|| self.keys.get(path)).copied()
    }

    /// The span of the key at `path`.
    pub fn key(&self, path: &str) -> Option<Span> {
        self.keys.get(path).copied()
    }

    /// Whether the text sets `path` or anything below it.
    pub fn contains(&self, path: &str) -> bool {
        self.keys.contains_key(path) || self.values.contains_key(path)
    }

    /// Every key path in the text, in order.
    pub fn key_paths(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// The path of the node that starts now, consuming the parent's pending key or list slot.
fn value_path(stack: &mut [Frame]) -> String {
    match stack.last_mut() {
        Some(Frame::Map { pending_key, path }) => pending_key.take().unwrap_or_else(|| path.clone()),
        Some(Frame::Seq { path, next }) => {
            let item = format!("{path}[{next}]");
            *next += 1;
            item
        }
        None => String::new(),
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_values_and_lists() {
        let text =
            "metadata:\n  name: td\nspec:\n  storage:\n    data:\n      size: 5GB\n  l:\n    - a\n    - {b: 1}\n";
        let index = SourceIndex::new(text);
        assert_eq!(
            index.value("spec.storage.data.size"),
            Some(Span {
                line: 6,
                column: 13,
                len: 3
            })
        );
        assert_eq!(
            index.key("spec.storage.data.size"),
            Some(Span {
                line: 6,
                column: 7,
                len: 4
            })
        );
        assert_eq!(index.value("metadata.name").map(|s| s.line), Some(2));
        assert_eq!(index.value("spec.l[1].b").map(|s| (s.line, s.column)), Some((9, 11)));
        assert!(index.contains("spec.storage"));
        assert!(!index.contains("spec.dnodes"));
    }
}
