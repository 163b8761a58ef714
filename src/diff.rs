//! `tdgen diff`: compare the previously rendered manifests (from git) with a new render and
//! classify every change: rejected by the API server, unsafe without a runbook, or safe.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::emit::Manifests;
use crate::error::Error;
use crate::version::Version;

/// How a change lands on a running cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeClass {
    /// The API server refuses it (immutable field).
    Rejected,
    /// Applies, but breaks the cluster unless a runbook is followed.
    Unsafe,
    /// Applies in place or by rolling update.
    Safe,
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Rejected, unsafe or safe.
    pub class: ChangeClass,
    /// `Kind/name` of the object.
    pub object: String,
    /// The field (or fields) that changed.
    pub field: String,
    /// What changed, in words.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// Every change between two renders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    /// The changes, most severe first.
    pub changes: Vec<Change>,
}

const STS_FORBIDDEN: &str = "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/// Read previously rendered manifests: a YAML stream, a JSON `List`, or an `--output-dir`.
pub fn read_previous(path: &Path) -> Result<Vec<Value>, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut files = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            let name = entry
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let manifest = [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext));
            if manifest && !name.starts_with("kustomization.") {
                files.push(entry);
            }
        }
    } else {
        files.push(path.to_owned());
    }
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        let documents: Vec<Value> = if text.trim_start().starts_with('{') {
            vec![serde_json::from_str(&text).map_err(|e| unreadable(&file, e.to_string()))?]
        } else {
            serde_saphyr::from_multiple(&text).map_err(|e| unreadable(&file, e.to_string()))?
        };
        for document in documents {
            match document.get("kind").and_then(Value::as_str) {
                Some("List") => objects.extend(document["items"].as_array().cloned().unwrap_or_default()),
                Some(_) => objects.push(document),
                None => {}
            }
        }
    }
    Ok(objects)
}

fn unreadable(path: &Path, message: String) -> Error {
    Error::Serialize {
        what: format!("previous manifests {}", path.display()),
        message,
    }
}

/// Compare the previous objects with the new render.
pub fn diff(previous: &[Value], current: &Manifests) -> DiffReport {
    let key = |v: &Value| {
        format!(
            "{}/{}",
            v["kind"].as_str().unwrap_or("?"),
            v["metadata"]["name"].as_str().unwrap_or("?")
        )
    };
    let old: BTreeMap<String, &Value> = previous.iter().map(|v| (key(v), v)).collect();
    let new_values: Vec<Value> = current
        .objects()
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect();
    let new: BTreeMap<String, &Value> = new_values.iter().map(|v| (key(v), v)).collect();
    let mut changes = Vec::new();
    for (object, before) in &old {
        match new.get(object) {
            Some(after) => compare(object, before, after, &mut changes),
            None => changes.push(Change {
                class: ChangeClass::Safe,
                object: object.clone(),
                field: String::new(),
                message: "no longer rendered".into(),
                remedy: Some("`kubectl apply` leaves it in place: delete it, or let your GitOps tool prune it".into()),
            }),
        }
    }
    for object in new.keys().filter(|k| !old.contains_key(*k)) {
        changes.push(Change {
            class: ChangeClass::Safe,
            object: object.clone(),
            field: String::new(),
            message: "new object".into(),
            remedy: None,
        });
    }
    changes.sort_by(|a, b| (a.class, &a.object).cmp(&(b.class, &b.object)));
    DiffReport { changes }
}

fn compare(object: &str, before: &Value, after: &Value, changes: &mut Vec<Change>) {
    let mut push = |class, field: &str, message: String, remedy: Option<String>| {
        changes.push(Change {
            class,
            object: object.to_owned(),
            field: field.to_owned(),
            message,
            remedy,
        });
    };
    if before["metadata"]["namespace"] != after["metadata"]["namespace"] {
        push(
            ChangeClass::Unsafe,
            "metadata.namespace",
            format!("namespace {} → {}", show(&before["metadata"]["namespace"]), show(&after["metadata"]["namespace"])),
            Some("every dnode's FQDN contains the namespace and is recorded on its PVC: new pods fail with `localEp is different`. Move the data with taosdump (or keep the namespace)".into()),
        );
    }
    let handled: Vec<&str> = match before["kind"].as_str() {
        Some("StatefulSet") => statefulset(before, after, &mut push),
        Some("Service") => service(before, after, &mut push),
        _ => Vec::new(),
    };
    let rest: Vec<String> = changed_paths(&before["spec"], &after["spec"], "spec")
        .into_iter()
        .chain(changed_paths(&before["data"], &after["data"], "data"))
        .chain(changed_paths(
            &before["metadata"]["labels"],
            &after["metadata"]["labels"],
            "metadata.labels",
        ))
        .chain(changed_paths(
            &before["metadata"]["annotations"],
            &after["metadata"]["annotations"],
            "metadata.annotations",
        ))
        .filter(|p| !handled.iter().any(|h| p.starts_with(h)))
        .collect();
    if !rest.is_empty() {
        let how = if before["kind"] == "StatefulSet" {
            "pods roll one at a time"
        } else {
            "applied in place"
        };
        let remedy = (before["kind"] == "Job").then(|| "a Job's template is immutable: tdgen's annotations let Argo CD and Flux re-create it; with kubectl, delete the Job first".to_owned());
        push(
            ChangeClass::Safe,
            &summarise(&rest),
            format!("{} field(s) changed; {how}", rest.len()),
            remedy,
        );
    }
}

type Push<'a> = dyn FnMut(ChangeClass, &str, String, Option<String>) + 'a;

fn statefulset(before: &Value, after: &Value, push: &mut Push<'_>) -> Vec<&'static str> {
    let name = after["metadata"]["name"].as_str().unwrap_or("?");
    let namespace = after["metadata"]["namespace"]
        .as_str()
        .map_or_else(|| "<namespace>".to_owned(), str::to_owned);
    let rejected = format!("the API server answers: StatefulSet.apps \"{name}\" is invalid: {STS_FORBIDDEN}");
    let orphan = format!(
        "kubectl delete statefulset {name} -n {namespace} --cascade=orphan, then apply: pods and PVCs stay and the new StatefulSet adopts them"
    );
    let (b, a) = (&before["spec"], &after["spec"]);
    for (field, what) in [("selector", "selector"), ("podManagementPolicy", "podManagementPolicy")] {
        if b[field] != a[field] {
            push(
                ChangeClass::Rejected,
                &format!("spec.{field}"),
                format!("{what} {} → {}; {rejected}", show(&b[field]), show(&a[field])),
                Some(orphan.clone()),
            );
        }
    }
    if b["serviceName"] != a["serviceName"] {
        push(
            ChangeClass::Rejected,
            "spec.serviceName",
            format!(
                "serviceName {} → {}; {rejected}",
                show(&b["serviceName"]),
                show(&a["serviceName"])
            ),
            Some(orphan.clone()),
        );
    }
    if b["volumeClaimTemplates"] != a["volumeClaimTemplates"] {
        push(
            ChangeClass::Rejected,
            "spec.volumeClaimTemplates",
            format!("claim templates changed ({}); {rejected}", claims_change(b, a)),
            Some(claims_remedy(b, a, name, &namespace, &orphan)),
        );
    }
    let replicas = |v: &Value| v["replicas"].as_i64().unwrap_or(1);
    if replicas(a) < replicas(b) {
        push(
            ChangeClass::Unsafe,
            "spec.replicas",
            format!(
                "dnodes {} → {}: removing pods without `drop dnode` leaves offline dnodes (the TDengine doc's common error)",
                replicas(b),
                replicas(a)
            ),
            Some(format!(
                "with the previous spec, run `tdgen plan scale --to {}` (it drops the dnodes first), then apply",
                replicas(a)
            )),
        );
    }
    if replicas(a) > replicas(b) {
        push(
            ChangeClass::Safe,
            "spec.replicas",
            format!("dnodes {} → {}: the new pods join as dnodes", replicas(b), replicas(a)),
            Some(format!(
                "`tdgen plan scale --to {}` with the previous spec checks that each one joined",
                replicas(a)
            )),
        );
    }
    let mnodes = |v: &Value| {
        v["metadata"]["annotations"]["tdgen.io/mnodes"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    if mnodes(before) != mnodes(after) && !mnodes(before).is_empty() {
        push(
            ChangeClass::Unsafe,
            "metadata.annotations[\"tdgen.io/mnodes\"]",
            format!("mnodes {} → {}", mnodes(before), mnodes(after)),
            Some(
                "run `tdgen plan mnodes` with the new spec: mnodes are created and dropped by SQL, not by Kubernetes"
                    .into(),
            ),
        );
    }
    let container = |v: &Value| v["template"]["spec"]["containers"][0].clone();
    let (cb, ca) = (container(b), container(a));
    let tag = |c: &Value| {
        c["image"]
            .as_str()
            .and_then(|i| i.split('@').next())
            .and_then(|i| i.rsplit_once(':'))
            .and_then(|(_, t)| Version::from_tag(t))
    };
    if let (Some(old), Some(new)) = (tag(&cb), tag(&ca))
        && new < old
    {
        push(ChangeClass::Unsafe, "spec.template.spec.containers[0].image", format!("TDengine {old} → {new} is a downgrade"), Some("data files written by a newer taosd may not open in an older one: restore from a backup taken before the upgrade instead".into()));
    }
    let env = |c: &Value| -> BTreeMap<String, String> {
        c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_owned(),
                    e["value"].as_str().unwrap_or_default().to_owned(),
                ))
            })
            .collect()
    };
    let (eb, ea) = (env(&cb), env(&ca));
    for identity in ["TAOS_FQDN", "TAOS_FIRST_EP", "SERVICE_NAME"] {
        if eb.get(identity) != ea.get(identity) {
            push(ChangeClass::Unsafe, &format!("env {identity}"), format!("{identity} {} → {}: the dnodes' identity (cluster domain or service name) changes", eb.get(identity).map_or("unset", String::as_str), ea.get(identity).map_or("unset", String::as_str)), Some("each PVC records its dnode's endpoint; restarted pods fail with `localEp is different`. Keep spec.clusterDomain and spec.service.name".into()));
        }
    }
    let owned = crate::validate::deploy::OWNED_ENV;
    let config = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| k.starts_with("TAOS_") && !owned.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (config_before, config_after) = (config(&eb), config(&ea));
    let checksum = |v: &Value| v["template"]["metadata"]["annotations"]["checksum/taos-cfg"].clone();
    if config_before != config_after || checksum(b) != checksum(a) {
        let persisted = tag(&ca).is_none_or(|v| v >= Version([3, 3, 5, 0]));
        let changed: Vec<String> = config_before
            .keys()
            .chain(config_after.keys())
            .filter(|k| config_before.get(*k) != config_after.get(*k))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let what = if changed.is_empty() {
            "taos.cfg changed".to_owned()
        } else {
            format!("taos.cfg parameters changed: {}", changed.join(", "))
        };
        if persisted {
            push(ChangeClass::Unsafe, "taos.cfg", format!("{what}; taosd 3.3.5.0 and later keep the values persisted at first boot"), Some("apply, then set each value with `ALTER ALL DNODES 'name' 'value'` (or `ALTER DNODE <id> …`); a restart alone may not change it".into()));
        } else {
            push(
                ChangeClass::Safe,
                "taos.cfg",
                format!("{what}; the pods roll and read it"),
                None,
            );
        }
    }
    vec![
        "spec.selector",
        "spec.podManagementPolicy",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.replicas",
        "metadata.annotations.tdgen.io/mnodes",
    ]
}

fn claims_change(b: &Value, a: &Value) -> String {
    let summary = |v: &Value| -> Vec<String> {
        v["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} {}",
                    c["metadata"]["name"].as_str().unwrap_or("?"),
                    c["spec"]["resources"]["requests"]["storage"].as_str().unwrap_or("?")
                )
            })
            .collect()
    };
    format!("{} → {}", summary(b).join(", "), summary(a).join(", "))
}

fn claims_remedy(b: &Value, a: &Value, name: &str, namespace: &str, orphan: &str) -> String {
    let size = |v: &Value, i: usize| {
        v["volumeClaimTemplates"][i]["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .map(str::to_owned)
    };
    let names = |v: &Value| {
        v["volumeClaimTemplates"]
            .as_array()
            .map(|c| c.iter().map(|x| x["metadata"]["name"].clone()).collect::<Vec<_>>())
    };
    let grow = names(b) == names(a)
        && (0..a["volumeClaimTemplates"].as_array().map_or(0, Vec::len)).any(|i| {
            let bytes = |s: Option<String>| {
                s.and_then(|s| crate::quantity::Quantity::parse(&s).ok())
                    .map(|q| q.ceil_units())
            };
            bytes(size(a, i)) > bytes(size(b, i))
        });
    if grow {
        let claim = a["volumeClaimTemplates"][0]["metadata"]["name"]
            .as_str()
            .unwrap_or("taosdata");
        let new = size(a, 0).unwrap_or_default();
        format!(
            "to grow the volumes: for each ordinal N, `kubectl patch pvc {claim}-{name}-N -n {namespace} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{new}\"}}}}}}}}'` (the StorageClass needs allowVolumeExpansion), then {orphan}"
        )
    } else {
        format!("{orphan}; existing PVCs keep their old size and class (new ones get the new template)")
    }
}

fn service(before: &Value, after: &Value, push: &mut Push<'_>) -> Vec<&'static str> {
    let headless = |v: &Value| v["spec"]["clusterIP"].as_str() == Some("None");
    if headless(before) != headless(after) {
        let name = after["metadata"]["name"].as_str().unwrap_or("?");
        push(
            ChangeClass::Rejected,
            "spec.clusterIP",
            format!(
                "clusterIP {} → {}; the API server answers: Service \"{name}\" is invalid: spec.clusterIPs[0]: Invalid value: may not change once set",
                show(&before["spec"]["clusterIP"]),
                show(&after["spec"]["clusterIP"])
            ),
            Some(format!(
                "kubectl delete service {name}, then apply: pods and data stay; peers cannot resolve each other for the seconds in between"
            )),
        );
    }
    vec!["spec.clusterIP"]
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "unset".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Leaf paths where two JSON trees differ.
fn changed_paths(a: &Value, b: &Value, path: &str) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    changed_paths(
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        &format!("{path}.{k}"),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .flat_map(|(i, (p, q))| changed_paths(p, q, &format!("{path}[{i}]")))
            .collect(),
        (x, y) if x == y => Vec::new(),
        _ => vec![path.to_owned()],
    }
}

fn summarise(paths: &[String]) -> String {
    let mut shown: Vec<&str> = paths.iter().map(String::as_str).take(3).collect();
    if paths.len() > 3 {
        shown.push("…");
    }
    shown.join(", ")
}

impl DiffReport {
    /// Whether anything would be rejected or is unsafe.
    pub fn is_blocking(&self) -> bool {
        self.changes.iter().any(|c| c.class != ChangeClass::Safe)
    }

    /// Number of changes of a class.
    pub fn count(&self, class: ChangeClass) -> usize {
        self.changes.iter().filter(|c| c.class == class).count()
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    }

    /// The report for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            let class = match change.class {
                ChangeClass::Rejected => "rejected",
                ChangeClass::Unsafe => "unsafe",
                ChangeClass::Safe => "safe",
            };
            let field = if change.field.is_empty() {
                String::new()
            } else {
                format!(" {}", change.field)
            };
            let _ = writeln!(out, "{class:<8} {}{field}: {}", change.object, change.message);
            if let Some(remedy) = &change.remedy {
                let _ = writeln!(out, "         remedy: {remedy}");
            }
        }
        let (r, u, s) = (
            self.count(ChangeClass::Rejected),
            self.count(ChangeClass::Unsafe),
            self.count(ChangeClass::Safe),
        );
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        } else {
            let _ = writeln!(
                out,
                "{} change(s): {r} rejected, {u} unsafe, {s} safe",
                self.changes.len()
            );
        }
        out
    }
}
