//! Command-line parsing (clap) and dispatch. No business logic: every command is a library
//! call, and this module only reads inputs, prints results and picks the exit code.
//!
//! Exit codes, the same for every command: 0 success, 1 the input is invalid (a spec, a preset
//! name, a KRM function's config), 2 usage or I/O error, 3 `diff` found changes that would be
//! rejected or are unsafe.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use tdgen::source::Source;
use tdgen::{Checked, Preset, Report, Request, Severity};

use crate::integrations;
use crate::output::{Failure, Stream, err, out, write_to};

const MAIN_HELP: &str = "Examples:
  tdgen render | kubectl apply --server-side -f -      the TDengine doc's cluster, made correct
  tdgen init --preset production > cluster.yaml        a commented spec to edit
  tdgen render -f cluster.yaml --output-dir deploy/    one file per kind, for GitOps
  tdgen diff -f cluster.yaml --previous deploy/        what changing the spec would do
  tdgen plan scale --to 5 -f cluster.yaml > scale.sh   the reviewed day-2 script

Exit codes: 0 success; 1 the input is invalid (a spec, a preset name, a KRM function's config);
2 usage or I/O error; 3 `tdgen diff` found changes that would be rejected or are unsafe.";

/// Render production-grade Kubernetes manifests for a TDengine 3.x cluster.
#[derive(Debug, Parser)]
#[command(name = "tdgen", version, about, long_about = None, after_help = MAIN_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the cluster's manifests (stdout, or --output-dir).
    #[command(after_help = RENDER_HELP)]
    Render(Deferred<RenderArgs>),
    /// Check a spec and print every finding.
    #[command(after_help = VALIDATE_HELP)]
    Validate(Deferred<CheckArgs>),
    /// Print the JSON Schema of the spec.
    #[command(after_help = "Example:\n  tdgen schema > tdengine-cluster.schema.json")]
    Schema,
    /// Print a commented starter spec.
    #[command(after_help = "Example:\n  tdgen init --preset production > cluster.yaml")]
    Init {
        /// Preset to start from.
        #[arg(long, default_value = tdgen::preset::DEFAULT_PRESET)]
        preset: String,
    },
    /// List the built-in presets, or show one.
    #[command(after_help = "Examples:\n  tdgen presets\n  tdgen presets show ha")]
    Presets {
        #[command(subcommand)]
        action: Option<PresetAction>,
    },
    /// Write a day-2 runbook (bash, or a Markdown checklist) with the cluster's real names.
    #[command(after_help = PLAN_HELP)]
    Plan(Deferred<PlanArgs>),
    /// Compare previously rendered manifests with a new render: rejected, unsafe or safe.
    #[command(after_help = DIFF_HELP)]
    Diff(Deferred<DiffArgs>),
    /// Summarise a spec: FQDNs, mnodes, failures survived, storage, how clients connect.
    #[command(after_help = EXPLAIN_HELP)]
    Explain(Deferred<ExplainArgs>),
    /// Run as a KRM function: a ResourceList on stdin (the spec as its functionConfig), a
    /// ResourceList on stdout with the objects and every finding as a result.
    #[command(after_help = KRM_HELP)]
    Krm,
    /// The kustomize exec plugin for specs listed under a kustomization's `generators:`.
    #[command(name = "kustomize-plugin", subcommand, after_help = PLUGIN_HELP)]
    KustomizePlugin(PluginAction),
    /// Print a shell completion script.
    #[command(after_help = COMPLETION_HELP)]
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(after_help = "Example:\n  tdgen man > tdgen.1 && man -l tdgen.1")]
    Man,
}

/// A subcommand's arguments, declared to clap only when that subcommand is the one being run.
///
/// clap's derive builds every subcommand's arguments before it looks at the command line: ~80 KB
/// of straight-line builder code and ~80 KB of heap that a `tdgen render` never reads, paid
/// cold on every run. `Command::defer` postpones them until the subcommand is matched (or until
/// help, completions or the man page build the whole tree, which resolves every deferral).
#[derive(Debug)]
struct Deferred<T>(T);

impl<T: clap::Args> clap::Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_args)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_args_for_update)
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }

    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

const EXPLAIN_HELP: &str = "Examples:
  tdgen explain -f cluster.yaml
  tdgen explain -f cluster.yaml --format mermaid >> docs/cluster.md   (GitHub draws it)
  tdgen explain -f cluster.yaml --format dot | dot -Tsvg > cluster.svg

Exit codes: 0 explained; 1 the spec is invalid; 2 usage or I/O error.";

const RENDER_HELP: &str = "Examples:
  tdgen render | kubectl apply --server-side -f -
  tdgen render -f cluster.yaml -n tsdb -o json
  tdgen render -f cluster.yaml --output-dir deploy/

Exit codes: 0 rendered; 1 the spec is invalid (every finding is printed); 2 usage or I/O error.";

const VALIDATE_HELP: &str = "Examples:
  tdgen validate -f cluster.yaml
  tdgen validate -f cluster.yaml --format json --deny-warnings   (JSON on stdout, for CI)

Exit codes: 0 valid; 1 invalid (or a warning, with --deny-warnings); 2 usage or I/O error.";

const PLAN_HELP: &str = "Examples:
  tdgen plan mnodes -f cluster.yaml > mnodes.sh && bash mnodes.sh
  tdgen plan scale --to 5 -f cluster.yaml --format markdown
  tdgen plan replace-dnode --ordinal 2 -f cluster.yaml > replace.sh && CONFIRM=<id> bash replace.sh
  tdgen plan config -f cluster.yaml --previous deploy/ > config.sh   (before applying the new render)
  tdgen plan password -f cluster.yaml --secret tdengine-root-2026:password > password.sh
  tdgen plan upgrade -f cluster.yaml --to 3.3.6.14 > upgrade.sh
  tdgen plan restore -f cluster.yaml --from 20261127T030000Z > restore.sh

Exit codes: 0 written; 1 the spec is invalid, or the runbook cannot apply to it; 2 usage or I/O error.";

const DIFF_HELP: &str = "Examples:
  tdgen diff -f cluster.yaml --previous deploy/
  git show HEAD:all.yaml > old.yaml && tdgen diff -f cluster.yaml --previous old.yaml --format json

Exit codes: 0 every change is safe; 1 the spec is invalid; 2 usage or I/O error (an unreadable
previous render included); 3 a change would be rejected or is unsafe.";

const KRM_HELP: &str =
    "Example (kustomize, with the spec annotated `config.kubernetes.io/function: {exec: {path: ./tdgen-krm}}`):
  kustomize build --enable-alpha-plugins --enable-exec .

Exit codes: 0 the objects were added to the list; 1 the function failed (its results say why);
2 the input could not be read.";

const PLUGIN_HELP: &str = "Examples:
  tdgen kustomize-plugin install
  kubectl kustomize --enable-alpha-plugins .     (with `generators: [cluster.yaml]`)

Exit codes: 0 done; 1 the spec is invalid (generate); 2 usage or I/O error.";

const COMPLETION_HELP: &str = "Examples:
  tdgen completion bash > ~/.local/share/bash-completion/completions/tdgen
  tdgen completion zsh > \"${fpath[1]}/_tdgen\"
  tdgen completion fish > ~/.config/fish/completions/tdgen.fish";

#[derive(Debug, Subcommand)]
enum PluginAction {
    /// Write the plugin where kustomize looks for it
    /// ($XDG_CONFIG_HOME/kustomize/plugin/tdgen/v1/tdenginecluster/TDengineCluster).
    Install {
        /// The plugin root instead of $XDG_CONFIG_HOME/kustomize/plugin (or ~/.config/…).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The tdgen the plugin runs (default: this binary, by its absolute path).
        #[arg(long, value_name = "COMMAND")]
        command: Option<String>,
    },
    /// Print the plugin script instead of installing it.
    Print {
        /// The tdgen the plugin runs (default: this binary, by its absolute path).
        #[arg(long, value_name = "COMMAND")]
        command: Option<String>,
    },
    /// What the plugin runs: render the spec kustomize hands over.
    Generate {
        /// The spec (kustomize's copy of the generator's config).
        file: PathBuf,
    },
}

// An input plus how to report its findings. (No doc comment: clap would take it as the
// `validate` subcommand's summary, over the variant's own.)
#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    findings: FindingArgs,
}

#[derive(Debug, clap::Args)]
struct ExplainArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Plain text, or a picture: a Mermaid flowchart or a Graphviz digraph.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Mermaid,
    Dot,
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

impl FindingArgs {
    /// Text findings, warnings allowed.
    fn text() -> Self {
        FindingArgs {
            format: FindingFormat::Text,
            deny_warnings: false,
        }
    }
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Which runbook.
    #[arg(value_enum)]
    runbook: RunbookName,
    /// Target number of dnodes (`scale`), or the image tag to upgrade to (`upgrade`).
    #[arg(long, required_if_eq_any([("runbook", "scale"), ("runbook", "upgrade")]))]
    to: Option<String>,
    /// The StatefulSet ordinal of the lost dnode (`replace-dnode` only).
    #[arg(long, required_if_eq("runbook", "replace-dnode"))]
    ordinal: Option<u32>,
    /// The render the cluster runs now: a YAML stream, a JSON List or an --output-dir
    /// (`config` only).
    #[arg(long, value_name = "OLD", required_if_eq("runbook", "config"))]
    previous: Option<PathBuf>,
    /// The Secret holding the new root password, and its key (default `password`)
    /// (`password` only).
    #[arg(long, value_name = "NAME[:KEY]", required_if_eq("runbook", "password"))]
    secret: Option<String>,
    /// The backup to restore: a directory name on the backup volume, such as
    /// 20261127T030000Z (`restore` only).
    #[arg(long, value_name = "BACKUP", required_if_eq("runbook", "restore"))]
    from: Option<String>,
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
    ReplaceDnode,
    Config,
    Password,
    Upgrade,
    Restore,
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
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Yaml, conflicts_with = "output_dir")]
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
            Command::Validate(Deferred(args)) => (args.findings.format, Stream::Out),
            Command::Diff(Deferred(args)) => (args.findings.format, Stream::Out),
            Command::Render(Deferred(args)) => (args.findings.format, Stream::Err),
            _ => return None,
        };
        (format == FindingFormat::Json).then_some(stream)
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Render(Deferred(args)) => render(args),
        Command::Validate(Deferred(args)) => {
            if let Some(dir) = fleet_dir(&args.input) {
                let printing = fleet_printing(&args.findings, Stream::Out);
                let fleet = crate::fleet::checked(&dir, &template(&args.input), &printing)?;
                if !printing.json {
                    err(&format!(
                        "ok: {} specs under {} are valid\n",
                        fleet.members.len(),
                        dir.display()
                    ))?;
                }
                return Ok(());
            }
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
                return unknown_preset(&preset, "--preset");
            }
            out(&tdgen::starter_spec(&preset).context("rendering the starter spec")?)
        }
        Command::Plan(Deferred(args)) => plan(args),
        Command::Diff(Deferred(args)) => diff(args),
        Command::Explain(Deferred(args)) => {
            let checked = checked(&args.input, &FindingArgs::text(), Stream::Err)?;
            let valid = &checked.valid;
            out(&match args.format {
                ExplainFormat::Text => tdgen::explain::explain(valid).context("rendering the explanation")?,
                ExplainFormat::Mermaid => tdgen::explain::diagram(valid, tdgen::explain::DiagramFormat::Mermaid),
                ExplainFormat::Dot => tdgen::explain::diagram(valid, tdgen::explain::DiagramFormat::Dot),
            })
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
            None => unknown_preset(&name, "tdgen presets show NAME"),
        },
        Command::Krm => integrations::krm(),
        Command::KustomizePlugin(PluginAction::Install { dir, command }) => integrations::install_plugin(dir, command),
        Command::KustomizePlugin(PluginAction::Print { command }) => integrations::print_plugin(command),
        Command::KustomizePlugin(PluginAction::Generate { file }) => {
            let request = integrations::plugin_request(&file)?;
            render_request(&request, &FindingArgs::text())
        }
        Command::Completion { shell } => integrations::completion(shell, Cli::command()),
        Command::Man => integrations::man(Cli::command()),
    }
}

/// An unknown preset is an invalid input, as in `render`: the same finding (about the
/// argument that named it), exit 1.
fn unknown_preset(name: &str, argument: &str) -> Result<(), Failure> {
    let request = Request {
        preset: Some(name.to_owned()),
        ..Request::default()
    };
    if let Err(mut report) = tdgen::check(&request) {
        for finding in &mut report.findings {
            finding.path = argument.to_owned();
        }
        print_findings(&report, FindingFormat::Text, Stream::Err)?;
    }
    Err(Failure::Invalid)
}

fn plan(args: PlanArgs) -> Result<(), Failure> {
    let request = Request {
        file: read_input(&args.input)?,
        preset: args.input.preset.clone(),
        sets: args.input.sets.clone(),
        namespace: args.input.namespace.clone(),
    };
    let checked = check_request(&request, &FindingArgs::text(), Stream::Err, Print::Always)?;
    let planned = match args.runbook {
        RunbookName::Config => {
            let previous = args.previous.as_deref().context("plan config needs --previous OLD")?;
            let previous = tdgen::diff::read_previous(previous, false).context("reading the previous render")?;
            tdgen::runbook::plan_config(&checked.valid, &previous)
        }
        RunbookName::Password => {
            let secret = args
                .secret
                .as_deref()
                .context("plan password needs --secret NAME[:KEY]")?;
            let (name, key) = secret.split_once(':').unwrap_or((secret, "password"));
            let next = changed(
                &request,
                &[
                    format!("spec.rootPassword.secretName={name}"),
                    format!("spec.rootPassword.key={key}"),
                ],
            )?;
            tdgen::runbook::plan_password(&checked.valid, &next.valid)
        }
        RunbookName::Scale => {
            let to = args.to.as_deref().unwrap_or_default();
            let to = to
                .parse()
                .map_err(|_| anyhow::anyhow!("--to for `plan scale` is a number of dnodes, not `{to}`"))?;
            tdgen::runbook::plan(&checked.valid, tdgen::runbook::PlanKind::Scale { to })
        }
        RunbookName::Restore => {
            let from = args.from.as_deref().context("plan restore needs --from BACKUP")?;
            tdgen::runbook::plan_restore(&checked.valid, from)
        }
        RunbookName::Upgrade => {
            let tag = args.to.as_deref().context("plan upgrade needs --to TAG")?;
            let next = changed(&request, &[format!("spec.image.tag={tag}")])?;
            tdgen::runbook::plan_upgrade(&checked.valid, &next.valid)
        }
        RunbookName::ReplaceDnode => tdgen::runbook::plan(
            &checked.valid,
            tdgen::runbook::PlanKind::ReplaceDnode {
                ordinal: args.ordinal.unwrap_or_default(),
            },
        ),
        RunbookName::Mnodes => tdgen::runbook::plan(&checked.valid, tdgen::runbook::PlanKind::Mnodes),
        RunbookName::Teardown => tdgen::runbook::plan(&checked.valid, tdgen::runbook::PlanKind::Teardown),
        RunbookName::Verify => tdgen::runbook::plan(&checked.valid, tdgen::runbook::PlanKind::Verify),
        RunbookName::Adopt => tdgen::runbook::plan(&checked.valid, tdgen::runbook::PlanKind::Adopt),
    };
    match planned {
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

/// The same input with more `--set`s: the spec a runbook moves the cluster to.
fn changed(request: &Request, sets: &[String]) -> Result<Checked, Failure> {
    let mut next = request.clone();
    next.sets.extend_from_slice(sets);
    check_request(&next, &FindingArgs::text(), Stream::Err, Print::OnFailure)
}

fn diff(args: DiffArgs) -> Result<(), Failure> {
    if let Some(dir) = fleet_dir(&args.input) {
        return fleet_diff(&args, &dir);
    }
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

/// What `kustomize-plugin generate` prints: the YAML stream, findings on stderr.
fn render_request(request: &Request, findings: &FindingArgs) -> Result<(), Failure> {
    let checked = check_request(request, findings, Stream::Err, Print::Always)?;
    out(&tdgen::render(&checked.valid).to_yaml()?)
}

fn render(args: RenderArgs) -> Result<(), Failure> {
    if let Some(dir) = fleet_dir(&args.input) {
        let printing = fleet_printing(&args.findings, Stream::Err);
        let fleet = crate::fleet::checked(&dir, &template(&args.input), &printing)?;
        let json = matches!(args.output, OutputFormat::Json);
        return crate::fleet::render(&fleet, args.output_dir.as_deref(), json);
    }
    let checked = checked(&args.input, &args.findings, Stream::Err)?;
    let manifests = tdgen::render(&checked.valid);
    if let Some(dir) = &args.output_dir {
        let done = manifests.write_dir(dir).map_err(anyhow::Error::from)?;
        for path in &done.written {
            err(&format!("wrote {}\n", path.display()))?;
        }
        for path in &done.unchanged {
            err(&format!("unchanged {}\n", path.display()))?;
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

/// The directory `-f` names, when it names one: the input is a fleet.
fn fleet_dir(args: &InputArgs) -> Option<PathBuf> {
    args.file.as_ref().filter(|f| f.is_dir()).cloned()
}

/// What every spec of a fleet shares: the flags.
fn template(args: &InputArgs) -> Request {
    Request {
        file: None,
        preset: args.preset.clone(),
        sets: args.sets.clone(),
        namespace: args.namespace.clone(),
    }
}

fn fleet_printing(findings: &FindingArgs, json_stream: Stream) -> crate::fleet::Printing {
    crate::fleet::Printing {
        json: findings.format == FindingFormat::Json,
        json_stream,
        deny_warnings: findings.deny_warnings,
        when_valid: true,
    }
}

/// `diff -f DIR --previous OUT`: every cluster against its directory in the previous tree.
fn fleet_diff(args: &DiffArgs, dir: &std::path::Path) -> Result<(), Failure> {
    let json = args.findings.format == FindingFormat::Json;
    let printing = crate::fleet::Printing {
        when_valid: !json,
        ..fleet_printing(&args.findings, Stream::Out)
    };
    let fleet = crate::fleet::checked(dir, &template(&args.input), &printing)?;
    let changes = fleet.diff(&args.previous, args.allow_new)?;
    let invocation = tdgen::diff::Invocation {
        input: input_flags(&args.input),
        previous: tdgen::diff::shell_word(&args.previous.display().to_string()),
    };
    if json {
        let clusters: serde_json::Map<String, serde_json::Value> = changes
            .clusters
            .iter()
            .map(|(cluster, report)| {
                let value = serde_json::from_str(&report.to_json(&invocation)).unwrap_or_default();
                (cluster.clone(), value)
            })
            .collect();
        let files = crate::fleet::findings_json(&fleet);
        let value = serde_json::json!({ "clusters": clusters, "removed": changes.removed, "files": files });
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ))?;
    } else {
        let mut text = String::new();
        for (cluster, report) in &changes.clusters {
            text.push_str(&format!("== {cluster}\n{}", report.render(&invocation)));
        }
        for cluster in &changes.removed {
            text.push_str(&format!(
                "== {cluster}\nunsafe   the cluster's spec is gone: applying the fleet with pruning deletes its StatefulSet, and its PVCs with whenDeleted: Delete\n         remedy: put the spec back, or tear the cluster down on purpose (`tdgen plan teardown` with its last spec)\n"
            ));
        }
        out(&text)?;
    }
    if changes.is_blocking() {
        Err(Failure::Blocking)
    } else {
        Ok(())
    }
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
    check_request(&request, findings, json_stream, print)
}

/// Check a request, print its findings as asked, and fail on errors (or warnings with
/// --deny-warnings).
fn check_request(
    request: &Request,
    findings: &FindingArgs,
    json_stream: Stream,
    print: Print,
) -> Result<Checked, Failure> {
    let (result, report) = match tdgen::check(request) {
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
    if path.is_dir() {
        anyhow::bail!(
            "{} is a directory: `render`, `validate` and `diff` take a fleet (-f DIR); this command takes one spec",
            path.display()
        );
    }
    let text = tdgen::input::read_limited(path)?;
    Ok(Some(Source {
        name: input_name(args),
        text: text.into(),
    }))
}
