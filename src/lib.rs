//! tdgen renders production-grade Kubernetes manifests for a TDengine 3.x cluster from a
//! typed, validated spec. It never talks to a cluster.
//!
//! The pipeline, one module per stage ("layer" is the spec's layering, defaults < preset <
//! file < `--set`; the modules' order is their "levels"):
//!
//! ```text
//! spec text ─► layer (parse + merge: defaults < preset < file < --set) ─► validate (all findings)
//!           ─► model (ValidSpec) ─► blueprint (names, FQDNs, env order) ─► build (typed k8s-openapi
//!              objects) ─► emit (bytes, files)          explain, runbook, diff: from the blueprint
//! ```
//!
//! Levels, lowest first. A module uses only modules before it in this list (a test reads
//! `src/` and holds every `use` to it), so the graph is one-way and no module imports one
//! that imports it back:
//!
//! ```text
//! tdengine                                      (every TDengine fact, with its source)
//! source  error  capped  suggest  quantity  cron  yaml  input  templates  prometheus  (foundations)
//! spec  preset  fields  layer                   (reading the input)
//! model  validate                               (the validated model, and the rules that make it)
//! blueprint  emit  build  pipeline              (deriving, the manifests, the whole run)
//! explain  diff  runbook  fleet  krm  kustomize (read off a blueprint, fleets, integrations)
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

mod blueprint;
mod build;
mod capped;
mod cron;
pub mod diff;
mod emit;
mod error;
pub mod explain;
mod fields;
pub mod fleet;
mod input;
pub mod krm;
pub mod kustomize;
mod layer;
mod model;
mod pipeline;
mod preset;
pub mod prometheus;
mod quantity;
pub mod runbook;
mod source;
mod spec;
mod suggest;
pub mod tdengine;
mod templates;
mod validate;
mod yaml;

pub use emit::dir::{Written, remove_unfinished_files};
pub use emit::{Manifest, Manifests, to_yaml_stream, to_yaml_string};
pub use error::{Error, Finding, Report, Severity};
pub use input::read_limited;
pub use layer::{Loaded, Request, load};
pub use model::ValidSpec;
pub use pipeline::{Checked, check, json_schema, render, render_str, starter_spec};
pub use preset::{DEFAULT_PRESET, Preset};
pub use source::Source;
pub use spec::{KIND, SCHEMA_ID, Spec};
pub use validate::validate;
