//! The commands that plug tdgen into other tools: the KRM function, the kustomize exec plugin,
//! shell completions and the man page.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tdgen::Request;
use tdgen::Source;

use crate::output::{Failure, err, out};

/// `tdgen krm`: a `ResourceList` on stdin, a `ResourceList` on stdout; exit 1 when the spec is
/// refused (the reasons are the list's `results`, and a summary goes to stderr).
pub fn krm() -> Result<(), Failure> {
    // Raw bytes, one past the cap: the function answers a ResourceList whatever they are.
    let mut input = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), tdgen::krm::MAX_INPUT_BYTES + 1),
        &mut input,
    )
    .context("reading the ResourceList on stdin")?;
    let outcome = tdgen::krm::run_bytes(&input);
    out(&outcome.output)?;
    if outcome.success {
        Ok(())
    } else {
        err("tdgen krm: the function failed; its results say why\n")?;
        Err(Failure::Invalid)
    }
}

/// Write the kustomize exec plugin under `root` (kustomize's plugin root when not given).
pub fn install_plugin(root: Option<PathBuf>, command: Option<String>) -> Result<(), Failure> {
    let root = match root {
        Some(root) => root,
        None => tdgen::kustomize::plugin_root(
            std::env::var("XDG_CONFIG_HOME").ok().as_deref(),
            std::env::var("HOME").ok().as_deref(),
        )
        .context("neither XDG_CONFIG_HOME nor HOME is set: give the plugin root with --dir")?,
    };
    let command = plugin_command(command)?;
    crate::interrupt::clean_up_on_interrupt();
    let path = tdgen::kustomize::install(&root, &command)?;
    err(&format!(
        "wrote {}\nuse it with `kustomize build --enable-alpha-plugins` (or `kubectl kustomize --enable-alpha-plugins`) and a spec listed under `generators:`\n",
        path.display()
    ))
}

/// Print the plugin script (for images and machines set up by other means).
pub fn print_plugin(command: Option<String>) -> Result<(), Failure> {
    out(&tdgen::kustomize::plugin_script(&plugin_command(command)?))
}

/// What the plugin runs: the given command, or this very binary by its absolute path.
fn plugin_command(command: Option<String>) -> anyhow::Result<String> {
    match command {
        Some(command) => Ok(command),
        None => {
            let exe = std::env::current_exe().context("finding this tdgen binary (give --command)")?;
            Ok(exe.display().to_string())
        }
    }
}

/// What the plugin runs: render the spec kustomize read. kustomize hands over a re-written
/// temporary copy, so findings name the kustomization directory instead of that file.
pub fn plugin_request(file: &Path) -> anyhow::Result<Request> {
    let text = tdgen::read_limited(file)?;
    let root = std::env::var("KUSTOMIZE_PLUGIN_CONFIG_ROOT").unwrap_or_else(|_| ".".into());
    Ok(Request {
        file: Some(Source {
            name: format!("the {} generator of the kustomization in {root}", tdgen::KIND),
            text: text.into(),
        }),
        ..Request::default()
    })
}

/// A completion script for `shell`.
pub fn completion(shell: clap_complete::Shell, mut command: clap::Command) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "tdgen", &mut script);
    out(&String::from_utf8_lossy(&script))
}

/// The man page, in roff.
pub fn man(command: clap::Command) -> Result<(), Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("rendering the man page")?;
    out(&String::from_utf8_lossy(&page))
}
