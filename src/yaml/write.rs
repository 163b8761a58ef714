//! tdgen's YAML writer: any `Serialize` value as block-style YAML in kubectl's layout, in one
//! pass straight into a `String`. Frozen: its output is byte-identical to serde-saphyr's for
//! every manifest tdgen writes, and any difference is a bug unless a test names it.
//!
//! Why its own: the general-purpose emitter it replaced took more than half of a render's time,
//! most of it in per-scalar checks for styles a manifest never uses (anchors, comments, flow,
//! folding). This one writes the one style tdgen emits: two-space indents, lists at their key's column, multi-line strings as literal
//! blocks, everything else plain unless a YAML 1.1 or YAML 1.2 reader would read it as
//! something other than the same string, then double-quoted.
//!
//! The quoting rules are the YAML 1.2.2 specification's (indicators §5.3, escapes §5.7, block
//! scalar headers §8.1.1) and the YAML 1.1 type repository's (bool, int, float, null,
//! timestamp, merge and value keys, <https://yaml.org/type/>), because kubectl and Argo CD read
//! YAML 1.1 (go-yaml v2 through sigs.k8s.io/yaml) while other tools read YAML 1.2.

use std::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Why a value could not be written as YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteError(String);

impl Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WriteError {}

impl ser::Error for WriteError {
    fn custom<T: Display>(message: T) -> Self {
        WriteError(message.to_string())
    }
}

type Result<T = ()> = std::result::Result<T, WriteError>;

/// One value as one YAML document (ending in a newline).
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut out = String::with_capacity(4096);
    value.serialize(Node::document(&mut out))?;
    Ok(out)
}

/// Several values as one stream, `---` between the documents.
pub(crate) fn to_stream<T: Serialize>(values: &[T]) -> Result<String> {
    let mut out = String::with_capacity(values.len() * 4096);
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        value.serialize(Node::document(&mut out))?;
    }
    Ok(out)
}

/// Where the node being written sits, which decides what goes before it and how deep its
/// children are indented.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// A whole document, at the start of a line in column 0.
    Document,
    /// A mapping value, right after `key:` (the key at `key_column`).
    Value { key_column: usize },
    /// A list item, right after `- ` (the dash at `dash_column`).
    Item { dash_column: usize },
}

impl Place {
    /// The column of a mapping's keys when the mapping sits here.
    fn map_column(self) -> usize {
        match self {
            Place::Document => 0,
            Place::Value { key_column } => key_column + 2,
            Place::Item { dash_column } => dash_column + 2,
        }
    }

    /// The column of a list's dashes when the list sits here: under a key, at the key's own
    /// column (kubectl's layout).
    fn seq_column(self) -> usize {
        match self {
            Place::Document => 0,
            Place::Value { key_column } => key_column,
            Place::Item { dash_column } => dash_column + 2,
        }
    }

    /// What separates `key:` or `- ` from an inline value.
    fn gap(self) -> &'static str {
        match self {
            Place::Value { .. } => " ",
            Place::Document | Place::Item { .. } => "",
        }
    }
}

fn indent(out: &mut String, column: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = column;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// The serializer for one node.
struct Node<'a> {
    out: &'a mut String,
    place: Place,
}

impl<'a> Node<'a> {
    fn document(out: &'a mut String) -> Self {
        Node {
            out,
            place: Place::Document,
        }
    }

    /// A scalar whose text needs no quoting (numbers, booleans, null).
    fn bare(self, text: impl Display) -> Result {
        self.out.push_str(self.place.gap());
        // Writing into a String cannot fail.
        let _ = write!(self.out, "{text}");
        self.out.push('\n');
        Ok(())
    }

    fn float(self, v: f64) -> Result {
        self.bare(float_text(v))
    }

    fn string(self, text: &str) -> Result {
        if text.contains('\n') && block_safe(text) {
            return self.literal_block(text);
        }
        self.out.push_str(self.place.gap());
        write_scalar(self.out, text, plain_value_safe(text));
        self.out.push('\n');
        Ok(())
    }

    /// A multi-line string as a literal block (`|`), its body one step deeper than its key or
    /// dash; the chomping indicator keeps its trailing newlines exact.
    fn literal_block(self, text: &str) -> Result {
        let body_column = self.place.map_column().max(2);
        let content = text.trim_end_matches('\n');
        let trailing = text.len() - content.len();
        self.out.push_str(self.place.gap());
        self.out.push('|');
        // A reader takes the body's indentation from its first non-empty line; when that line
        // starts with spaces, the header must say how deep the body is.
        if first_line_indented(content) {
            self.out.push('2');
        }
        match trailing {
            0 => self.out.push('-'),
            1 if !content.is_empty() => {}
            _ => self.out.push('+'),
        }
        self.out.push('\n');
        if !content.is_empty() {
            for line in content.split('\n') {
                if !line.is_empty() {
                    indent(self.out, body_column);
                    self.out.push_str(line);
                }
                self.out.push('\n');
            }
        }
        let empty_lines = if content.is_empty() {
            trailing
        } else {
            trailing.saturating_sub(1)
        };
        for _ in 0..empty_lines {
            self.out.push('\n');
        }
        Ok(())
    }

    fn map(self) -> MapWriter<'a> {
        MapWriter {
            column: self.place.map_column(),
            out: self.out,
            place: self.place,
            entries: 0,
        }
    }

    fn seq(self) -> SeqWriter<'a> {
        SeqWriter {
            column: self.place.seq_column(),
            out: self.out,
            place: self.place,
            items: 0,
        }
    }
}

/// Write a value plain when it may be, else double-quoted. The one-character values `.`, `#`
/// and `-` are single-quoted, as the emitter tdgen used before wrote them, so that no
/// committed output changes.
fn write_scalar(out: &mut String, text: &str, plain: bool) {
    if plain {
        out.push_str(text);
    } else if matches!(text, "." | "#" | "-") {
        out.push('\'');
        out.push_str(text);
        out.push('\'');
    } else {
        double_quoted(out, text);
    }
}

/// A mapping, written entry by entry.
struct MapWriter<'a> {
    out: &'a mut String,
    place: Place,
    column: usize,
    entries: usize,
}

impl MapWriter<'_> {
    /// Start a line for the next key: the first key of a mapping value goes on a new line, the
    /// first key of a list item right after its dash.
    fn start_entry(&mut self) {
        if self.entries == 0 {
            if let Place::Value { .. } = self.place {
                self.out.push('\n');
                indent(self.out, self.column);
            }
        } else {
            indent(self.out, self.column);
        }
        self.entries += 1;
    }

    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result {
        self.start_entry();
        key.serialize(KeyWriter { out: self.out })?;
        self.out.push(':');
        Ok(())
    }

    fn value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result {
        value.serialize(Node {
            out: self.out,
            place: Place::Value {
                key_column: self.column,
            },
        })
    }

    fn finish(self) -> Result {
        if self.entries == 0 {
            self.out.push_str(self.place.gap());
            self.out.push_str("{}\n");
        }
        Ok(())
    }
}

/// A list, written item by item.
struct SeqWriter<'a> {
    out: &'a mut String,
    place: Place,
    column: usize,
    items: usize,
}

impl SeqWriter<'_> {
    fn item<V: Serialize + ?Sized>(&mut self, value: &V) -> Result {
        if self.items == 0 {
            if let Place::Value { .. } = self.place {
                self.out.push('\n');
                indent(self.out, self.column);
            }
        } else {
            indent(self.out, self.column);
        }
        self.items += 1;
        self.out.push_str("- ");
        value.serialize(Node {
            out: self.out,
            place: Place::Item {
                dash_column: self.column,
            },
        })
    }

    fn finish(self) -> Result {
        if self.items == 0 {
            self.out.push_str(self.place.gap());
            self.out.push_str("[]\n");
        }
        Ok(())
    }
}

/// Open `Variant:` for an enum variant with content (`Variant: content`, a one-entry mapping
/// around a list or mapping) and give the place of its content.
fn open_variant<'a>(node: Node<'a>, variant: &str) -> Result<Node<'a>> {
    let mut map = node.map();
    map.key(variant)?;
    Ok(Node {
        place: Place::Value { key_column: map.column },
        out: map.out,
    })
}

/// The `Serializer` methods a value and a key share: numbers, booleans and nulls written bare
/// (through the type's `bare`), options and newtypes as what they hold, a char as a string.
macro_rules! shared_scalars {
    () => {
        shared_scalars!(@bare
            serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
            serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
            serialize_u32: u32, serialize_u64: u64, serialize_u128: u128
        );

        fn serialize_f32(self, v: f32) -> Result {
            self.serialize_f64(f64::from(v))
        }

        fn serialize_f64(self, v: f64) -> Result {
            self.float(v)
        }

        fn serialize_char(self, v: char) -> Result {
            self.serialize_str(v.encode_utf8(&mut [0; 4]))
        }

        fn serialize_none(self) -> Result {
            self.bare("null")
        }

        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
            value.serialize(self)
        }

        fn serialize_unit(self) -> Result {
            self.bare("null")
        }

        fn serialize_unit_struct(self, _: &'static str) -> Result {
            self.bare("null")
        }

        fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
            self.serialize_str(variant)
        }

        fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
            value.serialize(self)
        }
    };
    (@bare $($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result {
            self.bare(v)
        })*
    };
}

impl<'a> ser::Serializer for Node<'a> {
    type Ok = ();
    type Error = WriteError;
    type SerializeSeq = SeqWriter<'a>;
    type SerializeTuple = SeqWriter<'a>;
    type SerializeTupleStruct = SeqWriter<'a>;
    type SerializeTupleVariant = SeqWriter<'a>;
    type SerializeMap = MapWriter<'a>;
    type SerializeStruct = MapWriter<'a>;
    type SerializeStructVariant = MapWriter<'a>;

    shared_scalars!();

    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(WriteError(
            "raw bytes have no YAML form here; encode them as a string".into(),
        ))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        let mut map = self.map();
        map.key(variant)?;
        map.value(value)?;
        map.finish()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<SeqWriter<'a>> {
        Ok(self.seq())
    }

    fn serialize_tuple(self, _: usize) -> Result<SeqWriter<'a>> {
        Ok(self.seq())
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<SeqWriter<'a>> {
        Ok(self.seq())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<SeqWriter<'a>> {
        Ok(open_variant(self, variant)?.seq())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<MapWriter<'a>> {
        Ok(self.map())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapWriter<'a>> {
        Ok(self.map())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<MapWriter<'a>> {
        Ok(open_variant(self, variant)?.map())
    }
}

/// The four list-like traits, each an item at a time.
macro_rules! seq_traits {
    ($($trait:ident::$method:ident),*) => {
        $(impl ser::$trait for SeqWriter<'_> {
            type Ok = ();
            type Error = WriteError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.item(value)
            }

            fn end(self) -> Result {
                self.finish()
            }
        })*
    };
}

seq_traits!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = WriteError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }

    fn end(self) -> Result {
        self.finish()
    }
}

/// A struct and a struct variant: a field is a key and its value.
macro_rules! struct_traits {
    ($($trait:ident),*) => {
        $(impl ser::$trait for MapWriter<'_> {
            type Ok = ();
            type Error = WriteError;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
                self.key(key)?;
                self.value(value)
            }

            fn end(self) -> Result {
                self.finish()
            }
        })*
    };
}

struct_traits!(SerializeStruct, SerializeStructVariant);

/// A mapping key: a string, number, boolean or unit variant on one line.
struct KeyWriter<'a> {
    out: &'a mut String,
}

impl KeyWriter<'_> {
    fn bare(self, text: impl Display) -> Result {
        let _ = write!(self.out, "{text}");
        Ok(())
    }

    fn float(self, v: f64) -> Result {
        self.bare(float_text(v))
    }

    fn complex<T>() -> Result<T> {
        Err(WriteError("a mapping key must be a string, number or boolean".into()))
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = WriteError;
    type SerializeSeq = Impossible<(), WriteError>;
    type SerializeTuple = Impossible<(), WriteError>;
    type SerializeTupleStruct = Impossible<(), WriteError>;
    type SerializeTupleVariant = Impossible<(), WriteError>;
    type SerializeMap = Impossible<(), WriteError>;
    type SerializeStruct = Impossible<(), WriteError>;
    type SerializeStructVariant = Impossible<(), WriteError>;

    shared_scalars!();

    fn serialize_str(self, v: &str) -> Result {
        if plain_key_safe(v) {
            self.out.push_str(v);
        } else {
            double_quoted(self.out, v);
        }
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Self::complex()
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Self::complex()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Self::complex()
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Self::complex()
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct> {
        Self::complex()
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Self::complex()
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Self::complex()
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Self::complex()
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Self::complex()
    }
}

/// A float in a spelling that YAML 1.1 and 1.2 readers both take as a float: a `.` in the
/// mantissa and a signed exponent (YAML 1.1's float pattern requires both).
fn float_text(v: f64) -> String {
    if v.is_nan() {
        return ".nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // `{:?}` is the shortest text that reads back as the same f64.
    let text = format!("{v:?}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let point = if mantissa.contains('.') { "" } else { ".0" };
            let sign = if exponent.starts_with('-') { "" } else { "+" };
            format!("{mantissa}{point}e{sign}{exponent}")
        }
        None => text,
    }
}

// ---- Which strings may be written plain -------------------------------------------------

/// Whether a string may be a plain mapping value: it reads back as the same string in YAML 1.1
/// and 1.2, in block context.
fn plain_value_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // Surrounding spaces are separation, not content (§6.1); a trailing `:` ends a key.
    if first == b' ' || last == b' ' || last == b':' {
        return false;
    }
    if starts_with_indicator(bytes) || (matches!(first, b'-' | b'.') && is_document_marker(s)) {
        return false;
    }
    // One branch-free pass over the bytes says which kinds of byte the string has; only the
    // strings with spaces or non-ASCII bytes (few) are looked at again. `: ` ends a key and ` #`
    // starts a comment (§7.3.3), so a value may hold `:` and `#` only elsewhere; an ASCII control
    // (tab and line break included) must be escaped.
    let kinds = bytes
        .iter()
        .fold(0u8, |kinds, &byte| kinds | BYTE_KIND[usize::from(byte)]);
    if kinds & CONTROL != 0 {
        return false;
    }
    if kinds & SPACE != 0 && (s.contains(": ") || s.contains(" #")) {
        return false;
    }
    let non_ascii = kinds & NON_ASCII != 0;
    if non_ascii && !non_ascii_plain_safe(s) {
        return false;
    }
    !resolves_to_other_type(s)
}

const CONTROL: u8 = 1;
const SPACE: u8 = 2;
const NON_ASCII: u8 = 4;

/// The kind of each byte value, for [`plain_value_safe`]'s one pass.
const BYTE_KIND: [u8; 256] = {
    let mut kinds = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        kinds[byte] = match byte {
            0x00..=0x1F | 0x7F => CONTROL,
            0x20 => SPACE,
            0x80.. => NON_ASCII,
            _ => 0,
        };
        byte += 1;
    }
    kinds
};

/// The rules the byte pass leaves to characters: no character that must be escaped, and no `#`
/// after, or `:` before, any Unicode space (YAML's comments and keys need a space or tab there,
/// but some readers take wider whitespace; the emitter tdgen used before quoted these too).
fn non_ascii_plain_safe(s: &str) -> bool {
    let mut previous = 'x';
    s.chars().all(|c| {
        let unsafe_here =
            needs_escape(c) || (c == '#' && previous.is_whitespace()) || (previous == ':' && c.is_whitespace());
        previous = c;
        !unsafe_here
    })
}

/// Whether a string may be a plain mapping key: as a value, and without any `:`.
fn plain_key_safe(s: &str) -> bool {
    !s.contains(':') && plain_value_safe(s)
}

/// An indicator character (§5.3) that a plain scalar cannot start with; `-` and `?` only
/// when alone or before a space.
fn starts_with_indicator(bytes: &[u8]) -> bool {
    match bytes {
        [b'-' | b'?'] => true,
        [b'-' | b'?', next, ..] => next.is_ascii_whitespace(),
        [first, ..] => b":,[]{}#&*!|>'\"%@`".contains(first),
        [] => true,
    }
}

/// `---` or `...` alone or before a space: a document marker at the start of a line (§9.1).
fn is_document_marker(s: &str) -> bool {
    ["---", "..."].iter().any(|marker| {
        s.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    })
}

/// Characters a plain or block scalar cannot hold: C0 and C1 controls (tab and line feed
/// included), the byte order mark, the line and paragraph separators, and the two
/// non-characters outside YAML's printable set.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Whether a YAML 1.1 or 1.2 reader resolves the plain text to null, a boolean, a number, a
/// timestamp or a merge/value key instead of a string. Deliberately a little wider than either
/// specification (case-insensitive words, Go's underscores and signs): a needless quote costs
/// nothing, a missing one changes the value.
fn resolves_to_other_type(s: &str) -> bool {
    const WORDS: [&str; 20] = [
        "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".nan", "nan", ".inf", "+.inf", "-.inf",
        "inf", "+inf", "-inf", "<<", "=",
    ];
    // No word is longer than five bytes.
    if s.len() <= 5 && WORDS.iter().any(|word| s.eq_ignore_ascii_case(word)) {
        return true;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'_')) {
        return false;
    }
    is_number(s) || is_timestamp(s)
}

/// YAML 1.1 and 1.2 integers and floats, also as Go's YAML 1.1 reader (kubectl's) sees them:
/// it removes every `_` before parsing a number, so `_-1` is -1 there.
fn is_number(s: &str) -> bool {
    is_number_spelling(s) || (s.contains('_') && is_number_spelling(&s.replace('_', "")))
}

/// Decimal with `_` separators, `0x`/`0o`/`0b` radix, sexagesimal (`1:30`), and floats with
/// `.` and an exponent.
fn is_number_spelling(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if let Some((digits, is_digit)) = radix_digits(unsigned) {
        // Go's reader also takes a sign after the prefix.
        let digits = digits.strip_prefix(['+', '-']).unwrap_or(digits);
        return !digits.is_empty() && digits.bytes().all(|b| is_digit(b) || b == b'_');
    }
    if unsigned.contains(':') {
        return unsigned.as_bytes()[0].is_ascii_digit()
            && unsigned
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'_' | b':' | b'.'));
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    // YAML 1.1's float pattern makes every digit optional around the `.`: `.` and `..` are
    // floats there.
    let mantissa_ok = mantissa.bytes().any(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'_' | b'.'));
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    });
    mantissa_ok && exponent_ok
}

/// Whether a byte is a digit of some radix.
type DigitTest = fn(u8) -> bool;

/// The digits after a `0x`, `0o` or `0b` prefix, with the test for one digit.
fn radix_digits(s: &str) -> Option<(&str, DigitTest)> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 || bytes[0] != b'0' {
        return None;
    }
    let digit: DigitTest = match bytes[1] {
        b'x' | b'X' => |b| b.is_ascii_hexdigit(),
        b'o' | b'O' => |b| (b'0'..=b'7').contains(&b),
        b'b' | b'B' => |b| b == b'0' || b == b'1',
        _ => return None,
    };
    Some((&s[2..], digit))
}

/// YAML 1.1 timestamps (`2001-12-14`, `2001-12-14t21:59:43.10-05:00`, `2001-12-14 21:59:43 -5`):
/// four digits and a `-`, then only the characters a timestamp uses.
fn is_timestamp(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() > 5
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5..].iter().all(|b| {
            b.is_ascii_digit()
                || matches!(
                    b,
                    b'-' | b':' | b'.' | b',' | b'+' | b' ' | b'\t' | b't' | b'T' | b'z' | b'Z'
                )
        })
}

// ---- Quoted and block forms ---------------------------------------------------------------

/// Whether a multi-line string can be a literal block: every character printable in a block
/// scalar (§5.1; tabs and line feeds allowed), none of the separators some tools mishandle.
fn block_safe(s: &str) -> bool {
    // Scripts are long and ASCII: one branch-free pass (which the compiler vectorises) settles
    // them; the character-by-character test runs only for text with other bytes in it.
    let outside_ascii_printable = s.bytes().fold(false, |found, b| {
        found | ((b < 0x20 && b != b'\n' && b != b'\t') || b > 0x7E)
    });
    if !outside_ascii_printable {
        return true;
    }
    s.chars().all(|c| match c {
        '\n' | '\t' => true,
        '\u{FEFF}' | '\u{2028}' | '\u{2029}' => false,
        c => matches!(u32::from(c), 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..),
    })
}

/// Whether the first non-empty line of a block body starts with a space.
fn first_line_indented(content: &str) -> bool {
    content
        .split('\n')
        .find(|line| !line.is_empty())
        .is_some_and(|line| line.starts_with(' '))
}

/// A double-quoted scalar with YAML's escapes (§5.7).
fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0B}' => out.push_str("\\v"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1B}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if u32::from(c) <= 0xFF && c.is_control() => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// What serde-saphyr's emitter (tdgen's writer before this one) prints, for comparison.
    fn saphyr(value: &Value) -> String {
        let options = serde_saphyr::ser_options! { prefer_block_scalars: true, folded_wrap_chars: usize::MAX };
        let mut text = serde_saphyr::to_string_with_options(value, options).unwrap();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    fn read_back(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn layouts_match_the_previous_emitter_and_read_back() {
        let cases = [
            json!({"a": {}, "b": [], "c": [{}, [], [1, [2, 3]], {"d": [], "e": {"f": null}}]}),
            json!({"list": [{"k": "v", "m": {"n": 1}}, [{"x": 1.5}, "y"]], "t": true}),
            json!({"s": "one\ntwo\n", "strip": "one\ntwo", "keep": "one\n\n", "only": "\n\n"}),
            json!({"indented": "  lead\nnext\n", "blank first": "\n  lead\n", "tabs": "a\tb\nc\n"}),
            json!({"items": ["block\nin a list\n", {"script": "#!/bin/sh\n\necho hi\n"}]}),
            json!({"nested": {"deeper": {"list": ["x\ny", "  z\n"]}}}),
            json!({"quote": "a\"b\\c", "cr": "a\r\nb", "bom": "\u{feff}x", "nel": "a\u{85}b"}),
            json!({"": "empty key", "k:v": "colon key", "-": ".", "#": "-", "? x": "y"}),
            json!({"floats": [0.0, -1.5, 1e300, 2.5e-8, 100.0], "ints": [0, -7, 9007199254740993u64]}),
            json!(["top", "level", {"list": []}]),
            json!("a document\nthat is a block\n"),
            json!("  an indented document\nblock\n"),
            json!(["  an indented\nitem", {"k": ["  deeper\n"]}]),
            json!({}),
            json!([]),
        ];
        for value in cases {
            let ours = to_string(&value).unwrap();
            assert_eq!(ours, saphyr(&value), "layout differs for {value}");
            assert_eq!(read_back(&ours), value, "{ours}");
        }
    }

    #[test]
    fn enum_variants_are_one_entry_mappings() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, u8),
            Struct { a: u8 },
        }
        let text = to_string(&vec![E::Unit, E::New(1), E::Tuple(2, 3), E::Struct { a: 4 }]).unwrap();
        assert_eq!(text, "- Unit\n- New: 1\n- Tuple:\n  - 2\n  - 3\n- Struct:\n    a: 4\n");
    }

    #[test]
    fn streams_separate_documents_and_end_in_one_newline() {
        let text = to_stream(&[json!({"a": 1}), json!("b\n"), json!([])]).unwrap();
        assert_eq!(text, "a: 1\n---\n|\n  b\n---\n[]\n");
    }

    /// Strings built from the characters that matter to YAML, one to three at a time, plus
    /// every word and number spelling YAML 1.1 or 1.2 gives a type: as values and as keys, each
    /// must read back as exactly the same string.
    fn tricky_strings() -> Vec<String> {
        let pieces = [
            "", "a", "1", "0", " ", "-", "?", ":", ",", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "[",
            "]", "{", "}", ".", "_", "+", "e", "x", "o", "b", "\t", "\n", "\r", "\\", "~", "é", "\u{85}", "\u{a0}",
            "\u{2028}", "\u{feff}", "\u{fffe}", "---", "...", "<<", "=",
        ];
        let words = [
            "y",
            "Y",
            "yes",
            "Yes",
            "YES",
            "n",
            "N",
            "no",
            "NO",
            "true",
            "True",
            "FALSE",
            "on",
            "On",
            "OFF",
            "null",
            "Null",
            "NULL",
            "~",
            ".inf",
            "-.Inf",
            "+.INF",
            ".nan",
            ".NaN",
            "nan",
            "1_000",
            "0x1F",
            "0o17",
            "0b101",
            "017",
            "+12",
            "-0",
            "1e3",
            "1E+3",
            "1.5e-3",
            ".5",
            "5.",
            "1:30",
            "190:20:30.15",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "3.0.7.1",
            "6030",
            "0x",
            "1_",
            "_1",
            "1__0",
            "12e",
        ];
        let mut strings: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        for a in pieces {
            for b in pieces {
                strings.push(format!("{a}{b}"));
                for c in ["a", " ", ":", "#", "\n"] {
                    strings.push(format!("{a}{b}{c}"));
                    strings.push(format!("{c}{a}{b}"));
                }
            }
        }
        strings
    }

    #[test]
    fn every_tricky_string_reads_back_exactly() {
        for s in tricky_strings() {
            let value = json!({ s.clone(): s });
            let text = to_string(&value).unwrap();
            assert_eq!(read_back(&text), value, "{s:?} as\n{text}");
        }
    }

    /// Output committed by earlier versions stays as it was: where the two writers differ,
    /// this one only quotes more (today: `0:1`, which is no YAML 1.1 sexagesimal but looks
    /// like one).
    #[test]
    fn never_plainer_than_the_previous_emitter() {
        let mut differences = Vec::new();
        for s in tricky_strings() {
            let value = json!({ "k": s });
            let (ours, theirs) = (to_string(&value).unwrap(), saphyr(&value));
            if ours != theirs {
                assert!(
                    ours.starts_with("k: \""),
                    "{s:?}: we wrote {ours:?}, it wrote {theirs:?}"
                );
                differences.push(s);
            }
        }
        assert!(differences.len() <= 3, "{differences:?}");
    }

    /// kubectl and Argo CD read YAML 1.1: no word or number spelling that YAML 1.1 gives
    /// another type is ever written plain.
    #[test]
    fn yaml_11_types_are_always_quoted() {
        for word in [
            "y",
            "Y",
            "yes",
            "Yes",
            "n",
            "No",
            "on",
            "OFF",
            "true",
            "False",
            "null",
            "~",
            "1_000",
            "0x1F",
            "0o17",
            "0b101",
            "017",
            "1:30",
            "190:20:30.15",
            "2001-12-14",
            "3.0.7.1",
            ".5",
            "+12",
            "1.5e-3",
            ".inf",
            ".NaN",
            "<<",
            "=",
            "..",
            "1.",
            "_-1",
            "1_0_",
            "+_1",
        ] {
            let text = to_string(&json!({ word: word })).unwrap();
            assert_eq!(text, format!("\"{word}\": \"{word}\"\n"), "{word}");
        }
        for plain in [
            "5Gi",
            "100m",
            "1d",
            "1.2.3-beta",
            "Asia/Shanghai",
            "-value",
            "?query",
            "a#b",
            "a:b",
        ] {
            assert_eq!(to_string(&plain).unwrap(), format!("{plain}\n"), "{plain}");
        }
    }

    #[test]
    fn non_string_keys_and_bytes() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(1, "one");
        assert_eq!(to_string(&map).unwrap(), "1: one\n");
        let bytes = serde_bytes_like();
        assert!(to_string(&bytes).is_err());
    }

    struct Bytes;
    impl Serialize for Bytes {
        fn serialize<S: ser::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
            serializer.serialize_bytes(b"raw")
        }
    }

    fn serde_bytes_like() -> Bytes {
        Bytes
    }
}
