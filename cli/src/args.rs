//! The command line: clap's types for every command and argument, their help text and
//! examples. What each command does is in `commands.rs`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::output::Stream;

pub(crate) const MAIN_HELP: &str = "Examples:
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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
        #[arg(long, default_value = tdgen::DEFAULT_PRESET)]
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
pub(crate) struct Deferred<T>(pub(crate) T);

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

pub(crate) const EXPLAIN_HELP: &str = "Examples:
  tdgen explain -f cluster.yaml
  tdgen explain -f cluster.yaml --format mermaid >> docs/cluster.md   (GitHub draws it)
  tdgen explain -f cluster.yaml --format dot | dot -Tsvg > cluster.svg

Exit codes: 0 explained; 1 the spec is invalid; 2 usage or I/O error.";

pub(crate) const RENDER_HELP: &str = "Examples:
  tdgen render | kubectl apply --server-side -f -
  tdgen render -f cluster.yaml -n tsdb -o json
  tdgen render -f cluster.yaml --output-dir deploy/

Exit codes: 0 rendered; 1 the spec is invalid (every finding is printed); 2 usage or I/O error.";

pub(crate) const VALIDATE_HELP: &str = "Examples:
  tdgen validate -f cluster.yaml
  tdgen validate -f cluster.yaml --format json --deny-warnings   (JSON on stdout, for CI)

Exit codes: 0 valid; 1 invalid (or a warning, with --deny-warnings); 2 usage or I/O error.";

pub(crate) const PLAN_HELP: &str = "Examples:
  tdgen plan mnodes -f cluster.yaml > mnodes.sh && bash mnodes.sh
  tdgen plan scale --to 5 -f cluster.yaml --format markdown
  tdgen plan replace-dnode --ordinal 2 -f cluster.yaml > replace.sh && CONFIRM=<id> bash replace.sh
  tdgen plan config -f cluster.yaml --previous deploy/ > config.sh   (before applying the new render)
  tdgen plan password -f cluster.yaml --secret tdengine-root-2026:password > password.sh
  tdgen plan upgrade -f cluster.yaml --to 3.3.6.14 > upgrade.sh
  tdgen plan restore -f cluster.yaml --from 20261127T030000Z > restore.sh

Exit codes: 0 written; 1 the spec is invalid, or the runbook cannot apply to it; 2 usage or I/O error.";

pub(crate) const DIFF_HELP: &str = "Examples:
  tdgen diff -f cluster.yaml --previous deploy/
  git show HEAD:all.yaml > old.yaml && tdgen diff -f cluster.yaml --previous old.yaml --format json

Exit codes: 0 every change is safe; 1 the spec is invalid; 2 usage or I/O error (an unreadable
previous render included); 3 a change would be rejected or is unsafe.";

pub(crate) const KRM_HELP: &str =
    "Example (kustomize, with the spec annotated `config.kubernetes.io/function: {exec: {path: ./tdgen-krm}}`):
  kustomize build --enable-alpha-plugins --enable-exec .

Exit codes: 0 the objects were added to the list; 1 the function failed (its results say why);
2 the input could not be read.";

pub(crate) const PLUGIN_HELP: &str = "Examples:
  tdgen kustomize-plugin install
  kubectl kustomize --enable-alpha-plugins .     (with `generators: [cluster.yaml]`)

Exit codes: 0 done; 1 the spec is invalid (generate); 2 usage or I/O error.";

pub(crate) const COMPLETION_HELP: &str = "Examples:
  tdgen completion bash > ~/.local/share/bash-completion/completions/tdgen
  tdgen completion zsh > \"${fpath[1]}/_tdgen\"
  tdgen completion fish > ~/.config/fish/completions/tdgen.fish";

#[derive(Debug, Subcommand)]
pub(crate) enum PluginAction {
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
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) findings: FindingArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Plain text, or a picture: a Mermaid flowchart or a Graphviz digraph.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub(crate) format: ExplainFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    Text,
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FindingArgs {
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = FindingFormat::Text)]
    pub(crate) format: FindingFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    pub(crate) deny_warnings: bool,
}

impl FindingArgs {
    /// Text findings, warnings allowed.
    pub(crate) fn text() -> Self {
        FindingArgs {
            format: FindingFormat::Text,
            deny_warnings: false,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// Which runbook.
    #[arg(value_enum)]
    pub(crate) runbook: RunbookName,
    /// Target number of dnodes (`scale`), or the image tag to upgrade to (`upgrade`).
    #[arg(long, required_if_eq_any([("runbook", "scale"), ("runbook", "upgrade")]))]
    pub(crate) to: Option<String>,
    /// The StatefulSet ordinal of the lost dnode (`replace-dnode` only).
    #[arg(long, required_if_eq("runbook", "replace-dnode"))]
    pub(crate) ordinal: Option<u32>,
    /// The render the cluster runs now: a YAML stream, a JSON List or an --output-dir
    /// (`config` only).
    #[arg(long, value_name = "OLD", required_if_eq("runbook", "config"))]
    pub(crate) previous: Option<PathBuf>,
    /// The Secret holding the new root password, and its key (default `password`)
    /// (`password` only).
    #[arg(long, value_name = "NAME[:KEY]", required_if_eq("runbook", "password"))]
    pub(crate) secret: Option<String>,
    /// The backup to restore: a directory name on the backup volume, such as
    /// 20261127T030000Z (`restore` only).
    #[arg(long, value_name = "BACKUP", required_if_eq("runbook", "restore"))]
    pub(crate) from: Option<String>,
    /// Bash script (default) or Markdown checklist.
    #[arg(long, value_enum, default_value_t = PlanFormat::Shell)]
    pub(crate) format: PlanFormat,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunbookName {
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
pub(crate) enum PlanFormat {
    Shell,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The previous render: a YAML stream, a JSON List, or an --output-dir.
    #[arg(long, value_name = "OLD")]
    pub(crate) previous: PathBuf,
    /// This is the cluster's first render: a missing or empty OLD means nothing is deployed yet.
    #[arg(long)]
    pub(crate) allow_new: bool,
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// `--format json` prints the changes (and any findings) as JSON.
    #[command(flatten)]
    pub(crate) findings: FindingArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PresetAction {
    /// Print a preset's YAML layer.
    Show {
        /// Preset name.
        name: String,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct InputArgs {
    /// Spec file (`-` for stdin). Without it, the preset alone is used.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Preset to start from (overrides spec.preset).
    #[arg(long)]
    pub(crate) preset: Option<String>,
    /// Override one value: PATH=VALUE, e.g. spec.dnodes=5 (repeatable; later wins).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) sets: Vec<String>,
    /// Namespace to pin on every object (same as --set metadata.namespace=NS).
    #[arg(short = 'n', long)]
    pub(crate) namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) findings: FindingArgs,
    /// Output format for stdout.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Yaml, conflicts_with = "output_dir")]
    pub(crate) output: OutputFormat,
    /// Write one file per object group plus a kustomization (`Kustomization`) into DIR instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub(crate) output_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FindingFormat {
    Text,
    Json,
}

impl Command {
    /// Where `--format json` findings go, when the command prints them as JSON: stdout for the
    /// commands whose output they are (`validate`, `diff`), stderr next to manifests.
    pub(crate) fn json_findings(&self) -> Option<Stream> {
        let (format, stream) = match self {
            Command::Validate(Deferred(args)) => (args.findings.format, Stream::Out),
            Command::Diff(Deferred(args)) => (args.findings.format, Stream::Out),
            Command::Render(Deferred(args)) => (args.findings.format, Stream::Err),
            _ => return None,
        };
        (format == FindingFormat::Json).then_some(stream)
    }
}
