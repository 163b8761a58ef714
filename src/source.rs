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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Number of characters to mark (at least 1).
    pub len: usize,
}

/// Positions of every key and value in one YAML document, by spec path
/// (`spec.storage.data.size`; list items as `spec.tolerations[0]`; keys that are not plain
/// words as `metadata.labels["app.kubernetes.io/name"]`, see [`join_path`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceIndex {
    keys: BTreeMap<String, Span>,
    values: BTreeMap<String, Span>,
    segments: BTreeMap<String, Vec<String>>,
    collections: std::collections::BTreeSet<String>,
    /// Character ranges: the end of each key, and the whole of each value node.
    key_ends: BTreeMap<String, usize>,
    extents: BTreeMap<String, (usize, usize)>,
    /// What the parser could not read, and where (when the text is not YAML).
    syntax: Option<(String, Span)>,
    /// Where each document starts.
    documents: Vec<Span>,
    /// The deepest nesting of collections, and where it is reached.
    depth: (usize, Span),
}

/// A position in the document tree: its printable path and its raw segments.
#[derive(Debug, Clone, Default)]
struct Node {
    path: String,
    segments: Vec<String>,
}

impl Node {
    fn child(&self, key: &str) -> Node {
        let mut segments = self.segments.clone();
        segments.push(key.to_owned());
        Node {
            path: join_path(&self.path, key),
            segments,
        }
    }

    fn item(&self, index: usize) -> Node {
        let mut segments = self.segments.clone();
        segments.push(format!("[{index}]"));
        Node {
            path: format!("{}[{index}]", self.path),
            segments,
        }
    }
}

enum Frame {
    Map {
        node: Node,
        pending_key: Option<Node>,
        start: usize,
        end: usize,
    },
    Seq {
        node: Node,
        next: usize,
        start: usize,
        end: usize,
    },
}

impl Frame {
    fn extend(&mut self, to: usize) {
        match self {
            Frame::Map { end, .. } | Frame::Seq { end, .. } => *end = (*end).max(to),
        }
    }
}

/// The walk over the parser's events that fills a [`SourceIndex`].
struct Indexer {
    index: SourceIndex,
    stack: Vec<Frame>,
    chars: Vec<char>,
}

impl Indexer {
    /// One parser event at `here` (characters `start..end`).
    fn event(&mut self, event: Event, here: Span, start: usize, end: usize) {
        if matches!(event, Event::Scalar(..) | Event::Alias(_)) {
            for frame in &mut self.stack {
                frame.extend(end);
            }
        }
        match event {
            Event::DocumentStart(..) => self.index.documents.push(here),
            Event::Scalar(value, ..) => self.scalar(&value, here, start, end),
            Event::Alias(_) => self.value(here, start, end),
            Event::MappingStart(..) => self.open(true, here, start, end),
            Event::SequenceStart(..) => self.open(false, here, start, end),
            Event::MappingEnd | Event::SequenceEnd => self.close(start, end),
            _ => {}
        }
    }

    /// A scalar is a key when its mapping waits for one, a value otherwise.
    fn scalar(&mut self, value: &str, here: Span, start: usize, end: usize) {
        let Some(Frame::Map {
            pending_key: pending @ None,
            node,
            ..
        }) = self.stack.last_mut()
        else {
            return self.value(here, start, end);
        };
        let key = node.child(value);
        self.index.keys.insert(key.path.clone(), here);
        self.index.key_ends.insert(key.path.clone(), end);
        self.index.segments.insert(key.path.clone(), key.segments.clone());
        *pending = Some(key);
    }

    /// A scalar value or an alias: the node its collection expects next.
    fn value(&mut self, here: Span, start: usize, end: usize) {
        let node = next_node(&mut self.stack);
        self.index.extents.insert(node.path.clone(), (start, end));
        self.index.values.insert(node.path, here);
    }

    fn open(&mut self, mapping: bool, here: Span, start: usize, end: usize) {
        let node = next_node(&mut self.stack);
        self.index.values.entry(node.path.clone()).or_insert(here);
        self.index.collections.insert(node.path.clone());
        let frame = if mapping {
            Frame::Map {
                node,
                pending_key: None,
                start,
                end,
            }
        } else {
            Frame::Seq {
                node,
                next: 0,
                start,
                end,
            }
        };
        self.stack.push(frame);
        if self.stack.len() > self.index.depth.0 {
            self.index.depth = (self.stack.len(), here);
        }
    }

    fn close(&mut self, start: usize, end: usize) {
        let Some(mut frame) = self.stack.pop() else { return };
        // A flow collection ends at its closing bracket; a block one at its last node.
        if let Some('}' | ']') = self.chars.get(start) {
            frame.extend(end);
        }
        let (Frame::Map { node, start, end, .. } | Frame::Seq { node, start, end, .. }) = frame;
        for outer in &mut self.stack {
            outer.extend(end);
        }
        self.index.extents.insert(node.path, (start, end));
    }
}

/// The path of `key` inside `parent`: `parent.key` for plain words, `parent["k.e/y"]` otherwise,
/// so dotted label keys stay unambiguous.
pub fn join_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", serde_json::Value::from(key)),
    }
}

impl SourceIndex {
    /// Index a YAML text. A text that does not parse yields what was read before the error,
    /// and the error itself ([`SourceIndex::syntax_error`]).
    pub fn new(text: &str) -> Self {
        let mut indexer = Indexer {
            index: SourceIndex::default(),
            stack: Vec::new(),
            chars: text.chars().collect(),
        };
        for item in Parser::new_from_str(text) {
            let (event, span) = match item {
                Ok(item) => item,
                Err(error) => {
                    let marker = error.marker();
                    let at = Span {
                        line: marker.line().max(1),
                        column: marker.col() + 1,
                        len: 1,
                    };
                    indexer.index.syntax = Some((error.info().to_owned(), at));
                    break;
                }
            };
            let (start, end) = (span.start.index(), span.end.index());
            let here = Span {
                line: span.start.line(),
                column: span.start.col() + 1,
                len: end.saturating_sub(start).max(1),
            };
            indexer.event(event, here, start, end);
        }
        indexer.index
    }

    /// What the parser could not read, and where.
    pub fn syntax_error(&self) -> Option<&(String, Span)> {
        self.syntax.as_ref()
    }

    /// Where each YAML document of the text starts.
    pub fn documents(&self) -> &[Span] {
        &self.documents
    }

    /// The deepest nesting of mappings and lists, and where it is reached.
    pub fn depth(&self) -> (usize, Span) {
        self.depth
    }

    /// The text with the value at `key_path` replaced by `null` (`key: null`), or `None` when
    /// the path is not a key of the text.
    pub fn with_null(&self, text: &str, key_path: &str) -> Option<String> {
        let key_end = *self.key_ends.get(key_path)?;
        let (_, value_end) = self.extents.get(key_path).copied().unwrap_or((key_end, key_end));
        let chars: Vec<char> = text.chars().collect();
        let mut out: String = chars[..key_end.min(chars.len())].iter().collect();
        out.push_str(": null");
        out.extend(&chars[value_end.clamp(key_end, chars.len())..]);
        Some(out)
    }

    /// The span of the scalar value at `path`; for a mapping or list (or a missing value),
    /// the span of its key, which is what a reader looks for.
    pub fn value(&self, path: &str) -> Option<Span> {
        let key = self.keys.get(path);
        let value = self.values.get(path);
        if self.collections.contains(path) {
            key.or(value).copied()
        } else {
            value.or(key).copied()
        }
    }

    /// The span of the key at `path`.
    pub fn key(&self, path: &str) -> Option<Span> {
        self.keys.get(path).copied()
    }

    /// The path of the key or value that starts at `line`:`column`, if any.
    pub fn path_at(&self, line: usize, column: usize) -> Option<&str> {
        let at = |span: &Span| span.line == line && span.column == column;
        let value = self.values.iter().find(|(_, span)| at(span));
        let key = self.keys.iter().find(|(_, span)| at(span));
        value.or(key).map(|(path, _)| path.as_str())
    }

    /// Every key as its path and its segments (list items appear as `[N]` segments).
    pub fn keys_with_segments(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.segments
            .iter()
            .map(|(path, segments)| (path.as_str(), segments.as_slice()))
    }
}

/// The bound a text went past, and the place of the node that went past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// More YAML nodes (scalars, aliases, mappings, lists) than the bound.
    Nodes(Span),
    /// More list items, in all its lists, than the bound.
    Items(Span),
}

/// Check that `text` holds at most `max_nodes` YAML nodes (scalars, aliases, mappings,
/// lists), and at most `max_items` of them as list items; counting stops at the first node past
/// either bound. One pass of the parser, nothing kept but the kinds of the open collections: a
/// text is measured before anything is built from it.
pub(crate) fn within_bounds(text: &str, max_nodes: usize, max_items: usize) -> Result<(), Overflow> {
    let (mut nodes, mut items) = (0, 0);
    // Whether each open collection is a list.
    let mut lists: Vec<bool> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let here = || Span {
            line: span.start.line(),
            column: span.start.col() + 1,
            len: 1,
        };
        if matches!(
            event,
            Event::Scalar(..) | Event::Alias(_) | Event::MappingStart(..) | Event::SequenceStart(..)
        ) {
            nodes += 1;
            if nodes > max_nodes {
                return Err(Overflow::Nodes(here()));
            }
            if lists.last() == Some(&true) {
                items += 1;
                if items > max_items {
                    return Err(Overflow::Items(here()));
                }
            }
        }
        match event {
            Event::SequenceStart(..) => lists.push(true),
            Event::MappingStart(..) => lists.push(false),
            Event::SequenceEnd | Event::MappingEnd => {
                lists.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

/// The node that starts now, consuming the parent's pending key or list slot.
fn next_node(stack: &mut [Frame]) -> Node {
    match stack.last_mut() {
        Some(Frame::Map { pending_key, node, .. }) => pending_key.take().unwrap_or_else(|| node.clone()),
        Some(Frame::Seq { node, next, .. }) => {
            let item = node.item(*next);
            *next += 1;
            item
        }
        None => Node::default(),
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
        assert!(index.key("spec.storage").is_some());
        assert!(index.key("spec.dnodes").is_none());
        let labels = SourceIndex::new("metadata:\n  labels:\n    app.kubernetes.io/part-of: x\n");
        let path = r#"metadata.labels["app.kubernetes.io/part-of"]"#;
        assert_eq!(labels.value(path).map(|s| s.line), Some(3));
        let segments: Vec<_> = labels.keys_with_segments().filter(|(p, _)| *p == path).collect();
        assert_eq!(segments[0].1, ["metadata", "labels", "app.kubernetes.io/part-of"]);
    }

    #[test]
    fn a_value_is_replaced_by_null_whatever_its_style() {
        let cases = [
            ("a: three\nb: 1\n", "a", "a: null\nb: 1\n"),
            ("a: {x: [1, 2], y: 3}\nb: 1\n", "a.x", "a: {x: null, y: 3}\nb: 1\n"),
            ("a:\n  x:\n    y: 1\n  z: 2\n", "a.x", "a:\n  x: null\n  z: 2\n"),
            ("a:\n- k: 1\n  v: 2\nb: 1\n", "a", "a: null\nb: 1\n"),
            ("'q k': x\n", "[\"q k\"]", "'q k': null\n"),
        ];
        for (text, path, expected) in cases {
            let index = SourceIndex::new(text);
            assert_eq!(
                index.with_null(text, path).as_deref(),
                Some(expected),
                "{text:?} at {path}"
            );
        }
        assert_eq!(SourceIndex::new("a: 1\n").with_null("a: 1\n", "b"), None);
    }
}
