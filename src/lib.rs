//! tdgen renders production-grade Kubernetes manifests for a TDengine 3.x cluster from a
//! typed, validated spec. It never talks to a cluster.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! spec text ─► layer (parse + merge: defaults < preset < file < --set) ─► validate (all findings)
//!           ─► model (ValidSpec) ─► plan (names, FQDNs, env order) ─► build (typed k8s-openapi
//!              objects) ─► emit (bytes, files)          explain, runbook, diff: from the plan
//! ```
//!
//! Layers, lowest first. A module uses only modules before it in this list (a test reads
//! `src/` and holds every `use` to it), so the graph is one-way and no module imports one
//! that imports it back:
//!
//! ```text
//! tdengine                                      (every TDengine fact, with its source)
//! source  error  suggest  quantity  yaml  input  templates          (foundations)
//! spec  preset  fields  layer                   (reading the input)
//! model  validate                               (the validated model, and the rules that make it)
//! plan  emit  build                             (deriving, and the manifests)
//! explain  runbook  diff                        (what is read off a plan)
//! ```
//!
//! ```
//! let spec = "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {name: td, namespace: tsdb}\nspec: {dnodes: 3, timezone: UTC}\n";
//! let checked = tdgen::check(&tdgen::Request::from_text("spec.yaml", spec)).expect("valid spec");
//! let manifests = tdgen::render(&checked.valid);
//! let sts = manifests.statefulset().expect("a StatefulSet");
//! assert_eq!(sts.metadata.name.as_deref(), Some("td"));
//! let yaml = manifests.to_yaml().expect("serialisable");
//! assert!(yaml.contains("value: $(STS_NAME)-0.$(SERVICE_NAME).$(STS_NAMESPACE).svc.cluster.local:$(TAOS_SERVER_PORT)"));
//! ```
//!
//! The crate does not pick a Kubernetes API version for `k8s-openapi`: applications enable one
//! `k8s-openapi/v1_*` feature themselves (the `cli` feature, on by default, picks `v1_33`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod diff;
pub mod emit;
pub mod error;
pub mod explain;
mod fields;
pub mod input;
pub mod layer;
pub mod model;
pub mod plan;
pub mod preset;
pub mod quantity;
pub mod runbook;
pub mod source;
pub mod spec;
pub mod suggest;
pub mod tdengine;
mod templates;
pub mod validate;
mod yaml;

pub use emit::{Manifest, Manifests};
pub use error::{Error, Finding, Report, Severity};
pub use layer::{Loaded, Request, load};
pub use model::ValidSpec;
pub use plan::Plan;
pub use preset::Preset;
pub use spec::Spec;
pub use validate::validate;

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
    let (loaded, mut findings, sources) = layer::load_partial(request);
    let reading_failed = findings.iter().any(Finding::is_error);
    let validation = validate(&loaded.spec);
    findings.extend(validation.findings.into_iter().filter(|f| !loaded.about_unreadable(f)));
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
    build::build(&Plan::new(spec))
}

/// Validate and render one spec text in one call; warnings are dropped.
pub fn render_str(spec_yaml: &str) -> Result<Manifests, Error> {
    let checked = check(&Request::from_text("<spec>", spec_yaml))?;
    Ok(render(&checked.valid))
}

/// The JSON Schema of the spec, for editors and CI.
pub fn json_schema() -> schemars::Schema {
    spec::json_schema()
}

/// A commented starter spec with the given preset's values filled in.
pub fn starter_spec(preset: &str) -> Result<String, Error> {
    let checked = check(&Request {
        preset: Some(preset.to_owned()),
        ..Request::default()
    })?;
    let v = &checked.valid;
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
        "config": v.config,
    });
    templates::render("init.yaml.j2", context)
}
