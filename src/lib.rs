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
//! plan  emit  build  pipeline                   (deriving, the manifests, the whole run)
//! explain  diff  runbook  fleet  krm  kustomize (what is read off a plan, fleets, integrations)
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
pub mod fleet;
pub mod input;
pub mod krm;
pub mod kustomize;
pub mod layer;
pub mod model;
pub mod pipeline;
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
pub use pipeline::{Checked, check, json_schema, render, render_str, starter_spec};
pub use plan::Plan;
pub use preset::Preset;
pub use spec::Spec;
pub use validate::validate;
