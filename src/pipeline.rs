//! The whole pipeline in one call each: `check` (load, merge and validate) and `render` (plan
//! and build), with the starter spec and the schema; `lib.rs` re-exports them.

use crate::blueprint::Blueprint;
use crate::emit::Manifests;
use crate::error::{Error, Finding, Report};
use crate::layer::{Loaded, Request};
use crate::model::ValidSpec;
use crate::validate::validate;

/// A spec that passed validation, with the warnings it still carries.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The validated spec.
    pub valid: ValidSpec,
    /// Warnings (no errors), located in their source texts.
    pub report: Report,
    /// The merged input it came from.
    pub loaded: Loaded,
}

/// Load, merge and validate a request. Fails with every error and warning found.
///
/// Every finding comes back at once: a field that cannot be read (unknown, or of the wrong
/// type) is reported and left out, and every other value is still checked.
pub fn check(request: &Request) -> Result<Checked, Report> {
    let (loaded, mut findings, sources) = crate::layer::load_partial(request);
    let reading_failed = findings.iter().any(Finding::is_error);
    let validation = validate(&loaded.spec);
    findings.extend(validation.findings.into_iter().filter(|f| !loaded.about_unreadable(f)));
    // Before any is located or rendered: those steps cost per finding.
    let mut findings = crate::capped::cap(findings);
    findings.sort_by_key(|f| f.severity);
    let mut report = loaded.report(findings);
    report.sources = sources;
    match validation.valid {
        Some(valid) if !reading_failed => Ok(Checked { valid, report, loaded }),
        _ => Err(report),
    }
}

/// Render the manifests of a validated spec.
pub fn render(spec: &ValidSpec) -> Manifests {
    crate::build::build(&Blueprint::new(spec))
}

/// Validate and render one spec text in one call; warnings are dropped.
pub fn render_str(spec_yaml: &str) -> Result<Manifests, Error> {
    let checked = check(&Request::from_text("<spec>", spec_yaml))?;
    Ok(render(&checked.valid))
}

/// The JSON Schema of the spec, for editors and CI.
pub fn json_schema() -> schemars::Schema {
    crate::spec::json_schema()
}

/// The spec fields the starter template does not write (resources, anti-affinity, the
/// password Secret, …) that the preset sets, as YAML lines indented under `spec:`, so the
/// starter shows everything the preset decides.
fn preset_extras(preset_spec: &serde_json::Value) -> String {
    const IN_TEMPLATE: [&str; 11] = [
        "image",
        "dnodes",
        "mnodes",
        "timezone",
        "clusterDomain",
        "serverPort",
        "service",
        "storage",
        "podManagementPolicy",
        "probes",
        "config",
    ];
    let Some(fields) = preset_spec.as_object() else {
        return String::new();
    };
    let extras: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter(|(key, _)| !IN_TEMPLATE.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if extras.is_empty() {
        return String::new();
    }
    let text = crate::yaml::to_string(&extras).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(|line| format!("  {line}")).collect();
    lines.join("\n")
}

/// A commented starter spec with the given preset's values filled in.
pub fn starter_spec(preset: &str) -> Result<String, Error> {
    let checked = check(&Request {
        preset: Some(preset.to_owned()),
        ..Request::default()
    })?;
    let v = &checked.valid;
    let preset_spec = crate::preset::Preset::find(preset)
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p.values()).ok())
        .and_then(|values| values.get("spec").cloned())
        .unwrap_or_default();
    let context = serde_json::json!({
        "preset": preset,
        "name": v.name,
        "repository": v.repository,
        "tag": v.tag,
        "pull_policy": v.pull_policy.as_str(),
        "dnodes": v.dnodes,
        "mnodes": v.mnodes,
        "timezone": v.timezone,
        "cluster_domain": v.cluster_domain,
        "server_port": v.server_port,
        "service_name": v.service_name,
        "data_size": v.data_size,
        "storage_class": v.data_storage_class,
        "pod_management_policy": v.pod_management_policy.as_str(),
        "startup": v.startup_probe,
        "readiness": v.readiness_probe,
        "liveness": v.liveness_probe,
        // The preset's own parameters, not those tdgen derives from other fields (monitoring).
        "config": v.config.iter().filter(|(key, _)| preset_spec.pointer(&format!("/config/{key}")).is_some()).collect::<std::collections::BTreeMap<_, _>>(),
        "namespace": v.namespace,
        "logs_size": preset_spec.pointer("/storage/logs/size"),
        "preset_extras": preset_extras(&preset_spec),
    });
    crate::templates::render("init.yaml.j2", context)
}
