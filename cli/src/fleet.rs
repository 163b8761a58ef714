//! `-f DIR`: every spec under a directory at once, for `render`, `validate` and `diff`.

use std::path::Path;

use tdgen::Request;
use tdgen::fleet::Fleet;

use crate::output::{Failure, Stream, err, out, write_to};

/// How the fleet's findings are printed, and where JSON goes.
pub struct Printing {
    /// JSON instead of text.
    pub json: bool,
    /// Where JSON findings go.
    pub json_stream: Stream,
    /// Warnings fail the run.
    pub deny_warnings: bool,
    /// Print the findings of a fleet that checks (`diff --format json` puts them in its own
    /// document instead: stdout holds one).
    pub when_valid: bool,
}

/// Read and check every spec under `dir`, print every finding, and fail when any spec (or the
/// fleet as a whole) is refused: nothing is rendered then.
pub fn checked(dir: &Path, template: &Request, printing: &Printing) -> Result<Fleet, Failure> {
    let files = tdgen::fleet::discover(dir)?;
    if files.is_empty() {
        return Err(anyhow::anyhow!("{}: no *.yaml or *.yml spec under it", dir.display()).into());
    }
    let requests = tdgen::fleet::read(&files, template)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fleet = tdgen::fleet::check_fleet(&requests, threads);
    let warned = fleet
        .reports()
        .iter()
        .any(|(_, r)| r.count(tdgen::Severity::Warning) > 0);
    let refused = fleet.has_errors() || (printing.deny_warnings && warned);
    if refused || printing.when_valid {
        print(&fleet, printing)?;
    }
    if refused {
        return Err(Failure::Invalid);
    }
    Ok(fleet)
}

/// The findings as JSON: every file's, under its name.
pub fn findings_json(fleet: &Fleet) -> serde_json::Value {
    let files: serde_json::Map<String, serde_json::Value> = fleet
        .reports()
        .iter()
        .map(|(file, report)| (file.clone(), serde_json::to_value(&report.findings).unwrap_or_default()))
        .collect();
    serde_json::Value::Object(files)
}

fn print(fleet: &Fleet, printing: &Printing) -> Result<(), Failure> {
    let reports = fleet.reports();
    if printing.json {
        let text =
            serde_json::to_string_pretty(&serde_json::json!({ "files": findings_json(fleet) })).unwrap_or_default();
        return write_to(printing.json_stream, &format!("{text}\n"));
    }
    for (_, report) in reports.iter().filter(|(_, r)| !r.findings.is_empty()) {
        err(&report.render())?;
    }
    let refused = fleet.members.iter().filter(|m| m.outcome.is_err()).count();
    let conflicts = fleet.conflicts.len();
    if refused + conflicts > 0 {
        err(&format!(
            "fleet: {} specs, {refused} refused, {conflicts} conflict(s) between specs; nothing was rendered\n",
            fleet.members.len()
        ))?;
    }
    Ok(())
}

/// `render -f DIR`: one stream, or the fleet tree.
pub fn render(fleet: &Fleet, output_dir: Option<&Path>, json: bool) -> Result<(), Failure> {
    let Some(dir) = output_dir else {
        // Written as it is rendered, a batch of clusters at a time: a fleet of thousands never
        // sits in memory whole.
        return if json {
            fleet.write_json(out)
        } else {
            fleet.write_yaml(out)
        };
    };
    crate::interrupt::clean_up_on_interrupt();
    let written = fleet.write_dir(dir)?;
    for (place, cluster) in &written.clusters {
        let mut line = format!("{}: {} written", place.display(), cluster.written.len());
        if !cluster.unchanged.is_empty() {
            line.push_str(&format!(", {} unchanged", cluster.unchanged.len()));
        }
        if !cluster.removed.is_empty() {
            line.push_str(&format!(", {} removed (no longer rendered)", cluster.removed.len()));
        }
        err(&format!("{line}\n"))?;
    }
    for path in &written.top.written {
        err(&format!("wrote {}\n", path.display()))?;
    }
    for stale in &written.stale {
        err(&format!(
            "kept {}: its spec is gone, so the fleet's kustomization no longer lists it; delete the directory to delete the cluster\n",
            stale.display()
        ))?;
    }
    Ok(())
}
