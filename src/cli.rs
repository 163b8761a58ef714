//! Command-line parsing (clap) and dispatch. No business logic: every command is a library
//! call, and this module only reads inputs, prints results and picks the exit code.
//!
//! Exit codes: 0 success, 1 the spec is invalid, 2 usage or I/O error.

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
    Validate(InputArgs),
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
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = FindingFormat::Text)]
    format: FindingFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Debug, clap::Args)]
struct RenderArgs {
    #[command(flatten)]
    input: InputArgs,
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
            let checked = checked(&args)?;
            if args.format == FindingFormat::Text && checked.report.findings.is_empty() {
                eprintln!("ok: {} is valid", input_name(&args));
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

fn render(args: RenderArgs) -> Result<(), Failure> {
    let checked = checked(&args.input)?;
    let manifests = tdgen::render(&checked.valid);
    if let Some(dir) = &args.output_dir {
        let written = manifests.write_dir(dir).map_err(anyhow::Error::from)?;
        for path in written {
            eprintln!("wrote {}", path.display());
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
fn checked(args: &InputArgs) -> Result<Checked, Failure> {
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
    print_findings(&report, args.format);
    let denied = args.deny_warnings && report.count(Severity::Warning) > 0;
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
