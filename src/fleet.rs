//! Fleets: every spec under a directory checked and rendered in one run (in parallel, in a
//! deterministic order), with the checks no single render can make — two specs for one
//! cluster, two clusters whose objects share a name in one namespace, a spec that does not pin
//! its namespace — and the fleet's output tree, `OUT/<namespace>/<name>/`, under one
//! kustomization.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::diff::{DiffReport, Previous};
use crate::emit::{KUSTOMIZATION, LEGACY_KUSTOMIZATION, Manifests, dir};
use crate::error::{Error, Finding, Report};
use crate::layer::Request;
use crate::pipeline::{Checked, check, render};

/// One spec of a fleet: its file, and what checking it gave. Its manifests are rendered when
/// they are written ([`Fleet::clusters`]), a cluster at a time, so a fleet of thousands holds
/// one cluster's objects at once, not all of them.
#[derive(Debug, Clone)]
pub struct Member {
    /// The spec's file, as found under the fleet's directory.
    pub file: String,
    /// The checked spec, or every finding that refused it.
    pub outcome: Result<Checked, Report>,
    /// The kind and name of every object the spec renders (for the checks across clusters).
    objects: Vec<(&'static str, String)>,
}

/// A checked fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Every spec, in the order of their files.
    pub members: Vec<Member>,
    /// Findings across specs, each located in the spec it is about, with the file it is in.
    pub conflicts: Vec<(String, Finding)>,
}

/// Every `*.yaml` / `*.yml` file under `dir`, recursively, in sorted order (hidden files and
/// directories are skipped, and so are links to directories; a link to a file is read).
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|error| Error::Io {
            path: current.clone(),
            error,
        })?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden {
                continue;
            }
            // A link to a directory is never followed (a loop, or a link to `/`, would walk
            // forever); a link to a spec file is read.
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_symlink() && path.is_dir() {
                continue;
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The requests of a fleet: each file read (with the size limit) into `template`, the flags
/// every spec shares (`--preset`, `--set`, `-n`).
pub fn read(files: &[PathBuf], template: &Request) -> Result<Vec<Request>, Error> {
    files
        .iter()
        .map(|file| {
            let text = crate::input::read_regular(file)?;
            Ok(Request {
                file: Some(crate::source::Source {
                    name: file.display().to_string(),
                    text: text.into(),
                }),
                ..template.clone()
            })
        })
        .collect()
}

/// Check and render every request on up to `threads` threads (at least one), then check the
/// fleet as a whole.
pub fn check_fleet(requests: &[Request], threads: usize) -> Fleet {
    let members = parallel(requests, threads, |request| {
        let file = request.file.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        let outcome = check(request);
        let objects = match &outcome {
            Ok(checked) => render(&checked.valid)
                .objects()
                .iter()
                .map(|object| (object.kind(), object.name().to_owned()))
                .collect(),
            Err(_) => Vec::new(),
        };
        Member { file, outcome, objects }
    });
    let conflicts = conflicts(&members);
    Fleet { members, conflicts }
}

/// `work` over every item on up to `threads` threads; the results keep the items' order.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, work(item)));
                    }
                    mine
                })
            })
            .collect();
        // A worker only panics on a tdgen bug; its items are then missing, not wrong.
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    for (i, result) in done.into_iter().flatten() {
        slots[i] = Some(result);
    }
    slots.into_iter().flatten().collect()
}

/// What each cluster claims: its namespace and name, and every object it renders.
fn conflicts(members: &[Member]) -> Vec<(String, Finding)> {
    let mut findings = Vec::new();
    let mut clusters: BTreeMap<(String, String), &str> = BTreeMap::new();
    let mut objects: BTreeMap<(String, &str, String), &str> = BTreeMap::new();
    for member in members {
        let Ok(checked) = &member.outcome else {
            continue;
        };
        let valid = &checked.valid;
        let at = |path: &str, finding: Finding| {
            let location = checked.loaded.locate(path);
            (member.file.clone(), Finding { location, ..finding })
        };
        let Some(namespace) = valid.namespace.clone() else {
            findings.push(at(
                "metadata.namespace",
                Finding::error(
                    "fleet-namespace-unpinned",
                    "metadata.namespace",
                    format!("cluster {} does not pin its namespace", valid.name),
                )
                .with_help("in a fleet each cluster is written to OUT/<namespace>/<name>/: set metadata.namespace"),
            ));
            continue;
        };
        if let Some(first) = clusters.insert((namespace.clone(), valid.name.clone()), &member.file) {
            findings.push(at(
                "metadata.name",
                Finding::error(
                    "fleet-duplicate-cluster",
                    "metadata.name",
                    format!("cluster {}/{} is also the spec in {first}", namespace, valid.name),
                )
                .with_help("one spec per cluster: merge the two, or rename one (metadata.name) or move it (metadata.namespace)"),
            ));
            continue;
        }
        for (kind, name) in &member.objects {
            let key = (namespace.clone(), *kind, name.clone());
            match objects.get(&key) {
                Some(first) if *first != member.file => findings.push(at(
                    "metadata.name",
                    Finding::error(
                        "fleet-object-collision",
                        "metadata.name",
                        format!(
                            "{kind} {namespace}/{name} is rendered for the cluster in {first} too: the two would overwrite each other"
                        ),
                    )
                    .with_help("rename one cluster (metadata.name) or its Service (spec.service.name), or move it to another namespace"),
                )),
                _ => {
                    objects.insert(key, &member.file);
                }
            }
        }
    }
    findings
}

impl Fleet {
    /// Whether any spec was refused or any conflict found.
    pub fn has_errors(&self) -> bool {
        self.members.iter().any(|m| m.outcome.is_err()) || self.conflicts.iter().any(|(_, f)| f.is_error())
    }

    /// Every finding, grouped by file in the fleet's order: each spec's own, then the
    /// conflicts found in it.
    pub fn reports(&self) -> Vec<(String, Report)> {
        self.members
            .iter()
            .map(|member| {
                let mut report = match &member.outcome {
                    Ok(checked) => checked.report.clone(),
                    Err(report) => report.clone(),
                };
                let mine = self.conflicts.iter().filter(|(file, _)| *file == member.file);
                report.findings.extend(mine.map(|(_, f)| f.clone()));
                (member.file.clone(), report)
            })
            .collect()
    }

    /// The checked clusters: (namespace, name, spec), in the fleet's order.
    fn valid(&self) -> impl Iterator<Item = (String, &crate::ValidSpec)> {
        self.members.iter().filter_map(|m| {
            let checked = m.outcome.as_ref().ok()?;
            Some((checked.valid.namespace.clone().unwrap_or_default(), &checked.valid))
        })
    }

    /// The rendered clusters: (namespace, name, manifests), in the fleet's order, each rendered
    /// as the iterator reaches it.
    pub fn clusters(&self) -> impl Iterator<Item = (String, String, Manifests)> {
        self.valid()
            .map(|(namespace, valid)| (namespace, valid.name.clone(), render(valid)))
    }

    /// Every cluster's objects as one YAML stream (the text [`Fleet::write_yaml`] writes).
    pub fn to_yaml(&self) -> Result<String, Error> {
        collect_text(|sink| self.write_yaml(sink))
    }

    /// Every cluster's objects as one YAML stream, handed to `sink` in pieces, in order: the
    /// clusters are rendered a batch at a time (in parallel), so memory stays at a batch's
    /// size whatever the fleet's.
    pub fn write_yaml<E: From<Error>>(&self, mut sink: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        sink(&format!("{}\n", dir::MARKER))?;
        let mut count = 0;
        self.in_batches(
            |manifests| crate::emit::to_yaml_stream(manifests.objects()).map(|text| (text, manifests.objects().len())),
            |(text, objects)| -> Result<(), E> {
                if objects > 0 && count > 0 {
                    sink("---\n")?;
                }
                count += objects;
                sink(&text)
            },
        )?;
        sink(&crate::emit::stream_end(count))
    }

    /// Every cluster's objects as one JSON `List`.
    pub fn to_json(&self) -> Result<String, Error> {
        collect_text(|sink| self.write_json(sink))
    }

    /// Every cluster's objects as one JSON `List` (pretty, as `serde_json` writes the whole
    /// list), handed to `sink` in pieces, a batch of clusters rendered at a time.
    pub fn write_json<E: From<Error>>(&self, mut sink: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        sink("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [")?;
        let mut count = 0;
        self.in_batches(
            |manifests| {
                let mut items = Vec::new();
                for object in manifests.objects() {
                    // Through a `Value`, as every JSON tdgen writes (one serializer compiled).
                    let json = serde_json::to_value(object)
                        .and_then(|value| serde_json::to_string_pretty(&value))
                        .map_err(|e| Error::Serialize {
                            what: "the fleet".into(),
                            message: e.to_string(),
                        })?;
                    // An item of the list's `items`, indented as the whole list would be.
                    items.push(json.lines().map(|line| format!("\n    {line}")).collect::<String>());
                }
                Ok(items)
            },
            |items| -> Result<(), E> {
                for item in items {
                    sink(if count == 0 { "" } else { "," })?;
                    sink(&item)?;
                    count += 1;
                }
                Ok(())
            },
        )?;
        sink(if count == 0 { "]\n}\n" } else { "\n  ]\n}\n" })
    }

    /// Render the clusters a batch at a time on every core, turn each into a piece with
    /// `piece`, and hand the pieces to `take` in the fleet's order.
    fn in_batches<P: Send, E: From<Error>>(
        &self,
        piece: impl Fn(&Manifests) -> Result<P, Error> + Sync,
        mut take: impl FnMut(P) -> Result<(), E>,
    ) -> Result<(), E> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let valid: Vec<&crate::ValidSpec> = self.valid().map(|(_, v)| v).collect();
        for batch in valid.chunks(BATCH) {
            for result in parallel(batch, threads, |valid| piece(&render(valid))) {
                take(result?)?;
            }
        }
        Ok(())
    }

    /// Write every cluster to `out/<namespace>/<name>/` (as `tdgen render --output-dir` writes
    /// one) and a kustomization (`Kustomization`) at the top listing them. Cluster directories tdgen wrote
    /// before whose spec is gone are left in place, and named in [`FleetWritten::stale`]:
    /// deleting them deletes clusters, which is the user's call.
    pub fn write_dir(&self, out: &Path) -> Result<FleetWritten, Error> {
        let _lock = dir::lock(out)?;
        let mut written = FleetWritten::default();
        let mut staged = Vec::new();
        let mut listed = Vec::new();
        let mut records = Vec::new();
        // Every cluster's files are written aside before any is renamed into place: a full
        // disk leaves the whole tree as it was.
        let mut places = self
            .valid()
            .map(|(namespace, valid)| format!("{namespace}/{}", valid.name));
        self.in_batches(Manifests::files, |files| -> Result<(), Error> {
            let relative = places.next().unwrap_or_default();
            if let Some((_, kustomization)) = files.last() {
                records.push((format!("{relative}/{KUSTOMIZATION}"), kustomization.clone()));
            }
            staged.push(dir::stage(&out.join(&relative), &files)?);
            listed.push(relative);
            Ok(())
        })?;
        let current: std::collections::BTreeSet<&String> = listed.iter().collect();
        written.stale = previous_clusters(out)?
            .into_iter()
            .filter(|c| !current.contains(c))
            .map(|c| out.join(c))
            .collect();
        let kustomization = fleet_kustomization(&listed, &dir::record(&records))?;
        staged.push(dir::stage(out, &[(KUSTOMIZATION.into(), kustomization)])?);
        let mut done = dir::commit_all(staged)?;
        written.top = done.pop().unwrap_or_default();
        written.clusters = listed.iter().map(|relative| out.join(relative)).zip(done).collect();
        Ok(written)
    }

    /// Compare every cluster with its directory in a previous fleet tree `out`: a cluster the
    /// tree lacks is new (safe); a cluster the tree has and the fleet no longer does is unsafe
    /// (applying the new tree with pruning deletes it, data included).
    pub fn diff(&self, out: &Path, allow_new: bool) -> Result<FleetDiff, Error> {
        let before = if let Some(path) = existing_kustomization(out) {
            let text = crate::input::read_regular(&path)?;
            dir::verify(out, &text).map_err(|reason| Error::Previous {
                path: out.to_owned(),
                reason: format!("{reason}; render the fleet again (from git) and diff against that"),
            })?;
            previous_clusters(out)?
        } else if allow_new {
            Vec::new()
        } else {
            return Err(Error::Previous {
                path: out.to_owned(),
                reason: "it has no fleet kustomization; render the fleet with `tdgen render -f DIR --output-dir OUT`, or pass --allow-new for the fleet's first render".into(),
            });
        };
        let listed: std::collections::BTreeSet<&String> = before.iter().collect();
        let valid: Vec<(String, &crate::ValidSpec)> = self
            .valid()
            .map(|(namespace, valid)| (format!("{namespace}/{}", valid.name), valid))
            .collect();
        // Reading the previous directories is most of the cost: spread over the cores.
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let reports = parallel(&valid, threads, |(cluster, spec)| {
            let report = if listed.contains(cluster) {
                crate::diff::diff_dir(&out.join(cluster), spec)?
            } else {
                crate::diff::diff(&Previous::default(), spec)
            };
            Ok::<_, Error>((cluster.clone(), report))
        });
        let mut diff = FleetDiff::default();
        for report in reports {
            diff.clusters.push(report?);
        }
        let current: std::collections::BTreeSet<&String> = valid.iter().map(|(c, _)| c).collect();
        diff.removed = before.iter().filter(|c| !current.contains(c)).cloned().collect();
        Ok(diff)
    }
}

/// Everything a `write_*` method hands its sink, as one string.
fn collect_text(
    write: impl FnOnce(&mut dyn FnMut(&str) -> Result<(), Error>) -> Result<(), Error>,
) -> Result<String, Error> {
    let mut text = String::new();
    write(&mut |chunk| {
        text.push_str(chunk);
        Ok(())
    })?;
    Ok(text)
}

/// How many clusters are rendered at once when a fleet is written: enough to keep every core
/// busy, few enough that memory stays far below the fleet's size.
const BATCH: usize = 256;

/// What [`Fleet::write_dir`] did.
#[derive(Debug, Clone, Default)]
pub struct FleetWritten {
    /// Each cluster's directory, and what was written into it.
    pub clusters: Vec<(PathBuf, dir::Written)>,
    /// The top-level kustomization.
    pub top: dir::Written,
    /// Cluster directories of an earlier render whose spec is gone (left in place).
    pub stale: Vec<PathBuf>,
}

/// The changes of a whole fleet.
#[derive(Debug, Clone, Default)]
pub struct FleetDiff {
    /// Each cluster (`namespace/name`) and its changes; a new cluster's objects are all new.
    pub clusters: Vec<(String, DiffReport)>,
    /// Clusters of the previous tree with no spec any more.
    pub removed: Vec<String>,
}

impl FleetDiff {
    /// Whether anything would be rejected or is unsafe (a removed cluster always is).
    pub fn is_blocking(&self) -> bool {
        !self.removed.is_empty() || self.clusters.iter().any(|(_, r)| r.is_blocking())
    }
}

/// The top-level kustomization of a fleet tree: one directory per cluster.
fn fleet_kustomization(clusters: &[String], record: &str) -> Result<String, Error> {
    let value = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": clusters,
    });
    let text = crate::emit::to_yaml_string(&value)?;
    Ok(format!(
        "{}\n{record}# A fleet: one directory per cluster, <namespace>/<name>/.\n{text}",
        dir::MARKER
    ))
}

/// The kustomization at the top of a fleet tree: tdgen's name for it, or the one older tdgen
/// wrote.
fn existing_kustomization(out: &Path) -> Option<PathBuf> {
    [KUSTOMIZATION, LEGACY_KUSTOMIZATION]
        .iter()
        .map(|name| out.join(name))
        .find(|path| path.exists())
}

/// The clusters a fleet tree lists in its top-level kustomization (none when there is none;
/// a kustomization tdgen did not write is refused).
fn previous_clusters(out: &Path) -> Result<Vec<String>, Error> {
    let Some(path) = existing_kustomization(out) else {
        return Ok(Vec::new());
    };
    let text = crate::input::read_regular(&path)?;
    let refuse = |reason: &str| Error::Previous {
        path: path.clone(),
        reason: reason.into(),
    };
    if !text.starts_with(dir::MARKER) {
        return Err(refuse("it is not a fleet kustomization tdgen wrote"));
    }
    let value: Value = crate::yaml::from_str(&text).map_err(|e| refuse(&e.message))?;
    Ok(value["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect())
}
