//! Command-line parsing (clap) and dispatch. No business logic: every command is a library
//! call, and this module only reads inputs, prints results and picks the exit code.
//!
//! Exit codes: 0 success, 1 the spec is invalid, 2 usage or I/O error, 3 `diff` found changes
//! that would be rejected or are unsafe.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tdgen::source::Source;
use tdgen::{Checked, Preset, Report, Request, Severity};

/// Render production-grade Kubernetes manifests for a TDengine 3.x cluster.
#[derive(Debug, Parser)]
#[command(name = "tdgen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the cluster's manifests (stdout, or --output-dir).
    Render(RenderArgs),
    /// Check a spec and print every finding.
    Validate(CheckArgs),
    /// Print the JSON Schema of the spec.
    Schema,
    /// Print a commented starter spec.
    Init {
        /// Preset to start from.
        #[arg(long, default_value = tdgen::preset::DEFAULT_PRESET)]
        preset: String,
    },
    /// List the built-in presets, or show one.
    Presets {
        #[command(subcommand)]
        action: Option<PresetAction>,
    },
    /// Write a day-2 runbook (bash, or a Markdown checklist) with the cluster's real names.
    Plan(PlanArgs),
    /// Compare previously rendered manifests with a new render: rejected, unsafe or safe.
    Diff(DiffArgs),
    /// Summarise a spec: FQDNs, mnodes, failures survived, storage, how clients connect.
    Explain(CheckArgs),
}

/// An input plus how to report its findings.
#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    findings: FindingArgs,
}

#[derive(Debug, Clone, clap::Args)]
struct FindingArgs {
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = FindingFormat::Text)]
    format: FindingFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Which runbook.
    #[arg(value_enum)]
    runbook: RunbookName,
    /// Target number of dnodes (`scale` only).
    #[arg(long, required_if_eq("runbook", "scale"))]
    to: Option<u32>,
    /// Bash script (default) or Markdown checklist.
    #[arg(long, value_enum, default_value_t = PlanFormat::Shell)]
    format: PlanFormat,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RunbookName {
    Mnodes,
    Scale,
    Teardown,
    Verify,
    Adopt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    Shell,
    Markdown,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The previous render: a YAML stream, a JSON List, or an --output-dir.
    #[arg(long, value_name = "OLD")]
    previous: PathBuf,
    /// This is the cluster's first render: a missing or empty OLD means nothing is deployed yet.
    #[arg(long)]
    allow_new: bool,
    #[command(flatten)]
    input: InputArgs,
    /// `--format json` prints the changes (and any findings) as JSON.
    #[command(flatten)]
    findings: FindingArgs,
}

#[derive(Debug, Subcommand)]
enum PresetAction {
    /// Print a preset's YAML layer.
    Show {
        /// Preset name.
        name: String,
    },
}

#[derive(Debug, clap::Args)]
struct InputArgs {
    /// Spec file (`-` for stdin). Without it, the preset alone is used.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Preset to start from (overrides spec.preset).
    #[arg(long)]
    preset: Option<String>,
    /// Override one value: PATH=VALUE, e.g. spec.dnodes=5 (repeatable; later wins).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Namespace to pin on every object (same as --set metadata.namespace=NS).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RenderArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    findings: FindingArgs,
    /// Output format for stdout.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Yaml)]
    output: OutputFormat,
    /// Write one file per object group plus a kustomization.yaml into DIR instead of stdout.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FindingFormat {
    Text,
    Json,
}

/// Why a command failed, which decides the exit code.
enum Failure {
    Invalid,
    /// `diff` found changes that would be rejected or are unsafe.
    Blocking,
    Other(anyhow::Error),
    /// Writing to stdout or stderr failed (other than a reader closing it).
    Output(std::io::Error),
}

/// The two streams. Once a reader closes one (`tdgen … | head`), nothing more is written to it
/// and the command finishes with its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

fn write_to(stream: Stream, text: &str) -> Result<(), Failure> {
    let closed = match stream {
        Stream::Out => &STDOUT_CLOSED,
        Stream::Err => &STDERR_CLOSED,
    };
    if closed.load(Ordering::Relaxed) {
        return Ok(());
    }
    let written = match stream {
        Stream::Out => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())
        }
        Stream::Err => {
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush())
        }
    };
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            closed.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::Output(e)),
    }
}

/// Machine or human output: stdout.
fn out(text: &str) -> Result<(), Failure> {
    write_to(Stream::Out, text)
}

/// Diagnostics: stderr.
fn err(text: &str) -> Result<(), Failure> {
    write_to(Stream::Err, text)
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

/// Run the CLI and map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.command.json_findings();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(1),
        Err(Failure::Blocking) => ExitCode::from(3),
        Err(Failure::Output(e)) => {
            // stdout may have failed while stderr still works; if not, there is no one to tell.
            let _ = err(&format!("error: writing the output: {e}\n"));
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            let _ = match json {
                Some(stream) => write_to(stream, &error_json(&e)),
                None => err(&format!("error: {e:#}\n")),
            };
            ExitCode::from(2)
        }
    }
}

/// A usage or I/O error as the JSON findings array `--format json` prints, with a code.
fn error_json(e: &anyhow::Error) -> String {
    let code = match e.downcast_ref::<tdgen::Error>() {
        Some(tdgen::Error::Io { .. }) => "io-error",
        Some(tdgen::Error::TooLarge { .. }) => "input-too-large",
        Some(tdgen::Error::Previous { .. }) => "previous-invalid",
        Some(tdgen::Error::FileCollision { .. }) => "file-collision",
        _ => "error",
    };
    let finding = serde_json::json!([{ "severity": "error", "code": code, "path": "", "message": format!("{e:#}") }]);
    format!("{}\n", serde_json::to_string_pretty(&finding).unwrap_or_default())
}

impl Command {
    /// Where `--format json` findings go, when the command prints them as JSON: stdout for the
    /// commands whose output they are (`validate`, `diff`), stderr next to manifests.
    fn json_findings(&self) -> Option<Stream> {
        let (format, stream) = match self {
            Command::Validate(args) => (args.findings.format, Stream::Out),
            Command::Diff(args) => (args.findings.format, Stream::Out),
            Command::Render(args) => (args.findings.format, Stream::Err),
            Command::Explain(args) => (args.findings.format, Stream::Err),
            _ => return None,
        };
        (format == FindingFormat::Json).then_some(stream)
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Render(args) => render(args),
        Command::Validate(args) => {
            let checked = checked(&args.input, &args.findings, Stream::Out)?;
            if args.findings.format == FindingFormat::Text && checked.report.findings.is_empty() {
                err(&format!("ok: {} is valid\n", input_name(&args.input)))?;
            }
            Ok(())
        }
        Command::Schema => {
            let text = serde_json::to_string_pretty(&tdgen::json_schema()).context("serialising the schema")?;
            out(&format!("{text}\n"))
        }
        Command::Init { preset } => {
            if Preset::find(&preset).is_none() {
                return Err(anyhow::anyhow!(
                    "there is no preset `{preset}` (available: {})",
                    Preset::names().join(", ")
                )
                .into());
            }
            out(&tdgen::starter_spec(&preset).context("rendering the starter spec")?)
        }
        Command::Plan(args) => plan(args),
        Command::Diff(args) => diff(args),
        Command::Explain(args) => {
            let checked = checked(&args.input, &args.findings, Stream::Err)?;
            out(&tdgen::explain::explain(&checked.valid).context("rendering the explanation")?)
        }
        Command::Presets { action: None } => {
            let mut text = String::new();
            for preset in Preset::all() {
                text.push_str(&format!("{:<6} {}\n", preset.name, preset.summary));
            }
            out(&text)
        }
        Command::Presets {
            action: Some(PresetAction::Show { name }),
        } => match Preset::find(&name) {
            Some(preset) => out(preset.text),
            None => Err(anyhow::anyhow!(
                "there is no preset `{name}`; {}available: {}",
                tdgen::suggest::did_you_mean(&name, Preset::names()),
                Preset::names().join(", ")
            )
            .into()),
        },
    }
}

fn plan(args: PlanArgs) -> Result<(), Failure> {
    use tdgen::runbook::PlanKind;
    let findings = FindingArgs {
        format: FindingFormat::Text,
        deny_warnings: false,
    };
    let checked = checked(&args.input, &findings, Stream::Err)?;
    let kind = match args.runbook {
        RunbookName::Mnodes => PlanKind::Mnodes,
        RunbookName::Scale => PlanKind::Scale {
            to: args.to.unwrap_or_default(),
        },
        RunbookName::Teardown => PlanKind::Teardown,
        RunbookName::Verify => PlanKind::Verify,
        RunbookName::Adopt => PlanKind::Adopt,
    };
    match tdgen::runbook::plan(&checked.valid, kind) {
        Ok(runbook) => out(&match args.format {
            PlanFormat::Shell => runbook.script,
            PlanFormat::Markdown => runbook.to_markdown(),
        }),
        Err(finding) => {
            print_findings(&checked.loaded.report(vec![*finding]), FindingFormat::Text, Stream::Err)?;
            Err(Failure::Invalid)
        }
    }
}

fn diff(args: DiffArgs) -> Result<(), Failure> {
    let json = args.findings.format == FindingFormat::Json;
    // As JSON, the findings of a spec that checks go inside the report: stdout holds one document.
    let print = if json { Print::OnFailure } else { Print::Always };
    let checked = checked_printing(&args.input, &args.findings, Stream::Out, print)?;
    let previous = tdgen::diff::read_previous(&args.previous, args.allow_new).map_err(anyhow::Error::from)?;
    let report = tdgen::diff::diff(&previous, &checked.valid);
    let invocation = tdgen::diff::Invocation {
        input: input_flags(&args.input),
        previous: tdgen::diff::shell_word(&args.previous.display().to_string()),
    };
    out(&if json {
        let mut value: serde_json::Value = serde_json::from_str(&report.to_json(&invocation)).unwrap_or_default();
        value["findings"] = serde_json::to_value(&checked.report.findings).unwrap_or_default();
        format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default())
    } else {
        report.render(&invocation)
    })?;
    if report.is_blocking() {
        Err(Failure::Blocking)
    } else {
        Ok(())
    }
}

fn render(args: RenderArgs) -> Result<(), Failure> {
    let checked = checked(&args.input, &args.findings, Stream::Err)?;
    let manifests = tdgen::render(&checked.valid);
    if let Some(dir) = &args.output_dir {
        let done = manifests.write_dir(dir).map_err(anyhow::Error::from)?;
        for path in &done.written {
            err(&format!("wrote {}\n", path.display()))?;
        }
        for path in &done.removed {
            err(&format!("removed {} (rendered before, not any more)\n", path.display()))?;
        }
        return Ok(());
    }
    let text = match args.output {
        OutputFormat::Yaml => manifests.to_yaml(),
        OutputFormat::Json => manifests.to_json(),
    }
    .map_err(anyhow::Error::from)?;
    out(&text)
}

/// Load and validate the input, print findings to stderr, and fail on errors (or warnings
/// with --deny-warnings).
fn checked(args: &InputArgs, findings: &FindingArgs, json_stream: Stream) -> Result<Checked, Failure> {
    checked_printing(args, findings, json_stream, Print::Always)
}

/// When to print findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Print {
    Always,
    /// Only when the spec is refused (the caller prints them with its own output otherwise).
    OnFailure,
}

fn checked_printing(
    args: &InputArgs,
    findings: &FindingArgs,
    json_stream: Stream,
    print: Print,
) -> Result<Checked, Failure> {
    let request = Request {
        file: read_input(args)?,
        preset: args.preset.clone(),
        sets: args.sets.clone(),
        namespace: args.namespace.clone(),
    };
    let (result, report) = match tdgen::check(&request) {
        Ok(checked) => {
            let report = checked.report.clone();
            (Some(checked), report)
        }
        Err(report) => (None, report),
    };
    let denied = findings.deny_warnings && report.count(Severity::Warning) > 0;
    let refused = result.is_none() || denied;
    if print == Print::Always || refused {
        print_findings(&report, findings.format, json_stream)?;
    }
    match result {
        Some(checked) if !denied => Ok(checked),
        _ => Err(Failure::Invalid),
    }
}

fn print_findings(report: &Report, format: FindingFormat, json_stream: Stream) -> Result<(), Failure> {
    match format {
        FindingFormat::Json => write_to(json_stream, &report.to_json()),
        FindingFormat::Text if !report.findings.is_empty() => err(&report.render()),
        FindingFormat::Text => Ok(()),
    }
}

/// The input flags as a user would type them again, for remedy commands.
fn input_flags(args: &InputArgs) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(file) = &args.file {
        flags.extend(["-f".to_owned(), tdgen::diff::shell_word(&file.display().to_string())]);
    }
    if let Some(preset) = &args.preset {
        flags.extend(["--preset".to_owned(), tdgen::diff::shell_word(preset)]);
    }
    for set in &args.sets {
        flags.extend(["--set".to_owned(), tdgen::diff::shell_word(set)]);
    }
    if let Some(namespace) = &args.namespace {
        flags.extend(["-n".to_owned(), tdgen::diff::shell_word(namespace)]);
    }
    flags
}

fn input_name(args: &InputArgs) -> String {
    match &args.file {
        Some(path) if path.as_os_str() == "-" => "<stdin>".into(),
        Some(path) => path.display().to_string(),
        None => format!(
            "preset {}",
            args.preset.as_deref().unwrap_or(tdgen::preset::DEFAULT_PRESET)
        ),
    }
}

fn read_input(args: &InputArgs) -> anyhow::Result<Option<Source>> {
    let Some(path) = &args.file else { return Ok(None) };
    let text = tdgen::input::read_limited(path)?;
    Ok(Some(Source {
        name: input_name(args),
        text: text.into(),
    }))
}
