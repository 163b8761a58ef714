//! tdgen's one integration-test binary.
//!
//! - `support`: shared helpers (rendering fixtures, parsing streams back, kubelet expansion).
//! - `render`: golden snapshots, parse-back, determinism and the wiring properties.
//! - `cli`: the `tdgen` binary's commands, outputs and exit codes.
//! - `diagnostics`: the invalid-spec corpus and the findings' shape.
//! - `properties`: any string in any string field renders exactly or is rejected.
//! - `bootstrap`: the mnode bootstrap script against a fake `taos`.
//! - `production`: the production knobs: selectors, secrets, version-aware wiring.
//! - `runbooks`: `tdgen plan` scripts against fake `kubectl` and `curl`.
//! - `operations`: the runbooks for a lost dnode, live configuration and the root password,
//!   against the same fakes, including failures midway and re-runs.
//! - `diff_table`: the diff table's rows (shared with the API-server tier).
//! - `diffs`: `tdgen diff`, one case per class of change.
//! - `explain`: `tdgen explain`.
//! - `library`: the library as another crate uses it.
//! - `krm`: `tdgen krm` against the KRM Functions Specification and what kpt sends.
//! - `integrations`: the kustomize plugin, completions, the man page, help.
//! - `fleets`: `-f DIR` for render, validate and diff; conflicts between specs.
//! - `reliability`: output directories killed mid-write or written twice at once, what tdgen
//!   did not write, FIFOs and links in walks.
//! - `readme`: every example of the README and the manual, run as written.
//! - `reference`: the spec reference page is the JSON Schema.
//! - `structure`: the module graph is one-way, and the README's layout matches `src/`.

mod support;

mod diff_table;

mod bootstrap;
mod cli;
mod diagnostics;
mod diffs;
mod explain;
mod fleets;
mod integrations;
mod krm;
mod library;
mod monitoring;
mod operations;
mod production;
mod properties;
mod readme;
mod reference;
mod reliability;
mod render;
mod runbooks;
mod structure;
