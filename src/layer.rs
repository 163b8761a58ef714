//! Loading and layering: built-in defaults < preset < spec file < `--set` / `-n` flags.
//!
//! Each layer is read into the typed [`Spec`] on its own (so an unknown field is reported in the
//! text that contains it), then the layers are merged as JSON trees: maps merge key by key,
//! scalars and lists are replaced by the later layer. The merged spec keeps a record of which
//! layer set each path, so later findings can point at the line that set the value.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::error::{Finding, Location, Report};
use crate::preset::{DEFAULT_PRESET, Preset};
use crate::source::{Overflow, Source, SourceIndex, Span};
use crate::spec::Spec;
use crate::suggest::did_you_mean;
use crate::yaml;

/// What to load: the inputs a CLI invocation (or a library caller) provides.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The spec text and its name (a file path, or `<stdin>`); `None` renders the preset alone.
    pub file: Option<Source>,
    /// Preset to start from; overrides `spec.preset` in the file.
    pub preset: Option<String>,
    /// `PATH=VALUE` overrides, applied in order (`spec.dnodes=5`, `spec.config.debugFlag=143`).
    pub sets: Vec<String>,
    /// Namespace override (`-n`), the same as `--set metadata.namespace=NS`.
    pub namespace: Option<String>,
}

impl Request {
    /// A request for one spec text.
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Request {
            file: Some(Source {
                name: name.into(),
                text: text.into().into(),
            }),
            ..Self::default()
        }
    }
}

/// One layer of the spec: its text and where each path sits in it.
#[derive(Debug, Clone)]
struct Layer {
    source: Source,
    /// Where each path sits in the text: built only when a finding needs a place.
    index: OnceLock<SourceIndex>,
    value: Value,
    /// Paths whose values had the wrong type (left unset).
    unreadable: Vec<String>,
}

/// The merged spec and the layers it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged spec (built-in defaults not yet applied: that is validation's job).
    pub spec: Spec,
    /// The preset that was applied.
    pub preset: &'static str,
    /// Shared: a preset's layer (and the index findings locate in) is read once per process.
    layers: Vec<Arc<Layer>>,
    /// Paths whose values could not be read (left unset, so the rest is still checked).
    unreadable: Vec<String>,
}

impl Loaded {
    /// Where the value at `path` was written: the highest-precedence layer that sets it.
    pub fn locate(&self, path: &str) -> Option<Location> {
        self.layers
            .iter()
            .rev()
            .find_map(|layer| layer.locate(layer.index().value(path)?))
    }

    /// The texts of every layer, for rendering findings.
    pub fn sources(&self) -> Vec<Source> {
        self.layers.iter().map(|l| l.source.clone()).collect()
    }

    /// Attach locations to findings and wrap them in a report.
    pub fn report(&self, mut findings: Vec<Finding>) -> Report {
        for finding in &mut findings {
            if finding.location.is_none() {
                finding.location = self.locate(&finding.path);
            }
        }
        Report {
            findings,
            sources: self.sources(),
        }
    }

    /// Whether a value finding is about a path that could not be read (and so stands at its
    /// default): such a finding would be about the default, not about what was written.
    pub(crate) fn about_unreadable(&self, finding: &Finding) -> bool {
        self.unreadable.iter().any(|p| {
            finding.path == *p
                || finding.path.starts_with(&format!("{p}."))
                || finding.path.starts_with(&format!("{p}["))
        })
    }
}

/// Read every layer of `request` and merge them. Fails with every layer's reading errors.
pub fn load(request: &Request) -> Result<Loaded, Report> {
    let (loaded, findings, sources) = load_partial(request);
    if findings.iter().any(Finding::is_error) {
        return Err(Report { findings, sources });
    }
    Ok(loaded)
}

/// Read and merge whatever can be read: the merged spec of every value that was readable, the
/// reading findings (which may be errors), and every source text.
pub(crate) fn load_partial(request: &Request) -> (Loaded, Vec<Finding>, Vec<Source>) {
    let mut findings = Vec::new();
    let mut sources = Vec::new();
    let file = request.file.as_ref().and_then(|source| {
        sources.push(source.clone());
        read_layer(source.clone(), LayerKind::File, &mut findings)
    });
    let preset = choose_preset(request, file.as_ref(), &mut findings);
    let mut layers = Vec::new();
    if let Some(preset) = preset {
        let (layer, preset_findings) = preset_layer(preset);
        sources.push(preset_source(preset));
        findings.extend(preset_findings);
        layers.extend(layer);
    }
    layers.extend(file.map(Arc::new));
    for flag in flag_sources(request) {
        match flag {
            Flag::Text(source) => {
                sources.push(source.clone());
                layers.extend(read_layer(source, LayerKind::Flag, &mut findings).map(Arc::new));
            }
            Flag::Malformed(finding) => findings.push(*finding),
        }
    }
    let mut merged = Value::Object(Default::default());
    for layer in &layers {
        merge(&mut merged, &layer.value);
    }
    // Every layer was typed on its own, so their merge is a spec too.
    let spec: Spec = serde_json::from_value(merged).unwrap_or_default();
    let unreadable = layers.iter().flat_map(|l| l.unreadable.iter().cloned()).collect();
    let loaded = Loaded {
        spec,
        preset: preset.map_or(DEFAULT_PRESET, |p| p.name),
        layers,
        unreadable,
    };
    (loaded, findings, sources)
}

fn preset_source(preset: Preset) -> Source {
    Source {
        name: format!("preset {}", preset.name),
        text: preset.text.into(),
    }
}

/// A preset's layer (or why it could not be read) and its findings.
type PresetRead = (Option<Arc<Layer>>, Vec<Finding>);

/// A preset's layer, made once per process: a preset is part of the binary, so reading it again
/// for every spec (a fleet renders thousands on the same preset) would repeat the same work.
/// Its values come from the JSON shipped with it (what its YAML reads as, held equal by a test),
/// so a render runs no YAML reader for it; its text stays the source findings point into.
fn preset_layer(preset: Preset) -> PresetRead {
    static READ: [OnceLock<PresetRead>; crate::preset::COUNT] = [const { OnceLock::new() }; crate::preset::COUNT];
    let read = || {
        if let Ok(value) = serde_json::from_str(preset.values()) {
            let layer = Layer {
                source: preset_source(preset),
                index: OnceLock::new(),
                value,
                unreadable: Vec::new(),
            };
            return (Some(Arc::new(layer)), Vec::new());
        }
        let mut findings = Vec::new();
        let layer = read_layer(preset_source(preset), LayerKind::Preset, &mut findings);
        (layer.map(Arc::new), findings)
    };
    match Preset::all().iter().position(|p| p.name == preset.name) {
        Some(slot) => READ[slot].get_or_init(read).clone(),
        None => read(),
    }
}

/// A `--set` or `-n` flag: its one-line YAML text, or why it cannot be read.
enum Flag {
    Text(Source),
    Malformed(Box<Finding>),
}

/// The `--set` flags, then `-n`, in order.
fn flag_sources(request: &Request) -> Vec<Flag> {
    let sets = request.sets.iter().map(|set| match set_to_yaml(set) {
        Ok(text) => Flag::Text(Source {
            name: format!("--set {set}"),
            text: text.into(),
        }),
        Err(message) => Flag::Malformed(Box::new(
            Finding::error("invalid-set", "--set", format!("`--set {set}`: {message}"))
                .with_help("write --set PATH=VALUE, e.g. --set spec.dnodes=5 or --set spec.config.debugFlag=143"),
        )),
    });
    let namespace = request.namespace.iter().map(|namespace| {
        let text = format!(
            "metadata:\n  namespace: {}\n",
            serde_json::Value::from(namespace.as_str())
        );
        Flag::Text(Source {
            name: format!("-n {namespace}"),
            text: text.into(),
        })
    });
    sets.chain(namespace).collect()
}

/// The preset: `--preset`, else the last `--set spec.preset=…`, else the file's `spec.preset`,
/// else the default. `--preset` and `--set spec.preset` naming different presets is an error.
fn choose_preset(request: &Request, file: Option<&Layer>, findings: &mut Vec<Finding>) -> Option<Preset> {
    let from_set = request.sets.iter().rev().find_map(|set| {
        let (path, value) = set.split_once('=')?;
        (split_path(path).ok()? == ["spec", "preset"]).then(|| (set.clone(), value.to_owned()))
    });
    if let (Some(flag), Some((set, value))) = (&request.preset, &from_set)
        && flag != value
    {
        findings.push(
            Finding::error(
                "preset-conflict",
                "--preset",
                format!("`--preset {flag}` and `--set {set}` name different presets"),
            )
            .with_help("name the preset once"),
        );
        return None;
    }
    let (name, place) = match (&request.preset, &from_set, file.and_then(Layer::spec_preset)) {
        (Some(flag), _, _) => (flag.clone(), "--preset".to_owned()),
        (None, Some((set, value)), _) => (value.clone(), format!("--set {set}")),
        (None, None, Some(value)) => (value, String::new()),
        (None, None, None) => (DEFAULT_PRESET.to_owned(), String::new()),
    };
    if let Some(preset) = Preset::find(&name) {
        return Some(preset);
    }
    let mut finding = Finding::error("unknown-preset", "spec.preset", format!("there is no preset `{name}`"))
        .with_help(format!(
            "{}available presets: {}",
            did_you_mean(&name, Preset::names()),
            Preset::names().join(", ")
        ));
    if !place.is_empty() {
        finding.path = place;
    } else if let Some(file) = file {
        finding.location = file.index().value("spec.preset").and_then(|span| file.locate(span));
    }
    findings.push(finding);
    None
}

/// Where a layer comes from, which decides what it must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerKind {
    /// A spec the user gave (`-f`): it must carry the envelope.
    File,
    /// An embedded preset.
    Preset,
    /// A layer generated from a flag (`--set`, `-n`).
    Flag,
}

impl Layer {
    /// Where each path sits in the text (built on first use).
    fn index(&self) -> &SourceIndex {
        self.index.get_or_init(|| SourceIndex::new(&self.source.text))
    }

    /// A location in this layer; flag layers (`--set`, `-n`) have no meaningful position
    /// because their YAML text is generated.
    fn locate(&self, span: Span) -> Option<Location> {
        let is_flag = self.source.name.starts_with('-');
        Some(Location {
            source: self.source.name.clone(),
            span: (!is_flag).then_some(span),
        })
    }

    fn spec_preset(&self) -> Option<String> {
        self.value.pointer("/spec/preset")?.as_str().map(str::to_owned)
    }
}

/// The deepest nesting a spec can need (the Kubernetes types inside it included).
const MAX_DEPTH: usize = 32;
/// The most YAML values (scalars, mappings, lists) one layer may hold. The production preset
/// holds about 100.
const MAX_NODES: usize = 100_000;
/// The most list items one layer may hold, in all its lists. The costliest shapes are lists of
/// Kubernetes objects (a volume is over 3 KB once read, and again in the StatefulSet): at this
/// bound they still render in under 200 MB, where the values' bound alone would let a list of
/// 33,000 volumes through.
const MAX_ITEMS: usize = 16_384;
/// The most unreadable values one layer reports before giving up on it.
const MAX_UNREADABLE: usize = 64;

/// Read one layer. A text that reads as a spec with no key the spec lacks is done at once
/// (its syntax, its single document and its depth follow from that). Any other text is
/// examined as a whole: its syntax, then every unknown field, then the type of every value. A
/// value of the wrong type is reported and left unset, and the rest is read on, so that every
/// other field is still checked.
fn read_layer(source: Source, kind: LayerKind, findings: &mut Vec<Finding>) -> Option<Layer> {
    if let Err(overflow) = crate::source::within_bounds(&source.text, MAX_NODES, MAX_ITEMS) {
        let (at, message) = match overflow {
            Overflow::Nodes(at) => (
                at,
                format!(
                    "the text holds more than {MAX_NODES} YAML values (value {} is here); no cluster spec needs a tenth of that",
                    MAX_NODES + 1
                ),
            ),
            Overflow::Items(at) => (
                at,
                format!(
                    "the text's lists hold more than {MAX_ITEMS} items in all (item {} is here); no cluster spec needs a tenth of that",
                    MAX_ITEMS + 1
                ),
            ),
        };
        findings.push(Finding {
            location: located(&source, kind, at),
            ..Finding::error("too-many-nodes", "", message)
            .with_help("this is not a tdgen spec, or a generated list ran away: tdgen reads at most this many so every input is checked in bounded time and memory")
        });
        return None;
    }
    if let Ok((spec, false)) = yaml::from_str_noting_unknown::<Spec>(&source.text) {
        return Some(finish_layer(source, OnceLock::new(), spec, Vec::new(), kind, findings));
    }
    let index = SourceIndex::new(&source.text);
    if let Some(refusal) = refuse_whole_text(&source, &index, kind) {
        findings.push(refusal);
        return None;
    }
    // Every unknown field at once, each with its place and a suggestion. Only a text with
    // something wrong pays for the JSON Schema this needs.
    findings.extend(crate::fields::unknown_fields(&source, &index));
    let Typed { spec, unreadable, .. } = read_typed(&source, &index, kind, findings)?;
    Some(finish_layer(
        source,
        OnceLock::from(index),
        spec,
        unreadable,
        kind,
        findings,
    ))
}

/// A read layer: an explicit input must carry the envelope.
fn finish_layer(
    source: Source,
    index: OnceLock<SourceIndex>,
    spec: Spec,
    unreadable: Vec<String>,
    kind: LayerKind,
    findings: &mut Vec<Finding>,
) -> Layer {
    if kind == LayerKind::File && (spec.api_version.is_none() || spec.kind.is_none()) {
        findings.push(missing_envelope(&source));
    }
    let value = serde_json::to_value(&spec).unwrap_or(Value::Null);
    Layer {
        source,
        index,
        value,
        unreadable,
    }
}

/// Where in `source` a finding points (flags are one line: they get no line:column).
fn located(source: &Source, kind: LayerKind, span: Span) -> Option<Location> {
    Some(Location {
        source: source.name.clone(),
        span: (kind != LayerKind::Flag).then_some(span),
    })
}

/// A text that is not one YAML document of sane depth is not read any further.
fn refuse_whole_text(source: &Source, index: &SourceIndex, kind: LayerKind) -> Option<Finding> {
    if let Some((message, span)) = index.syntax_error() {
        let finding = Finding::error("yaml-syntax", "", format!("this is not valid YAML: {message}"))
            .with_help("check the indentation (spaces, never tabs) and that every `{`, `[` and quote is closed");
        return Some(Finding {
            location: located(source, kind, *span),
            ..flag_message(finding, source, kind)
        });
    }
    if let [_, second, ..] = index.documents() {
        return Some(Finding {
            location: located(source, kind, *second),
            ..Finding::error(
                "multiple-documents",
                "",
                format!(
                    "the text holds {} YAML documents; a spec is one",
                    index.documents().len()
                ),
            )
            .with_help("keep one document (remove the `---` separators); render several clusters with one file each")
        });
    }
    let (depth, deepest) = index.depth();
    (depth > MAX_DEPTH).then(|| Finding {
        location: located(source, kind, deepest),
        ..Finding::error(
            "too-deep",
            "",
            format!("the text nests {depth} levels deep; no spec needs more than {MAX_DEPTH}"),
        )
        .with_help("this is not a tdgen spec; check that the right file was given")
    })
}

/// An explicit input without `apiVersion` and `kind` is refused, so a wrong path never
/// deploys the defaults.
fn missing_envelope(source: &Source) -> Finding {
    Finding {
        location: located(source, LayerKind::File, Span { line: 1, column: 1, len: 1 }),
        ..Finding::error(
            "missing-envelope",
            "",
            format!(
                "{} is not a tdgen spec: it has no `apiVersion: {}` and `kind: {}`",
                source.name,
                crate::spec::API_VERSION,
                crate::spec::KIND
            ),
        )
        .with_help("a spec starts with those two lines (`tdgen init` writes one); an empty file, a file of comments or another kind of file is refused, so a wrong path never deploys the defaults. Without -f, tdgen renders the preset alone")
    }
}

/// A layer's typed spec, and the paths left unset because their values could not be read.
struct Typed {
    spec: Spec,
    unreadable: Vec<String>,
}

/// Type the layer, leaving every value of the wrong type unset (and reported).
fn read_typed(source: &Source, index: &SourceIndex, kind: LayerKind, findings: &mut Vec<Finding>) -> Option<Typed> {
    let mut text = source.text.to_string();
    let mut unreadable: Vec<String> = Vec::new();
    for _ in 0..MAX_UNREADABLE {
        let error = match yaml::from_str_noting_unknown::<Spec>(&text).map(|(spec, _)| spec) {
            Ok(spec) => return Some(Typed { spec, unreadable }),
            Err(error) => error,
        };
        let current = SourceIndex::new(&text);
        let path = error
            .line
            .zip(error.column)
            .and_then(|(line, column)| current.path_at(line, column))
            .unwrap_or_default()
            .to_owned();
        // An error inside a value already given up on is that value's consequence, not news.
        let inside =
            |p: &String| path == *p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["));
        if !unreadable.iter().any(inside) {
            findings.push(flag_message(
                read_error_finding(&error, &path, source, index),
                source,
                kind,
            ));
        }
        if matches!(
            error.kind,
            yaml::ReadErrorKind::DuplicateKey(_) | yaml::ReadErrorKind::Syntax
        ) {
            return None;
        }
        let key = nearest_key(&current, &path, &unreadable)?;
        text = current.with_null(&text, &key)?;
        unreadable.push(key);
    }
    None
}

/// The closest enclosing key of `path` that was not already given up on: list items and
/// required fields inside a value are left unset with their whole field.
fn nearest_key(index: &SourceIndex, path: &str, given_up: &[String]) -> Option<String> {
    let mut path = path.to_owned();
    loop {
        if index.key(&path).is_some() && !given_up.contains(&path) {
            return Some(path);
        }
        path = parent_path(&path)?;
    }
}

/// `a.b[0]` → `a.b`, `a.b` → `a`, `a["x.y"]` → `a`; `None` at the top.
fn parent_path(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']')
        && let Some(open) = path.rfind('[')
    {
        return Some(path[..open].to_owned());
    }
    Some(
        path.rsplit_once('.')
            .map_or_else(String::new, |(parent, _)| parent.to_owned()),
    )
}

/// A `--set` layer's generated YAML is not something the user wrote: name the expression.
fn flag_message(mut finding: Finding, source: &Source, kind: LayerKind) -> Finding {
    if kind == LayerKind::Flag {
        finding.message = format!("`{}`: {}", source.name, finding.message);
        finding.location = None;
        if finding.code == "invalid-value" {
            finding.help = Some("--set sets one value; write lists and maps in the spec file".into());
        }
    }
    finding
}

/// A finding for what the typed YAML reader refused: duplicate keys, wrong types.
fn read_error_finding(error: &yaml::ReadError, path: &str, source: &Source, index: &SourceIndex) -> Finding {
    let span = error.line.zip(error.column).map(|(line, column)| {
        let starts_here = |s: &Span| (s.line, s.column) == (line, column);
        let len = [index.value(path), index.key(path)]
            .into_iter()
            .flatten()
            .find(starts_here)
            .map_or(1, |s| s.len);
        Span { line, column, len }
    });
    let written = span.and_then(|s| {
        let text = source.text.lines().nth(s.line.checked_sub(1)?)?;
        Some(text.chars().skip(s.column - 1).take(s.len).collect::<String>())
    });
    let finding = match &error.kind {
        yaml::ReadErrorKind::DuplicateKey(key) => Finding::error(
            "duplicate-key",
            path,
            format!("`{key}` appears twice in the same mapping"),
        )
        .with_help("keep one: other YAML tools silently keep the first or the last, so the intent is ambiguous"),
        yaml::ReadErrorKind::Type { expected } => {
            let message = type_message(expected, &written.unwrap_or_default());
            let help = match crate::fields::expected_shape(path) {
                Some(shape) => format!("{shape}; `tdgen schema` has every field's type"),
                None => "see `tdgen schema` for every field's type".into(),
            };
            Finding::error("invalid-value", path, message).with_help(help)
        }
        yaml::ReadErrorKind::Choice { allowed } => {
            let written = written.unwrap_or_default();
            Finding::error(
                "invalid-choice",
                path,
                format!("`{written}` is not one of {}", allowed.join(", ")),
            )
            .with_help(format!(
                "{}write one of them exactly (case matters)",
                did_you_mean(&written, allowed.iter().copied())
            ))
        }
        yaml::ReadErrorKind::Syntax | yaml::ReadErrorKind::Other => Finding::error(
            "invalid-value",
            path,
            format!("this value cannot be read: {}", error.message),
        )
        .with_help("see `tdgen schema` for every field's type"),
    };
    Finding {
        location: span.map(|span| Location {
            source: source.name.clone(),
            span: Some(span),
        }),
        ..finding
    }
}

/// What is wrong with `written` where `expected` belongs, in the user's terms.
fn type_message(expected: &str, written: &str) -> String {
    let digits = !written.is_empty()
        && written
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit());
    let unsigned = written.trim_start_matches(['-', '+']);
    if expected == "a whole number" && digits && unsigned.len() > 1 && unsigned.starts_with('0') {
        let trimmed = unsigned.trim_start_matches('0');
        let sign = if written.starts_with('-') { "-" } else { "" };
        let plain = if trimmed.is_empty() { "0" } else { trimmed };
        format!("`{written}` has a leading zero, which YAML readers take as octal or as decimal: write `{sign}{plain}`")
    } else if expected == "a whole number" && digits {
        format!("`{written}` is too large: whole numbers here go up to {}", i64::MAX)
    } else if written.starts_with('{') || written.ends_with(':') {
        format!("found a mapping where {expected} belongs")
    } else if written.starts_with('[') || written.starts_with('-') {
        format!("found a list where {expected} belongs")
    } else if written.is_empty() {
        format!("the value is not {expected}")
    } else {
        format!("`{written}` is not {expected}")
    }
}

/// Deep-merge `over` into `base`: maps key by key, everything else replaced.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Turn `a.b.c=VALUE` into the YAML document `a:\n  b:\n    c: VALUE`.
///
/// A plain value is written as-is so the typed reader decides (`5` for a count, `3.3` for a
/// tag); anything that could change the YAML structure is written as a quoted string.
fn set_to_yaml(expression: &str) -> Result<String, String> {
    let (path, value) = expression.split_once('=').ok_or("missing `=`")?;
    let keys = split_path(path)?;
    let mut text = String::new();
    for (depth, key) in keys.iter().enumerate() {
        let indent = "  ".repeat(depth);
        let quoted_key = Value::from(key.as_str());
        if depth + 1 < keys.len() {
            text.push_str(&format!("{indent}{quoted_key}:\n"));
        } else {
            text.push_str(&format!("{indent}{quoted_key}: {}\n", yaml_scalar(value)));
        }
    }
    Ok(text)
}

/// Split `spec.config.a\.b` into keys; `\.` escapes a dot inside a key.
fn split_path(path: &str) -> Result<Vec<String>, String> {
    let mut keys = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => keys.last_mut().map(|k| k.push(next)).unwrap_or(()),
                None => return Err("path ends with `\\`".into()),
            },
            '.' => keys.push(String::new()),
            other => keys.last_mut().map(|k| k.push(other)).unwrap_or(()),
        }
    }
    if keys.iter().any(String::is_empty) {
        return Err(format!("`{path}` has an empty path segment"));
    }
    Ok(keys)
}

fn yaml_scalar(value: &str) -> String {
    let plain = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c));
    if plain {
        value.to_owned()
    } else {
        Value::from(value).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_expressions_become_nested_yaml() {
        assert_eq!(set_to_yaml("spec.dnodes=5").unwrap(), "\"spec\":\n  \"dnodes\": 5\n");
        assert_eq!(
            set_to_yaml("spec.config.a\\.b=x: y").unwrap(),
            "\"spec\":\n  \"config\":\n    \"a.b\": \"x: y\"\n"
        );
        assert!(set_to_yaml("spec.dnodes").is_err());
        assert!(set_to_yaml("spec..dnodes=1").is_err());
    }

    #[test]
    fn precedence_is_preset_then_file_then_set() {
        let mut request = Request::from_text(
            "s.yaml",
            "apiVersion: tdgen/v1\nkind: TDengineCluster\nspec:\n  preset: ha\n  dnodes: 4\n  config: {a: '1', b: '2'}\n",
        );
        request.sets = vec!["spec.dnodes=5".into(), "spec.config.b=3".into()];
        let loaded = load(&request).unwrap();
        let spec = loaded.spec.spec.clone().unwrap();
        assert_eq!(loaded.preset, "ha");
        assert_eq!(spec.dnodes, Some(5));
        assert_eq!(spec.mnodes, Some(3), "from the preset");
        let config = spec.config.unwrap();
        assert_eq!(config["a"].as_str(), "1");
        assert_eq!(config["b"].as_str(), "3");
        assert_eq!(loaded.locate("spec.dnodes").unwrap().source, "--set spec.dnodes=5");
        assert_eq!(loaded.locate("spec.mnodes").unwrap().source, "preset ha");
        assert_eq!(loaded.locate("spec.config.a").unwrap().span.unwrap().line, 6);
    }

    #[test]
    fn unknown_preset_suggests_the_closest() {
        let report = load(&Request::from_text(
            "s.yaml",
            "apiVersion: tdgen/v1\nkind: TDengineCluster\nspec:\n  preset: hа2\n",
        ))
        .unwrap_err();
        assert_eq!(report.findings[0].code, "unknown-preset");
        let mut request = Request {
            preset: Some("seeed".into()),
            ..Request::default()
        };
        request.file = None;
        let report = load(&request).unwrap_err();
        assert!(
            report.findings[0]
                .help
                .as_deref()
                .unwrap()
                .contains("did you mean `seed`?")
        );
    }

    /// The cheap check on the success path and the schema walk behind the findings agree: a
    /// text the reader calls free of unknown keys has none by the schema, and every text with
    /// one is noticed (every preset and every fixture of the repository).
    #[test]
    fn noticing_unknown_keys_agrees_with_the_schema() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts: Vec<(String, String)> = Preset::all()
            .iter()
            .map(|p| (format!("preset {}", p.name), p.text.to_owned()))
            .collect();
        for dir in ["tests/fixtures/specs", "tests/fixtures/invalid"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                texts.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
        texts.push(("bogus".into(), "spec:\n  tolerations: [{key: a, bogus: 1}]\n".into()));
        let mut noticed = 0;
        for (name, text) in texts {
            let Ok((_, unknown)) = yaml::from_str_noting_unknown::<Spec>(&text) else {
                continue;
            };
            let source = Source {
                name: name.clone(),
                text: text.as_str().into(),
            };
            let walked = crate::fields::unknown_fields(&source, &SourceIndex::new(&text));
            assert_eq!(unknown, !walked.is_empty(), "{name}: {walked:?}");
            noticed += usize::from(unknown);
        }
        assert!(noticed >= 3, "the corpus has texts with unknown keys ({noticed})");
    }
}
