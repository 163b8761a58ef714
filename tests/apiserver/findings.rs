//! Regressions that only a real API server shows, each from a finding of a new user:
//!
//! - `serviceaccount-off`: turning the rendered ServiceAccount off, applying and pruning it
//!   must leave pods the StatefulSet controller can create;
//! - `serviceaccount-outside`: a spec naming an outside ServiceAccount gets no pod until it
//!   exists, as its note says;
//! - `backup-growth`: growing the backup claim is accepted only for a bound claim on an
//!   expandable StorageClass, and `tdgen diff` says so, quoting the server's refusal;
//! - `refusal-clusterip`, `refusal-job-template`: a previous render the server cannot update
//!   in place (a ClusterIP governing Service, as the TDengine doc has; a Job of the same name
//!   with another template) gets `rejected` from `tdgen diff`, quoting what the server answers;
//! - `lost-statefulset`: a previous render without its StatefulSet is refused by `tdgen diff`
//!   instead of passing a 3 → 1 dnode change the server would take.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::ensure;
use crate::renders::{apply_quietly, namespace_for};
use crate::server::{Env, Outcome};
use crate::tier::Scenario;

/// Every scenario of this file.
pub fn all() -> Vec<Scenario<Env>> {
    vec![
        Scenario::new("finding-serviceaccount-off", |env: &Env, _| serviceaccount_off(env)),
        Scenario::new("finding-serviceaccount-outside", |env: &Env, _| {
            serviceaccount_outside(env)
        }),
        Scenario::new("finding-backup-growth", |env: &Env, _| backup_growth(env)),
        Scenario::new("finding-lost-statefulset", |env: &Env, _| lost_statefulset(env)),
        Scenario::new("finding-refusal-clusterip", |env: &Env, _| {
            refusal(env, "finding-refusal-clusterip", |o| {
                if o["kind"] == "Service"
                    && o["metadata"]["name"] == "taosd"
                    && let Some(spec) = o["spec"].as_object_mut()
                {
                    spec.remove("clusterIP");
                }
            })
        }),
        Scenario::new("finding-refusal-job-template", |env: &Env, _| {
            refusal(env, "finding-refusal-job-template", |o| {
                if o["kind"] == "Job" {
                    o["spec"]["template"]["spec"]["containers"][0]["image"] = "tdengine/tdengine:3.3.6.6".into();
                }
            })
        }),
    ]
}

fn spec(namespace: &str, body: &str) -> String {
    format!("apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {{name: td, namespace: {namespace}}}\n{body}")
}

/// Write a spec and apply its render; the render's objects.
fn apply_spec(env: &Env, dir: &Path, file: &str, text: &str) -> Result<Vec<Value>, String> {
    std::fs::write(dir.join(file), text).map_err(|e| e.to_string())?;
    let rendered = env.tdgen(&["render", "-f", file, "-o", "json"], dir);
    let json = dir.join(file.replace(".yaml", ".json"));
    std::fs::write(&json, &rendered.ok()?.stdout).map_err(|e| e.to_string())?;
    apply_quietly(env, &["-f", &json.display().to_string()])?;
    let list: Value = serde_json::from_str(&rendered.stdout).map_err(|e| e.to_string())?;
    Ok(list["items"].as_array().cloned().unwrap_or_default())
}

fn pod_exists(env: &Env, namespace: &str, pod: &str) -> bool {
    env.kubectl(&["get", "pod", pod, "-n", namespace], None).code == Some(0)
}

/// The controller re-creates a deleted pod `td-0` within a minute, or the events say why not.
fn pod_recreated(env: &Env, namespace: &str) -> Outcome {
    env.kubectl(&["delete", "pod", "td-0", "-n", namespace, "--wait=false"], None)
        .ok()?;
    let created = env.wait_for("pod td-0 re-created", Duration::from_secs(60), || {
        env.kubectl(
            &[
                "get",
                "pod",
                "td-0",
                "-n",
                namespace,
                "-o",
                "jsonpath={.metadata.deletionTimestamp}",
            ],
            None,
        )
        .stdout
        .is_empty()
            && pod_exists(env, namespace, "td-0")
    });
    created.map_err(|why| {
        let events = env.kubectl(&["get", "events", "-n", namespace], None);
        format!("{why}\n{}", events.stdout)
    })
}

fn serviceaccount_off(env: &Env) -> Outcome {
    let scenario = "finding-serviceaccount-off";
    let dir = env.scratch(scenario)?;
    let namespace = namespace_for(scenario);
    env.namespace(&namespace, &[])?;
    let body = |create: bool| format!("spec: {{dnodes: 1, serviceAccount: {{create: {create}}}}}\n");
    apply_spec(env, &dir, "old.yaml", &spec(&namespace, &body(true)))?;
    env.tdgen(&["render", "-f", "old.yaml", "--output-dir", "previous"], &dir)
        .ok()?;
    env.wait_for("pod td-0", Duration::from_secs(60), || {
        pod_exists(env, &namespace, "td-0")
    })?;
    std::fs::write(dir.join("new.yaml"), spec(&namespace, &body(false))).map_err(|e| e.to_string())?;
    let report = env.tdgen(&["diff", "--previous", "previous", "-f", "new.yaml"], &dir);
    ensure!(
        report.stdout.contains("ServiceAccount/td: no longer rendered"),
        "{}",
        report.said()
    );
    apply_spec(env, &dir, "new.yaml", &spec(&namespace, &body(false)))?;
    // What the report's remedy for the ServiceAccount says: prune it.
    env.kubectl(&["delete", "serviceaccount", "td", "-n", &namespace], None)
        .ok()?;
    let account = env.kubectl(
        &[
            "get",
            "statefulset",
            "td",
            "-n",
            &namespace,
            "-o",
            "jsonpath={.spec.template.spec.serviceAccountName}",
        ],
        None,
    );
    ensure!(
        account.stdout == "default",
        "after the apply the pods run as `{}`, not the namespace's `default`",
        account.stdout
    );
    pod_recreated(env, &namespace)
}

fn serviceaccount_outside(env: &Env) -> Outcome {
    let scenario = "finding-serviceaccount-outside";
    let dir = env.scratch(scenario)?;
    let namespace = namespace_for(scenario);
    env.namespace(&namespace, &[])?;
    let text = spec(
        &namespace,
        "spec: {dnodes: 1, serviceAccount: {create: false, name: outside}}\n",
    );
    std::fs::write(dir.join("spec.yaml"), &text).map_err(|e| e.to_string())?;
    let validated = env.tdgen(&["validate", "-f", "spec.yaml"], &dir);
    ensure!(
        validated.stderr.contains("service-account-external") && validated.code == Some(0),
        "no note that the ServiceAccount must exist: {}",
        validated.said()
    );
    apply_spec(env, &dir, "spec.yaml", &text)?;
    let refused = env.wait_for("the controller's FailedCreate event", Duration::from_secs(60), || {
        env.kubectl(&["get", "events", "-n", &namespace], None)
            .stdout
            .contains("error looking up service account")
    });
    refused?;
    ensure!(
        !pod_exists(env, &namespace, "td-0"),
        "a pod exists without its ServiceAccount"
    );
    env.kubectl(&["create", "serviceaccount", "outside", "-n", &namespace], None)
        .ok()?;
    env.wait_for(
        "pod td-0 once the ServiceAccount exists",
        Duration::from_secs(60),
        || pod_exists(env, &namespace, "td-0"),
    )
}

fn backup_growth(env: &Env) -> Outcome {
    let scenario = "finding-backup-growth";
    let dir = env.scratch(scenario)?;
    // Two classes: one that allows expansion and one that does not (no provisioner runs here:
    // a bound claim gets a PersistentVolume made for it, as static provisioning does).
    for (class, expand) in [("tier-expandable", true), ("tier-fixed", false)] {
        let object = serde_json::json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": class}, "provisioner": "tier.example.com/none",
            "allowVolumeExpansion": expand,
        });
        env.kubectl(&["apply", "--server-side", "-f", "-"], Some(&object.to_string()))
            .ok()?;
    }
    // (case, class, bound, accepted)
    for (case, class, bound, accepted) in [
        ("bound", "tier-expandable", true, true),
        ("unbound", "tier-expandable", false, false),
        ("fixed", "tier-fixed", true, false),
    ] {
        let namespace = namespace_for(&format!("{scenario}-{case}"));
        env.namespace(&namespace, &[])?;
        let applied = grow(env, &dir, case, &namespace, class, bound)?;
        ensure!(
            (applied.code == Some(0)) == accepted,
            "{case} claim on {class}: the server {} the growth: {}",
            if accepted { "refused" } else { "took" },
            applied.said()
        );
        let report = env.tdgen(&["diff", "--previous", case, "-f", &format!("{case}-grown.yaml")], &dir);
        ensure!(
            report.code == Some(3) && report.stdout.contains("bound") && report.stdout.contains("allowVolumeExpansion"),
            "tdgen diff does not make the growth conditional on a bound, expandable claim: {}",
            report.said()
        );
        if !accepted {
            let said: String = applied.stderr.lines().filter(|l| l.contains("\"td-backup\"")).collect();
            ensure!(
                crate::oracle::quotes_hold(&report.stdout, &said),
                "tdgen quotes none of what the server said: {said}\n{}",
                report.stdout
            );
        }
    }
    Ok(())
}

/// The backup claim's name for a cluster `td`.
const CLAIM: &str = "td-backup";

/// Apply a 20Gi backup claim on `class` (bound to a PersistentVolume made for it when `bound`),
/// then the render that grows it to 40Gi: what the server said to the growth.
fn grow(
    env: &Env,
    dir: &Path,
    case: &str,
    namespace: &str,
    class: &str,
    bound: bool,
) -> Result<crate::server::Ran, String> {
    let body = |size: &str| {
        spec(
            namespace,
            &format!(
                "spec: {{dnodes: 1, backup: {{schedule: '0 3 * * *', storage: {{size: {size}, storageClassName: {class}}}}}}}\n"
            ),
        )
    };
    let objects = apply_spec(env, dir, &format!("{case}.yaml"), &body("20Gi"))?;
    ensure!(
        objects
            .iter()
            .any(|o| o["kind"] == "PersistentVolumeClaim" && o["metadata"]["name"] == CLAIM),
        "the render has no PVC {CLAIM}"
    );
    if bound {
        let volume = serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": namespace},
            "spec": {
                "capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"],
                "storageClassName": class, "hostPath": {"path": "/tmp/tier-backup"},
                "claimRef": {"namespace": namespace, "name": CLAIM},
            },
        });
        env.kubectl(&["apply", "--server-side", "-f", "-"], Some(&volume.to_string()))
            .ok()?;
        env.wait_for("the backup claim bound", Duration::from_secs(60), || {
            env.kubectl(
                &["get", "pvc", CLAIM, "-n", namespace, "-o", "jsonpath={.status.phase}"],
                None,
            )
            .stdout
                == "Bound"
        })?;
    }
    env.tdgen(&["render", "-f", &format!("{case}.yaml"), "--output-dir", case], dir)
        .ok()?;
    let grown = format!("{case}-grown.yaml");
    std::fs::write(dir.join(&grown), body("40Gi")).map_err(|e| e.to_string())?;
    let rendered = env.tdgen(&["render", "-f", &grown], dir);
    Ok(env.kubectl(
        &["apply", "--server-side", "--field-manager=tdgen", "-f", "-"],
        Some(&rendered.ok()?.stdout),
    ))
}

/// Apply the default render changed by `mutate` as the previous one, then the render itself:
/// the server refuses it, and `tdgen diff` calls it `rejected` in the server's words.
fn refusal(env: &Env, scenario: &str, mutate: fn(&mut Value)) -> Outcome {
    let dir = env.scratch(scenario)?;
    let namespace = namespace_for(scenario);
    env.namespace(&namespace, &[])?;
    let rendered = env.tdgen(&["render", "-n", &namespace, "-o", "json"], &dir);
    let mut previous: Value = serde_json::from_str(&rendered.ok()?.stdout).map_err(|e| e.to_string())?;
    for object in previous["items"].as_array_mut().into_iter().flatten() {
        mutate(object);
    }
    let file = dir.join("previous.json");
    std::fs::write(&file, previous.to_string()).map_err(|e| e.to_string())?;
    apply_quietly(env, &["-f", &file.display().to_string()])?;
    let report = env.tdgen(
        &[
            "diff",
            "--previous",
            "previous.json",
            "-n",
            &namespace,
            "--format",
            "json",
        ],
        &dir,
    );
    let report: Value = serde_json::from_str(&report.stdout).map_err(|e| format!("{e}: {}", report.said()))?;
    let applied = env.kubectl(
        &["apply", "--server-side", "--field-manager=tdgen", "-f", "-"],
        Some(&rendered.stdout),
    );
    ensure!(applied.code != Some(0), "the server took it: {}", applied.said());
    let rejected: Vec<&str> = report["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["class"] == "rejected")
        .filter_map(|c| c["message"].as_str())
        .collect();
    ensure!(
        !rejected.is_empty() && rejected.iter().all(|m| crate::oracle::quotes_hold(m, &applied.stderr)),
        "tdgen diff says {rejected:?}; the server answered {}",
        applied.stderr
    );
    Ok(())
}

fn lost_statefulset(env: &Env) -> Outcome {
    let scenario = "finding-lost-statefulset";
    let dir = env.scratch(scenario)?;
    let namespace = namespace_for(scenario);
    env.namespace(&namespace, &[])?;
    apply_spec(env, &dir, "three.yaml", &spec(&namespace, "spec: {dnodes: 3}\n"))?;
    env.tdgen(&["render", "-f", "three.yaml", "--output-dir", "previous"], &dir)
        .ok()?;
    std::fs::remove_file(dir.join("previous/td.yaml")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("one.yaml"), spec(&namespace, "spec: {dnodes: 1, mnodes: 1}\n"))
        .map_err(|e| e.to_string())?;
    let report = env.tdgen(&["diff", "--previous", "previous", "-f", "one.yaml"], &dir);
    ensure!(
        report.code == Some(2) && report.stderr.contains("lists td.yaml, which is missing"),
        "tdgen diff passes a previous render without its StatefulSet: {}",
        report.said()
    );
    // What the gate keeps out: the server takes the 3 → 1 change without a word.
    let rendered = env.tdgen(&["render", "-f", "one.yaml"], &dir);
    let applied = env.kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager=tdgen",
            "--dry-run=server",
            "-f",
            "-",
        ],
        Some(&rendered.stdout),
    );
    applied.ok()?;
    Ok(())
}
