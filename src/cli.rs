//! Command-line parsing (clap) and dispatch. No business logic: every command is a library
//! call, and this module only reads inputs, prints results and picks the exit code.
//!
//! Exit codes: 0 success, 1 the spec is invalid, 2 usage or I/O error, 3 `diff` found changes
//! that would be rejected or are unsafe.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

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
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(1),
        Err(Failure::Blocking) => ExitCode::from(3),
        Err(Failure::Other(e)) => {
            // A closed pipe (`tdgen render | head`) is not an error worth reporting.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Render(args) => render(args),
        Command::Validate(args) => {
            let checked = checked(&args.input, &args.findings)?;
            if args.findings.format == FindingFormat::Text && checked.report.findings.is_empty() {
                eprintln!("ok: {} is valid", input_name(&args.input));
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
            let checked = checked(&args.input, &args.findings)?;
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
    let checked = checked(&args.input, &findings)?;
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
            print_findings(&checked.loaded.report(vec![*finding]), FindingFormat::Text);
            Err(Failure::Invalid)
        }
    }
}

fn diff(args: DiffArgs) -> Result<(), Failure> {
    let checked = checked(&args.input, &args.findings)?;
    let previous = tdgen::diff::read_previous(&args.previous, args.allow_new).map_err(anyhow::Error::from)?;
    let report = tdgen::diff::diff(&previous, &checked.valid);
    let invocation = tdgen::diff::Invocation {
        input: input_flags(&args.input),
        previous: tdgen::diff::shell_word(&args.previous.display().to_string()),
    };
    let json = args.findings.format == FindingFormat::Json;
    out(&if json {
        report.to_json(&invocation)
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
    let checked = checked(&args.input, &args.findings)?;
    let manifests = tdgen::render(&checked.valid);
    if let Some(dir) = &args.output_dir {
        let done = manifests.write_dir(dir).map_err(anyhow::Error::from)?;
        for path in &done.written {
            eprintln!("wrote {}", path.display());
        }
        for path in &done.removed {
            eprintln!("removed {} (rendered before, not any more)", path.display());
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
fn checked(args: &InputArgs, findings: &FindingArgs) -> Result<Checked, Failure> {
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
    print_findings(&report, findings.format);
    let denied = findings.deny_warnings && report.count(Severity::Warning) > 0;
    match result {
        Some(checked) if !denied => Ok(checked),
        _ => Err(Failure::Invalid),
    }
}

fn print_findings(report: &Report, format: FindingFormat) {
    match format {
        FindingFormat::Json => eprint!("{}", report.to_json()),
        FindingFormat::Text if !report.findings.is_empty() => eprint!("{}", report.render()),
        FindingFormat::Text => {}
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
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the spec from stdin")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    Ok(Some(Source {
        name: input_name(args),
        text: text.into(),
    }))
}

fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Other(e.into()))
}
