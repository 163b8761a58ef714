//! Typed errors and findings: what went wrong, where (spec path and line:column), how to fix it.
//!
//! The library never prints; [`Report::render`] formats findings for terminals and
//! [`Report::to_json`] for CI annotations, and other tools can walk [`Report::findings`].

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::source::{Source, Span};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The spec cannot be rendered.
    Error,
    /// The spec renders, but something is likely wrong or risky.
    Warning,
    /// Worth knowing; never fails a run, not even with `--deny-warnings`.
    Note,
}

/// Where a finding points: one of the report's sources and a span in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Name of the source (`spec.yaml`, `preset ha`, `--set …`).
    pub source: String,
    /// Position in that source; `None` for sources that are command-line flags.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Span", 3)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("column", &self.column)?;
        st.serialize_field("length", &self.len)?;
        st.end()
    }
}

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, greppable code such as `unknown-field` (documented in the README).
    pub code: &'static str,
    /// The spec path the finding is about (`spec.storage.data.size`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where the offending value was written, when it came from a text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Finding {
    /// A new error finding.
    pub fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, path, message)
    }

    /// A new warning finding.
    pub fn warning(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, path, message)
    }

    /// A new finding of any severity.
    pub fn new(severity: Severity, code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity,
            code,
            path: tidy(&path.into()),
            message: tidy(&message.into()),
            help: None,
            location: None,
        }
    }

    /// Attach help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(tidy(&help.into()));
        self
    }

    /// Whether this finding is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// All findings of one run, with the texts they point into.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every finding, errors and warnings, in a stable order.
    pub findings: Vec<Finding>,
    /// The texts that locations refer to (by name).
    pub sources: Vec<Source>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    /// Number of findings of the given severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// Findings as a JSON array (for CI annotations).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.findings).unwrap_or_else(|_| "[]".into());
        text.push('\n');
        text
    }

    /// Human-readable text: each finding with its path, the source line and a caret.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Each source's lines, split once: a finding quotes its line by number.
        let lines: Vec<(&str, Vec<&str>)> = self
            .sources
            .iter()
            .map(|s| (s.name.as_str(), s.text.lines().collect()))
            .collect();
        for finding in &self.findings {
            Self::render_one(&mut out, finding, &lines);
        }
        if !self.findings.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                summary(
                    self.count(Severity::Error),
                    self.count(Severity::Warning),
                    self.count(Severity::Note)
                )
            );
        }
        out
    }

    fn render_one(out: &mut String, finding: &Finding, lines: &[(&str, Vec<&str>)]) {
        let label = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let _ = writeln!(out, "{label}[{}]: {}", finding.code, tidy(&finding.message));
        let at = if finding.path.is_empty() {
            String::new()
        } else {
            format!(" ({})", finding.path)
        };
        match &finding.location {
            Some(Location { source, span: None }) => {
                let _ = writeln!(out, "  --> {}{at}", tidy(source));
            }
            Some(location @ Location { span: Some(span), .. }) => {
                let Span { line, column, len } = *span;
                let _ = writeln!(out, "  --> {}:{line}:{column}{at}", location.source);
                let source = lines.iter().find(|(name, _)| *name == location.source);
                if let Some(text) = source.and_then(|(_, l)| l.get(line.checked_sub(1)?)).copied() {
                    let (text, column) = window(text, column);
                    let gutter = " ".repeat(line.to_string().len());
                    let width = len.min(text.chars().count().saturating_sub(column - 1)).clamp(1, 120);
                    let _ = writeln!(out, "{gutter} |");
                    let _ = writeln!(out, "{line} | {text}");
                    let _ = writeln!(out, "{gutter} | {}{}", " ".repeat(column - 1), "^".repeat(width));
                }
            }
            None if !finding.path.is_empty() => {
                let _ = writeln!(out, "  --> {}", tidy(&finding.path));
            }
            None => {}
        }
        if let Some(help) = &finding.help {
            let gutter = finding
                .location
                .as_ref()
                .and_then(|l| l.span)
                .map_or(1, |s| s.line.to_string().len());
            let _ = writeln!(out, "{} = help: {}", " ".repeat(gutter), tidy(help));
        }
        out.push('\n');
    }
}

/// The longest excerpt of user text a finding quotes between backquotes.
const LONGEST_EXCERPT: usize = 200;

/// Text for a terminal: control characters escaped (`\n`, `\u{1b}`), and every backquoted
/// excerpt longer than `LONGEST_EXCERPT` cut in the middle, so that a finding about a huge or
/// hostile value stays one readable line.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let quoted = i % 2 == 1;
        let count = part.chars().count();
        if quoted && count > LONGEST_EXCERPT {
            // Short enough that tidying the result again changes nothing.
            let head: String = part.chars().take(150).collect();
            let tail: String = part.chars().skip(count - 20).collect();
            escape_into(&mut out, &head);
            out.push_str(&format!("…[{} characters]…", count - 170));
            escape_into(&mut out, &tail);
        } else {
            escape_into(&mut out, part);
        }
    }
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

/// A source line for a snippet: at most 120 characters around `column` (1-based), control
/// characters shown as `�` (one character, so the caret stays aligned). Returns the text and
/// the caret's column in it.
fn window(line: &str, column: usize) -> (String, usize) {
    const WIDTH: usize = 120;
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if chars.len() <= WIDTH {
        return (chars.into_iter().collect(), column);
    }
    let start = column.saturating_sub(WIDTH / 2).min(chars.len().saturating_sub(WIDTH));
    let end = (start + WIDTH).min(chars.len());
    let mut text = String::new();
    let mut caret = column - start;
    if start > 0 {
        text.push('…');
        caret += 1;
    }
    text.extend(&chars[start..end]);
    if end < chars.len() {
        text.push('…');
    }
    (text, caret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_and_escaped_once() {
        let long = format!("the value `{}` is wrong", "x".repeat(1_000_000));
        let once = tidy(&long);
        assert!(once.len() < 250, "{once}");
        assert!(once.contains("…[999830 characters]…"), "{once}");
        assert_eq!(tidy(&once), once, "tidying is idempotent");
        assert_eq!(tidy("a\u{1b}[31m`b\nc`"), "a\\u{1b}[31m`b\\nc`");
        let (line, caret) = window(&format!("{}X{}", "a".repeat(500), "b".repeat(500)), 501);
        assert_eq!(line.chars().nth(caret - 1), Some('X'));
        assert!(line.chars().count() <= 122);
    }
}

fn summary(errors: usize, warnings: usize, notes: usize) -> String {
    let parts: Vec<String> = [(errors, "error"), (warnings, "warning"), (notes, "note")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| format!("{n} {word}{}", if n == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() {
        "no findings".into()
    } else {
        parts.join(", ")
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

/// `{:?}` is the rendered findings, so that `fn main() -> Result<(), Box<dyn Error>>` (which
/// prints its error with `{:?}`) shows a bad spec as `tdgen validate` does; `{:#?}` is the struct.
impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            f.debug_struct("Report")
                .field("findings", &self.findings)
                .field("sources", &self.sources)
                .finish()
        } else {
            f.write_str(self.render().trim_end())
        }
    }
}

/// A report is what [`crate::check`] fails with, so `?` takes it into any error type
/// (`anyhow`, `Box<dyn Error>`); its message is every finding, rendered.
impl std::error::Error for Report {}

/// Everything the library can fail with. Its `{:?}` is its message (what a `main` returning
/// `Box<dyn Error>` prints); `{:#?}` shows the variant and its fields.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec has errors; the report lists every finding, and so does the message.
    #[error("the spec is invalid ({}):\n{}", summary(.0.count(Severity::Error), .0.count(Severity::Warning), .0.count(Severity::Note)), .0.render().trim_end())]
    Invalid(Box<Report>),
    /// Reading or writing a file failed. (The I/O error is part of the message, not a
    /// `source()`, so that printers walking the chain do not say it twice.)
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// An input is larger than tdgen reads.
    #[error("{}: larger than {} MiB; tdgen reads at most that much", path.display(), limit / (1024 * 1024))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// Two groups of objects would be written to the same file of an output directory.
    #[error(
        "{first} and {second} would both be written to {file}; rename the cluster (metadata.name) or its Service (spec.service.name)"
    )]
    FileCollision {
        /// The file name.
        file: String,
        /// What was to be written there first.
        first: String,
        /// What collided with it.
        second: String,
    },
    /// An output path tdgen will not write: something it did not write is in the way (a file
    /// without its marker, a link, a directory), or the output directory is not a directory.
    #[error("{}: {reason}", path.display())]
    Output {
        /// The file or directory.
        path: PathBuf,
        /// What is in the way, and what to do.
        reason: String,
    },
    /// `--previous` is not a previous render of a cluster.
    #[error("{}: not a previous render: {reason}", path.display())]
    Previous {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An object could not be serialised (a bug in tdgen: please report it).
    #[error("could not serialise {what}: {message}")]
    Serialize {
        /// The object.
        what: String,
        /// The serialiser's message.
        message: String,
    },
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !f.alternate() {
            return std::fmt::Display::fmt(self, f);
        }
        match self {
            Error::Invalid(report) => f.debug_tuple("Invalid").field(report).finish(),
            Error::Io { path, error } => f.debug_struct("Io").field("path", path).field("error", error).finish(),
            Error::TooLarge { path, limit } => f
                .debug_struct("TooLarge")
                .field("path", path)
                .field("limit", limit)
                .finish(),
            Error::FileCollision { file, first, second } => f
                .debug_struct("FileCollision")
                .field("file", file)
                .field("first", first)
                .field("second", second)
                .finish(),
            Error::Output { path, reason } => f
                .debug_struct("Output")
                .field("path", path)
                .field("reason", reason)
                .finish(),
            Error::Previous { path, reason } => f
                .debug_struct("Previous")
                .field("path", path)
                .field("reason", reason)
                .finish(),
            Error::Serialize { what, message } => f
                .debug_struct("Serialize")
                .field("what", what)
                .field("message", message)
                .finish(),
        }
    }
}

impl From<Report> for Error {
    fn from(report: Report) -> Self {
        Error::Invalid(Box::new(report))
    }
}
