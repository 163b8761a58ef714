//! Loading and layering: built-in defaults < preset < spec file < `--set` / `-n` flags.
//!
//! Each layer is read into the typed [`Spec`] on its own (so an unknown field is reported in the
//! text that contains it), then the layers are merged as JSON trees: maps merge key by key,
//! scalars and lists are replaced by the later layer. The merged spec keeps a record of which
//! layer set each path, so later findings can point at the line that set the value.

use serde_json::Value;

use crate::error::{Finding, Location, Report};
use crate::preset::{DEFAULT_PRESET, Preset};
use crate::source::{Source, SourceIndex, Span};
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
    index: SourceIndex,
    value: Value,
}

/// The merged spec and the layers it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged spec (built-in defaults not yet applied: that is validation's job).
    pub spec: Spec,
    /// The preset that was applied.
    pub preset: &'static str,
    layers: Vec<Layer>,
}

impl Loaded {
    /// Where the value at `path` was written: the highest-precedence layer that sets it.
    pub fn locate(&self, path: &str) -> Option<Location> {
        self.layers
            .iter()
            .rev()
            .find_map(|layer| layer.locate(layer.index.value(path)?))
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
}

/// Read every layer of `request` and merge them. Fails with every layer's parse errors.
pub fn load(request: &Request) -> Result<Loaded, Report> {
    let mut findings = Vec::new();
    let mut sources = Vec::new();
    let file = request.file.as_ref().and_then(|source| {
        sources.push(source.clone());
        read_layer(source.clone(), &mut findings)
    });
    let preset_name = request
        .preset
        .clone()
        .or_else(|| file.as_ref().and_then(|f| f.spec_preset()))
        .unwrap_or_else(|| DEFAULT_PRESET.to_owned());
    let preset = match Preset::find(&preset_name) {
        Some(preset) => Some(preset),
        None => {
            let mut finding = Finding::error(
                "unknown-preset",
                "spec.preset",
                format!("there is no preset `{preset_name}`"),
            )
            .with_help(format!(
                "{}available presets: {}",
                did_you_mean(&preset_name, Preset::names()),
                Preset::names().join(", ")
            ));
            if request.preset.is_some() {
                finding.path = "--preset".into();
            } else if let Some(file) = &file {
                finding.location = file.index.value("spec.preset").and_then(|span| file.locate(span));
            }
            findings.push(finding);
            None
        }
    };
    let mut layers = Vec::new();
    if let Some(preset) = preset {
        let source = Source {
            name: format!("preset {}", preset.name),
            text: preset.text.into(),
        };
        sources.push(source.clone());
        layers.extend(read_layer(source, &mut findings));
    }
    layers.extend(file);
    for set in &request.sets {
        match set_to_yaml(set) {
            Ok(text) => {
                let source = Source {
                    name: format!("--set {set}"),
                    text: text.into(),
                };
                sources.push(source.clone());
                layers.extend(read_layer(source, &mut findings));
            }
            Err(message) => findings.push(
                Finding::error("invalid-set", "--set", format!("`--set {set}`: {message}"))
                    .with_help("write --set PATH=VALUE, e.g. --set spec.dnodes=5 or --set spec.config.debugFlag=143"),
            ),
        }
    }
    if let Some(namespace) = &request.namespace {
        let text = format!(
            "metadata:\n  namespace: {}\n",
            serde_json::Value::from(namespace.as_str())
        );
        let source = Source {
            name: format!("-n {namespace}"),
            text: text.into(),
        };
        sources.push(source.clone());
        layers.extend(read_layer(source, &mut findings));
    }
    if !findings.is_empty() {
        return Err(Report { findings, sources });
    }
    let mut merged = Value::Object(Default::default());
    for layer in &layers {
        merge(&mut merged, &layer.value);
    }
    let spec: Spec = serde_json::from_value(merged).map_err(|e| Report {
        findings: vec![Finding::error(
            "merge",
            "",
            format!("the layers do not combine into a spec: {e}"),
        )],
        sources: sources.clone(),
    })?;
    let preset = preset.map_or(DEFAULT_PRESET, |p| p.name);
    Ok(Loaded { spec, preset, layers })
}

impl Layer {
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

fn read_layer(source: Source, findings: &mut Vec<Finding>) -> Option<Layer> {
    // Every unknown field at once, each with a suggestion; serde would stop at the first.
    let index = SourceIndex::new(&source.text);
    let unknown = crate::fields::unknown_fields(&source, &index);
    if !unknown.is_empty() {
        findings.extend(unknown);
        return None;
    }
    let spec: Spec = match yaml::from_str(&source.text) {
        Ok(spec) => spec,
        Err(e) => {
            let mut finding = read_error_finding(&e, &source, &index);
            if source.name.starts_with("--set ") {
                // The generated YAML is not something the user wrote; name the expression.
                finding.message = format!("`{}`: {}", source.name, finding.message);
                finding.location = None;
            }
            findings.push(finding);
            return None;
        }
    };
    let value = serde_json::to_value(&spec).unwrap_or(Value::Null);
    Some(Layer { source, index, value })
}

/// A finding for what the typed YAML reader refused: syntax, duplicate keys, wrong types.
fn read_error_finding(error: &yaml::ReadError, source: &Source, index: &SourceIndex) -> Finding {
    let position = error.line.zip(error.column);
    let path = position
        .and_then(|(line, column)| index.path_at(line, column))
        .unwrap_or_default()
        .to_owned();
    let span = position.map(|(line, column)| {
        let starts_here = |s: &Span| (s.line, s.column) == (line, column);
        let len = [index.value(&path), index.key(&path)]
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
        yaml::ReadErrorKind::Syntax => Finding::error(
            "yaml-syntax",
            path,
            format!("this is not valid YAML: {}", error.message),
        )
        .with_help("check the indentation (spaces, never tabs) and that every `{`, `[` and quote is closed"),
        yaml::ReadErrorKind::DuplicateKey(key) => Finding::error(
            "duplicate-key",
            path,
            format!("`{key}` appears twice in the same mapping"),
        )
        .with_help("keep one: other YAML tools silently keep the first or the last, so the intent is ambiguous"),
        yaml::ReadErrorKind::Type { expected } => {
            let what = written.map_or_else(|| "the value".to_owned(), |w| format!("`{w}`"));
            Finding::error("invalid-value", path, format!("{what} is not {expected}"))
                .with_help("see `tdgen schema` for every field's type")
        }
        yaml::ReadErrorKind::Other => Finding::error("invalid-value", path, error.message.clone())
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
            "spec:\n  preset: ha\n  dnodes: 4\n  config: {a: '1', b: '2'}\n",
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
        assert_eq!(loaded.locate("spec.config.a").unwrap().span.unwrap().line, 4);
    }

    #[test]
    fn unknown_preset_suggests_the_closest() {
        let report = load(&Request::from_text("s.yaml", "spec:\n  preset: hа2\n")).unwrap_err();
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
}
