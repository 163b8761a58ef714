//! The commands that plug tdgen into other tools: the kustomize exec plugin as kustomize runs
//! it (one argument, the spec's path; `KUSTOMIZE_PLUGIN_CONFIG_ROOT` set; objects on stdout),
//! shell completions and the man page. The plugin is also run by the real kustomize (kubectl
//! v1.37) in scripts/conformance.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Sandbox, render_request, request, spec};

fn tdgen(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tdgen"));
    command.args(args).env_remove("XDG_CONFIG_HOME");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("tdgen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_installed_plugin_renders_what_kustomize_hands_it() {
    let sandbox = Sandbox::new("kustomize-plugin", &[]);
    let config = sandbox.dir.join("xdg");
    let installed = tdgen(&["kustomize-plugin", "install"], &[("XDG_CONFIG_HOME", &config)]);
    assert_eq!(installed.status.code(), Some(0), "{}", text(&installed.stderr));
    let plugin = config.join("kustomize/plugin/tdgen/v1/tdenginecluster/TDengineCluster");
    assert!(
        text(&installed.stderr).contains(&plugin.display().to_string()),
        "it says where"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&plugin).expect("installed").permissions());
    assert_eq!(mode & 0o111, 0o111, "executable");
    let printed = tdgen(&["kustomize-plugin", "print"], &[]);
    assert_eq!(
        text(&printed.stdout),
        std::fs::read_to_string(&plugin).unwrap(),
        "print shows what install writes"
    );

    // As kustomize runs it: its copy of the spec as the one argument.
    let body = "metadata: {name: td}\nspec: {preset: ha, timezone: UTC}\n";
    sandbox.write("copy.yaml", &spec(body));
    let app = sandbox.dir.join("app");
    let run = Command::new(&plugin)
        .arg(sandbox.dir.join("copy.yaml"))
        .env("KUSTOMIZE_PLUGIN_CONFIG_ROOT", &app)
        .output()
        .expect("the plugin runs");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(text(&run.stdout), render_request(&request(body)).to_yaml().unwrap());

    sandbox.write("copy.yaml", &spec("spec: {dnodes: 0}\n"));
    let refused = Command::new(&plugin)
        .arg(sandbox.dir.join("copy.yaml"))
        .env("KUSTOMIZE_PLUGIN_CONFIG_ROOT", &app)
        .output()
        .expect("the plugin runs");
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty(), "no objects from an invalid spec");
    let findings = text(&refused.stderr);
    assert!(findings.contains("dnodes-range"), "{findings}");
    assert!(
        findings.contains(&format!("kustomization in {}", app.display())),
        "names the kustomization: {findings}"
    );
}

#[test]
fn the_plugin_root_can_be_given_and_the_command_chosen() {
    let sandbox = Sandbox::new("kustomize-plugin-dir", &[]);
    let root = sandbox.dir.join("plugins");
    let root_arg = root.display().to_string();
    let out = tdgen(
        &["kustomize-plugin", "install", "--dir", &root_arg, "--command", "tdgen"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = std::fs::read_to_string(root.join("tdgen/v1/tdenginecluster/TDengineCluster")).expect("installed");
    assert!(
        script.contains("exec 'tdgen' kustomize-plugin generate \"$@\""),
        "{script}"
    );
    let nowhere = Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(["kustomize-plugin", "install"])
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("HOME")
        .output()
        .expect("runs");
    assert_eq!(nowhere.status.code(), Some(2), "no place to install is a usage error");
    assert!(text(&nowhere.stderr).contains("--dir"), "{}", text(&nowhere.stderr));
}

#[test]
fn completions_are_scripts_the_shells_read() {
    let bash = tdgen(&["completion", "bash"], &[]);
    assert_eq!(bash.status.code(), Some(0));
    let sandbox = Sandbox::new("completion", &[]);
    sandbox.write("tdgen.bash", &text(&bash.stdout));
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(sandbox.dir.join("tdgen.bash"))
        .output()
        .expect("bash");
    assert!(syntax.status.success(), "{}", text(&syntax.stderr));
    let loaded = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p tdgen",
            sandbox.dir.join("tdgen.bash").display()
        ))
        .output()
        .expect("bash");
    assert!(
        text(&loaded.stdout).contains("tdgen"),
        "bash registers the completion: {}",
        text(&loaded.stderr)
    );
    for (shell, marker) in [
        ("zsh", "#compdef tdgen"),
        ("fish", "complete -c tdgen"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        let out = tdgen(&["completion", shell], &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains(marker), "{shell}: {}", text(&out.stdout));
        for command in ["render", "kustomize-plugin", "krm"] {
            assert!(text(&out.stdout).contains(command), "{shell} completes {command}");
        }
    }
}

#[test]
fn the_man_page_documents_every_command() {
    let out = tdgen(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(page.contains(".TH tdgen 1"), "{page}");
    for command in [
        "render",
        "validate",
        "diff",
        "plan",
        "krm",
        "kustomize\\-plugin",
        "completion",
        "Exit codes",
    ] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
}

/// Each subcommand's own help opens with the summary the top-level help lists for it, however
/// its arguments are declared to clap (deferred ones included).
#[test]
fn every_subcommand_help_opens_with_its_listed_summary() {
    let top = text(&tdgen(&["--help"], &[]).stdout);
    let listed: Vec<(&str, &str)> = top
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("the top-level help lists the commands")
        .lines()
        // A name line is indented two spaces; a wrapped summary's next lines, further.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.trim().split_once(' '))
        .map(|(name, summary)| (name, summary.trim()))
        .filter(|(name, _)| *name != "help")
        .collect();
    assert!(listed.len() >= 10, "{top}");
    for (name, summary) in listed {
        let own = text(&tdgen(&[name, "--help"], &[]).stdout);
        let first = own.lines().next().unwrap_or_default();
        // The list may wrap a long summary; its first line is a prefix of the help's.
        assert!(
            first.starts_with(summary),
            "`tdgen {name} --help` opens with {first:?}, listed as {summary:?}"
        );
    }
}

#[test]
fn help_shows_examples_and_exit_codes() {
    for args in [
        &["--help"][..],
        &["render", "--help"],
        &["diff", "--help"],
        &["krm", "--help"],
        &["validate", "--help"],
    ] {
        let out = tdgen(args, &[]);
        let help = text(&out.stdout);
        assert!(help.contains("Example"), "{args:?}: {help}");
        assert!(help.contains("Exit codes"), "{args:?}: {help}");
    }
}
