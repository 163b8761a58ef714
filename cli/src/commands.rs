//! What each command does: dispatch from the parsed arguments (`args.rs`) to library calls. No
//! business logic: this module only reads inputs, prints results and picks the exit code.
//!
//! Exit codes, the same for every command: 0 success, 1 the input is invalid (a spec, a preset
//! name, a KRM function's config), 2 usage or I/O error, 3 `diff` found changes that would be
//! rejected or are unsafe.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use tdgen::Source;
use tdgen::{Checked, Preset, Report, Request, Severity};

use crate::args::*;
use crate::integrations;
use crate::output::{Failure, Stream, err, out, write_to};

/// Run the CLI and map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout: a failed write there is an error too.
            let printed = e.print();
            if !e.use_stderr() && printed.is_err_and(|io| io.kind() != std::io::ErrorKind::BrokenPipe) {
                return ExitCode::from(2);
            }
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.command.json_findings();
    let result = run(cli);
    if result.is_err() {
        crate::interrupt::wait_if_interrupted();
    }
    match result {
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
        Some(tdgen::Error::Output { .. }) => "output-refused",
        _ => "error",
    };
    let finding = serde_json::json!([{ "severity": "error", "code": code, "path": "", "message": format!("{e:#}") }]);
    format!("{}\n", serde_json::to_string_pretty(&finding).unwrap_or_default())
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
        crate::interrupt::clean_up_on_interrupt();
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
        None => format!("preset {}", args.preset.as_deref().unwrap_or(tdgen::DEFAULT_PRESET)),
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
    let text = tdgen::read_limited(path)?;
    Ok(Some(Source {
        name: input_name(args),
        text: text.into(),
    }))
}
