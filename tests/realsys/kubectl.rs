//! `kubectl`, as the stand-in answers it: the verbs and flags tdgen's scripts use, printed as
//! kubectl v1.37 prints them, against one namespace whose pods are real TDengine pods
//! (td-cluster). What it imitates, verb by verb:
//!
//! - `apply --server-side -f FILE|-`: server-side apply with `--force-conflicts`: the applied
//!   configuration's fields are set, fields the previous apply set and this one does not are
//!   removed, and fields set otherwise (`kubectl scale`, `kubectl patch`) stay (maps merge key by
//!   key; a list is replaced whole); refuses what the API server refuses for these kinds: a changed
//!   StatefulSet `selector`, `serviceName`, `volumeClaimTemplates` or `podManagementPolicy`, a
//!   Service's `clusterIP` changed between `None` and an address, a changed Job template, an
//!   object whose namespace differs from `-n`.
//! - `get KIND [NAME] [-l SELECTOR] [--ignore-not-found] [-o name|jsonpath=…]`: pods with
//!   `status.phase` and the `Ready` condition, claims (labelled with the StatefulSet's selector,
//!   as its controller labels them) bound to a volume whose reclaim policy is `Delete`, Jobs with
//!   `status.succeeded/failed`, and every applied object.
//! - `scale statefulset NAME --replicas=N`, `patch KIND NAME --type merge -p JSON` (a merge patch).
//! - `delete KIND NAME|-l SELECTOR [--ignore-not-found] [--wait=false] [--force --grace-period=0]
//!   [--cascade=orphan]`: a pod is stopped by the controller (its preStop hook first) unless its
//!   node is lost, when only `--force` removes it; a claim in use by a pod is kept until the pod
//!   is gone (`kubernetes.io/pvc-protection`); a StatefulSet's pods go with it unless orphaned.
//!   Without `--wait=false` kubectl waits until the object is gone.
//! - `exec [-i] POD [-c C] -- CMD…`: runs CMD in the pod (td-cluster `exec`), stdin, stdout,
//!   stderr and exit status passed through; a non-zero status also prints `command terminated
//!   with exit code N`.
//! - `wait --for=condition=Ready pod/NAME`, `--for=condition=complete job/NAME`,
//!   `rollout status statefulset NAME` (every pod below the replicas, at or above the partition,
//!   on the current revision and Ready), `logs job/NAME [--tail=N]`,
//!   `create job NAME --from=cronjob/CRON`.
//! - `port-forward`: refused: the realsys builds have no taosAdapter, so nothing listens on 6041.

use std::io::Read;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::state::{Phase, State, Store};
use crate::{jsonpath, pods};

/// What a kubectl call asked for.
#[derive(Debug, Default)]
struct Args {
    verb: String,
    positional: Vec<String>,
    namespace: Option<String>,
    selector: Option<String>,
    output: Option<String>,
    files: Vec<String>,
    ignore_not_found: bool,
    wait: bool,
    force: bool,
    orphan: bool,
    replicas: Option<String>,
    condition: Option<String>,
    timeout: Option<Duration>,
    patch: Option<String>,
    from: Option<String>,
    tail: Option<usize>,
    stdin: bool,
    command: Vec<String>,
}

fn parse(argv: &[String]) -> Result<Args, String> {
    let mut args = Args {
        wait: true,
        ..Args::default()
    };
    let mut i = 0;
    let value = |i: &mut usize, flag: &str| -> Result<String, String> {
        *i += 1;
        argv.get(*i)
            .cloned()
            .ok_or_else(|| format!("flag needs an argument: {flag}"))
    };
    while i < argv.len() {
        let arg = &argv[i];
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if arg.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let take = |i: &mut usize| inline.clone().map_or_else(|| value(i, &flag), Ok);
        match flag.as_str() {
            "--" => {
                args.command = argv[i + 1..].to_vec();
                break;
            }
            "-n" | "--namespace" => args.namespace = Some(take(&mut i)?),
            "-l" | "--selector" => args.selector = Some(take(&mut i)?),
            "-o" | "--output" => args.output = Some(take(&mut i)?),
            "-f" | "--filename" => args.files.push(take(&mut i)?),
            "-c" | "--container" | "--field-manager" | "--type" | "--grace-period" => {
                take(&mut i)?;
            }
            "-p" | "--patch" => args.patch = Some(take(&mut i)?),
            "--replicas" => args.replicas = Some(take(&mut i)?),
            "--for" => args.condition = Some(take(&mut i)?),
            "--from" => args.from = Some(take(&mut i)?),
            "--tail" => args.tail = take(&mut i)?.parse().ok(),
            "--timeout" => args.timeout = Some(duration(&take(&mut i)?)?),
            "--wait" => args.wait = take(&mut i)? != "false",
            "--cascade" => args.orphan = take(&mut i)? == "orphan",
            "--ignore-not-found" => args.ignore_not_found = inline.as_deref() != Some("false"),
            "--force" => args.force = true,
            "-i" | "--stdin" | "-it" => args.stdin = true,
            "-t" | "--tty" | "--server-side" | "--force-conflicts" | "--recursive" => {}
            f if f.starts_with("-o") && f.len() > 2 => args.output = Some(f[2..].to_owned()),
            f if f.starts_with('-') => return Err(format!("unknown flag: {f}")),
            _ => {
                if args.verb.is_empty() {
                    args.verb = arg.clone();
                } else {
                    args.positional.push(arg.clone());
                }
            }
        }
        i += 1;
    }
    Ok(args)
}

fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("invalid duration {text}"))?;
    Ok(Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("invalid duration {text}")),
    }))
}

/// The kind a resource name means, and how kubectl prints it (`statefulset.apps`).
fn kind(resource: &str) -> Option<(&'static str, &'static str)> {
    Some(match resource.to_ascii_lowercase().as_str() {
        "pod" | "pods" | "po" => ("Pod", "pod"),
        "pvc" | "persistentvolumeclaim" | "persistentvolumeclaims" => {
            ("PersistentVolumeClaim", "persistentvolumeclaim")
        }
        "pv" | "persistentvolume" | "persistentvolumes" => ("PersistentVolume", "persistentvolume"),
        "statefulset" | "statefulsets" | "sts" => ("StatefulSet", "statefulset.apps"),
        "service" | "services" | "svc" => ("Service", "service"),
        "job" | "jobs" => ("Job", "job.batch"),
        "cronjob" | "cronjobs" | "cj" => ("CronJob", "cronjob.batch"),
        "secret" | "secrets" => ("Secret", "secret"),
        "configmap" | "configmaps" | "cm" => ("ConfigMap", "configmap"),
        "serviceaccount" | "serviceaccounts" | "sa" => ("ServiceAccount", "serviceaccount"),
        "poddisruptionbudget" | "poddisruptionbudgets" | "pdb" => ("PodDisruptionBudget", "poddisruptionbudget.policy"),
        "networkpolicy" | "networkpolicies" | "netpol" => ("NetworkPolicy", "networkpolicy.networking.k8s.io"),
        // The Prometheus Operator's kinds, as kubectl prints them once their CRDs are installed.
        "podmonitor" | "podmonitors" => ("PodMonitor", "podmonitor.monitoring.coreos.com"),
        "prometheusrule" | "prometheusrules" => ("PrometheusRule", "prometheusrule.monitoring.coreos.com"),
        _ => return None,
    })
}

fn kind_of(object_kind: &str) -> &'static str {
    match object_kind {
        "StatefulSet" => "statefulset.apps",
        "Job" => "job.batch",
        "CronJob" => "cronjob.batch",
        "PodDisruptionBudget" => "poddisruptionbudget.policy",
        "NetworkPolicy" => "networkpolicy.networking.k8s.io",
        "Service" => "service",
        "ConfigMap" => "configmap",
        "Secret" => "secret",
        "ServiceAccount" => "serviceaccount",
        "PersistentVolumeClaim" => "persistentvolumeclaim",
        "PodMonitor" => "podmonitor.monitoring.coreos.com",
        "PrometheusRule" => "prometheusrule.monitoring.coreos.com",
        _ => "object",
    }
}

/// A failure kubectl prints as `error: …` (or as given) with exit status 1.
struct Failed(String);

impl From<String> for Failed {
    fn from(message: String) -> Failed {
        Failed(format!("error: {message}"))
    }
}

/// Run `kubectl ARGS` against the store named by `REALSYS_STANDIN`.
pub fn main(argv: &[String]) -> ExitCode {
    let Some(dir) = std::env::var_os("REALSYS_STANDIN") else {
        eprintln!("error: the kubectl stand-in needs REALSYS_STANDIN (its state directory)");
        return ExitCode::from(1);
    };
    let store = Store::new(std::path::Path::new(&dir));
    match run(&store, argv) {
        Ok(code) => code,
        Err(Failed(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn run(store: &Store, argv: &[String]) -> Result<ExitCode, Failed> {
    let args = parse(argv)?;
    let namespace = store.read()?.namespace;
    if let Some(ns) = &args.namespace
        && ns != &namespace
        && args.verb != "apply"
    {
        // Another namespace exists but is empty here.
        return if args.ignore_not_found {
            Ok(ExitCode::SUCCESS)
        } else {
            Err(Failed(format!(
                "Error from server (NotFound): namespaces \"{ns}\" not found"
            )))
        };
    }
    match args.verb.as_str() {
        "apply" => apply(store, &args),
        "get" => get(store, &args),
        "scale" => scale(store, &args),
        "patch" => patch(store, &args),
        "delete" => delete(store, &args),
        "exec" => exec(store, &args),
        "wait" => wait(store, &args),
        "rollout" => rollout(store, &args),
        "logs" => logs(store, &args),
        "create" => create(store, &args),
        "port-forward" => Err(Failed(
            "error: the realsys stand-in has no taosAdapter to forward to (its TDengine builds ship none)".into(),
        )),
        other => Err(Failed(format!(
            "error: the stand-in does not implement `kubectl {other}`"
        ))),
    }
}

fn resource_and_name(args: &Args) -> Result<(&'static str, &'static str, Option<String>), Failed> {
    let first = args
        .positional
        .first()
        .ok_or_else(|| "you must specify the type of resource".to_owned())?;
    let (resource, name) = match first.split_once('/') {
        Some((r, n)) => (r.to_owned(), Some(n.to_owned())),
        None => (first.clone(), args.positional.get(1).cloned()),
    };
    let (kind, printed) =
        kind(&resource).ok_or_else(|| format!("the server doesn't have a resource type \"{resource}\""))?;
    Ok((kind, printed, name))
}

fn not_found(printed: &str, name: &str) -> Failed {
    let plural = match printed.split('.').next().unwrap_or(printed) {
        "statefulset" => "statefulsets.apps".to_owned(),
        "job" => "jobs.batch".to_owned(),
        "cronjob" => "cronjobs.batch".to_owned(),
        other => format!("{other}s"),
    };
    Failed(format!("Error from server (NotFound): {plural} \"{name}\" not found"))
}

/// The objects of one kind as `get` shows them.
fn listed(state: &State, kind: &str) -> Vec<(String, Value)> {
    match kind {
        "Pod" => state
            .pods
            .iter()
            .map(|(name, pod)| (name.clone(), pods::pod_object(state, name, pod)))
            .collect(),
        "PersistentVolumeClaim" => state
            .claims
            .iter()
            .map(|(name, claim)| {
                let labels = &claim.labels;
                (
                    name.clone(),
                    json!({
                        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": name, "namespace": state.namespace, "labels": labels,
                            "deletionTimestamp": claim.deleting.then_some("2026-01-01T00:00:00Z")},
                        "spec": {"volumeName": claim.volume},
                        "status": {"phase": "Bound"},
                    }),
                )
            })
            .collect(),
        "PersistentVolume" => state
            .claims
            .values()
            .map(|claim| {
                (
                    claim.volume.clone(),
                    json!({"apiVersion": "v1", "kind": "PersistentVolume",
                        "metadata": {"name": claim.volume},
                        "spec": {"persistentVolumeReclaimPolicy": "Delete"}}),
                )
            })
            .collect(),
        "Job" => state
            .objects
            .iter()
            .filter(|(k, _)| k.starts_with("Job/"))
            .map(|(k, v)| {
                let name = k["Job/".len()..].to_owned();
                let mut v = v.clone();
                if let Some(status) = state.jobs.get(&name) {
                    let mut s = json!({});
                    if status.succeeded > 0 {
                        s["succeeded"] = json!(status.succeeded);
                    }
                    if status.failed > 0 {
                        s["failed"] = json!(status.failed);
                    }
                    if status.complete {
                        s["conditions"] = json!([{"type": "Complete", "status": "True"}]);
                    } else if status.gave_up {
                        s["conditions"] = json!([{"type": "Failed", "status": "True"}]);
                    }
                    v["status"] = s;
                }
                (name, v)
            })
            .collect(),
        _ => state
            .objects
            .iter()
            .filter(|(k, _)| k.split('/').next() == Some(kind))
            .map(|(k, v)| (k[kind.len() + 1..].to_owned(), v.clone()))
            .collect(),
    }
}

fn matches(object: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|term| match term.split_once('=') {
            Some((k, v)) => object["metadata"]["labels"][k.trim()].as_str() == Some(v.trim()),
            None => !object["metadata"]["labels"][term.trim()].is_null(),
        })
}

fn get(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let state = store.read()?;
    let (kind, printed, name) = resource_and_name(args)?;
    let all = listed(&state, kind);
    let chosen: Vec<(String, Value)> = match &name {
        Some(name) => match all.into_iter().find(|(n, _)| n == name) {
            Some(found) => vec![found],
            None if args.ignore_not_found => return Ok(ExitCode::SUCCESS),
            None => return Err(not_found(printed, name)),
        },
        None => all
            .into_iter()
            .filter(|(_, o)| args.selector.as_deref().is_none_or(|s| matches(o, s)))
            .collect(),
    };
    let output = args.output.clone().unwrap_or_default();
    let text = if output == "name" {
        chosen
            .iter()
            .map(|(n, _)| format!("{}/{n}\n", printed))
            .collect::<String>()
    } else if let Some(template) = output.strip_prefix("jsonpath=") {
        let root = if name.is_some() {
            chosen.first().map(|(_, v)| v.clone()).unwrap_or(Value::Null)
        } else {
            json!({"kind": "List", "items": chosen.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()})
        };
        jsonpath::render(template, &root)?
    } else if output == "json" {
        serde_json::to_string_pretty(&chosen.first().map(|(_, v)| v.clone()).unwrap_or(Value::Null)).unwrap_or_default()
            + "\n"
    } else if chosen.is_empty() && name.is_none() {
        eprintln!("No resources found in {} namespace.", state.namespace);
        String::new()
    } else {
        let mut text = String::from("NAME\n");
        for (n, _) in &chosen {
            text.push_str(n);
            text.push('\n');
        }
        text
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn apply(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let mut text = String::new();
    for file in &args.files {
        if file == "-" {
            std::io::stdin().read_to_string(&mut text).map_err(|e| e.to_string())?;
        } else {
            text.push_str(&std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?);
            text.push_str("\n---\n");
        }
    }
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|e| format!("error parsing the objects: {e}"))?;
    let mut locked = store.lock()?;
    let namespace = locked.state.namespace.clone();
    let mut lines = Vec::new();
    for document in documents.into_iter().filter(|d| !d.is_null()) {
        let kind = document["kind"].as_str().unwrap_or_default().to_owned();
        let name = document["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let object_ns = document["metadata"]["namespace"].as_str().map(str::to_owned);
        let wanted = args
            .namespace
            .clone()
            .or(object_ns.clone())
            .unwrap_or_else(|| "default".into());
        if let Some(ns) = &object_ns
            && ns != &wanted
        {
            return Err(Failed(format!(
                "error: the namespace from the provided object \"{ns}\" does not match the namespace \"{wanted}\". You must pass '--namespace={ns}' to perform this operation."
            )));
        }
        if wanted != namespace {
            return Err(Failed(format!(
                "Error from server (NotFound): namespaces \"{wanted}\" not found (the stand-in serves {namespace})"
            )));
        }
        let key = format!("{kind}/{name}");
        if let Some(old) = locked.state.objects.get(&key) {
            refuse_immutable(&kind, &name, old, &document).map_err(Failed)?;
        }
        let mut document = document;
        if kind == "Service" && document["spec"]["clusterIP"].is_null() {
            let kept = locked.state.objects.get(&key).map(|o| o["spec"]["clusterIP"].clone());
            document["spec"]["clusterIP"] =
                kept.unwrap_or_else(|| json!(format!("10.96.0.{}", 10 + locked.state.objects.len())));
        }
        let previous = locked
            .state
            .applied
            .insert(key.clone(), document.clone())
            .unwrap_or(Value::Null);
        if let Some(live) = locked.state.objects.get(&key) {
            document = server_side_apply(live, &previous, &document);
        }
        if kind == "Secret"
            && let Some(strings) = document["stringData"].as_object().cloned()
        {
            // The API server keeps stringData as data, base64-encoded.
            for (key, value) in strings {
                document["data"][key] = json!(crate::state::base64_encode(
                    value.as_str().unwrap_or_default().as_bytes()
                ));
            }
            if let Some(map) = document.as_object_mut() {
                map.remove("stringData");
            }
        }

        if kind == "Job" && !locked.state.jobs.contains_key(&name) {
            pods::new_job(&mut locked.state, store.dir(), &name);
        }
        locked.state.objects.insert(key, document);
        if kind == "PersistentVolumeClaim" {
            pods::ensure_claim(&mut locked.state, &name);
        }
        lines.push(format!("{}/{name} serverside-applied", kind_of(&kind)));
    }
    locked.save()?;
    for line in lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The object after applying `new` over `live`, whose last applied configuration was `old`.
fn server_side_apply(live: &Value, old: &Value, new: &Value) -> Value {
    match (live, new) {
        (Value::Object(l), Value::Object(n)) => {
            let mut result = l.clone();
            if let Value::Object(o) = old {
                for key in o.keys().filter(|k| !n.contains_key(*k)) {
                    result.remove(key);
                }
            }
            for (key, value) in n {
                let merged = server_side_apply(
                    l.get(key).unwrap_or(&Value::Null),
                    old.get(key).unwrap_or(&Value::Null),
                    value,
                );
                result.insert(key.clone(), merged);
            }
            Value::Object(result)
        }
        _ => new.clone(),
    }
}

/// What the API server refuses in an update of these kinds.
fn refuse_immutable(kind: &str, name: &str, old: &Value, new: &Value) -> Result<(), String> {
    match kind {
        "StatefulSet" => {
            let fixed = ["selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"];
            let strip = |v: &Value| {
                let mut v = v.clone();
                // The server defaults these; tdgen writes them out, the doc's YAML does not.
                if v["podManagementPolicy"].is_null() {
                    v["podManagementPolicy"] = json!("OrderedReady");
                }
                v
            };
            let (o, n) = (strip(&old["spec"]), strip(&new["spec"]));
            if fixed.iter().any(|f| o[f] != n[f]) {
                return Err(format!(
                    "The StatefulSet \"{name}\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
                ));
            }
        }
        "Service" => {
            let headless = |v: &Value| v["spec"]["clusterIP"].as_str() == Some("None");
            if !new["spec"]["clusterIP"].is_null() && headless(old) != headless(new) {
                return Err(format!(
                    "The Service \"{name}\" is invalid: spec.clusterIPs[0]: Invalid value: []string{{\"None\"}}: may not change once set"
                ));
            }
        }
        "Job" if old["spec"]["template"] != new["spec"]["template"] => {
            return Err(format!(
                "The Job \"{name}\" is invalid: spec.template: Invalid value: field is immutable"
            ));
        }
        _ => {}
    }
    Ok(())
}

fn scale(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let (kind, printed, name) = resource_and_name(args)?;
    let name = name.ok_or_else(|| "resource(s) were provided, but no name was specified".to_owned())?;
    let replicas: i64 = args
        .replicas
        .as_deref()
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| "--replicas=COUNT is required".to_owned())?;
    let mut locked = store.lock()?;
    let object = locked
        .state
        .objects
        .get_mut(&format!("{kind}/{name}"))
        .ok_or_else(|| not_found(printed, &name))?;
    object["spec"]["replicas"] = json!(replicas);
    locked.save()?;
    println!("{printed}/{name} scaled");
    Ok(ExitCode::SUCCESS)
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patch(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let (kind, printed, name) = resource_and_name(args)?;
    let name = name.ok_or_else(|| "resource(s) were provided, but no name was specified".to_owned())?;
    let patch: Value = serde_json::from_str(args.patch.as_deref().unwrap_or("{}")).map_err(|e| e.to_string())?;
    let mut locked = store.lock()?;
    if kind == "PersistentVolume" {
        // Every stand-in volume is Delete already; a patch changes nothing.
        println!("persistentvolume/{name} patched (no change)");
        return Ok(ExitCode::SUCCESS);
    }
    let object = locked
        .state
        .objects
        .get_mut(&format!("{kind}/{name}"))
        .ok_or_else(|| not_found(printed, &name))?;
    merge(object, &patch);
    locked.save()?;
    println!("{printed}/{name} patched");
    Ok(ExitCode::SUCCESS)
}

fn delete(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let (kind, printed, name) = resource_and_name(args)?;
    let names: Vec<String> = {
        let state = store.read()?;
        match &name {
            Some(name) => {
                if !listed(&state, kind).iter().any(|(n, _)| n == name) {
                    if args.ignore_not_found {
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(not_found(printed, name));
                }
                vec![name.clone()]
            }
            None => {
                let selector = args
                    .selector
                    .clone()
                    .ok_or_else(|| "resource(s) were provided, but no name was specified".to_owned())?;
                listed(&state, kind)
                    .into_iter()
                    .filter(|(_, o)| matches(o, &selector))
                    .map(|(n, _)| n)
                    .collect()
            }
        }
    };
    if args.force {
        eprintln!(
            "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely."
        );
    }
    let mut locked = store.lock()?;
    for name in &names {
        locked.state.applied.remove(&format!("{kind}/{name}"));
        match kind {
            "Pod" => {
                if let Some(pod) = locked.state.pods.get_mut(name) {
                    pod.deleting = Some(args.force || pod.deleting == Some(true));
                }
            }
            "PersistentVolumeClaim" => {
                if let Some(claim) = locked.state.claims.get_mut(name) {
                    claim.deleting = true;
                }
                locked.state.objects.remove(&format!("{kind}/{name}"));
            }
            "StatefulSet" => {
                locked.state.objects.remove(&format!("{kind}/{name}"));
                let orphan = args.orphan;
                for pod in locked.state.pods.values_mut().filter(|p| p.ordinal.is_some()) {
                    if !orphan {
                        pod.deleting = Some(pod.deleting == Some(true));
                    }
                }
            }
            "Job" | "CronJob" => {
                locked.state.objects.remove(&format!("{kind}/{name}"));
                // The garbage collector removes a CronJob's Jobs with it (ownerReferences).
                let mut jobs = vec![name.clone()];
                if kind == "CronJob" {
                    jobs = locked
                        .state
                        .objects
                        .iter()
                        .filter(|(k, v)| {
                            k.starts_with("Job/")
                                && v["metadata"]["ownerReferences"][0]["name"].as_str() == Some(name.as_str())
                        })
                        .map(|(k, _)| k["Job/".len()..].to_owned())
                        .collect();
                }
                for job in jobs {
                    locked.state.objects.remove(&format!("Job/{job}"));
                    for pod in locked
                        .state
                        .pods
                        .values_mut()
                        .filter(|p| p.job.as_deref() == Some(job.as_str()))
                    {
                        pod.deleting = Some(true);
                    }
                    locked.state.jobs.remove(&job);
                }
            }
            _ => {
                locked.state.objects.remove(&format!("{kind}/{name}"));
            }
        }
    }
    locked.save()?;
    for name in &names {
        if args.wait && !args.force && matches!(kind, "Pod" | "PersistentVolumeClaim") {
            let deadline = Instant::now() + Duration::from_secs(600);
            let present = |state: &State| match kind {
                "Pod" => state.pods.contains_key(name),
                _ => state.claims.contains_key(name),
            };
            while present(&store.read()?) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        let how = if args.force { "force deleted" } else { "deleted" };
        println!("{printed} \"{name}\" {how}");
    }
    Ok(ExitCode::SUCCESS)
}

fn exec(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let state = store.read()?;
    let name = args
        .positional
        .first()
        .ok_or_else(|| "expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'".to_owned())?;
    let name = name.strip_prefix("pod/").unwrap_or(name);
    let pod = state.pods.get(name).ok_or_else(|| not_found("pod", name))?;
    let Some(ordinal) = pod.ordinal else {
        return Err(Failed("error: the stand-in runs exec in StatefulSet pods only".into()));
    };
    if pod.phase != Phase::Running || pod.lost {
        return Err(Failed(format!(
            "error: unable to upgrade connection: container not found (\"{name}\")"
        )));
    }
    let mut command = pods::td_cluster(&state, Some(&pod.version));
    command.args(["exec", &ordinal.to_string(), "--"]).args(&args.command);
    if !args.stdin {
        command.stdin(Stdio::null());
    }
    let status = command.status().map_err(|e| format!("td-cluster: {e}"))?;
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(code) => {
            eprintln!("command terminated with exit code {code}");
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        None => {
            eprintln!("command terminated by a signal");
            Ok(ExitCode::from(1))
        }
    }
}

/// Poll `check` until it holds or `timeout` passes (kubectl's default for wait: 30 s).
fn poll(timeout: Duration, mut check: impl FnMut() -> Result<bool, Failed>) -> Result<bool, Failed> {
    let deadline = Instant::now() + timeout;
    loop {
        if check()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn wait(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let (kind, printed, name) = resource_and_name(args)?;
    let name = name.ok_or_else(|| "wait needs a name".to_owned())?;
    let condition = args.condition.clone().unwrap_or_default();
    let timeout = args.timeout.unwrap_or(Duration::from_secs(30));
    let met = poll(timeout, || {
        let state = store.read()?;
        Ok(match (kind, condition.as_str()) {
            ("Pod", "condition=Ready") => state.pods.get(&name).is_some_and(|p| p.ready),
            ("Job", "condition=complete") => state.jobs.get(&name).is_some_and(|j| j.complete),
            ("Job", "condition=failed") => state.jobs.get(&name).is_some_and(|j| j.gave_up),
            _ => {
                return Err(Failed(format!(
                    "error: the stand-in does not wait for {condition} on {kind}"
                )));
            }
        })
    })?;
    if met {
        println!("{printed}/{name} condition met");
        Ok(ExitCode::SUCCESS)
    } else {
        let plural = match kind {
            "Pod" => "pods",
            _ => "jobs",
        };
        Err(Failed(format!(
            "error: timed out waiting for the condition on {plural}/{name}"
        )))
    }
}

fn rollout(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    if args.positional.first().map(String::as_str) != Some("status") {
        return Err(Failed("error: the stand-in implements `rollout status` only".into()));
    }
    let rest = Args {
        positional: args.positional[1..].to_vec(),
        ..Args::default()
    };
    let (_, printed, name) = resource_and_name(&rest)?;
    let name = name.ok_or_else(|| "rollout status needs a name".to_owned())?;
    let timeout = args.timeout.unwrap_or(Duration::from_secs(600));
    let mut said = String::new();
    let done = poll(timeout, || {
        let state = store.read()?;
        let Some(object) = state.object("StatefulSet", &name) else {
            return Err(not_found(printed, &name));
        };
        let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
        let partition = object["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
            .as_u64()
            .unwrap_or(0) as u32;
        let revision = pods::revision(object);
        let updated = (partition..replicas)
            .filter(|o| {
                state
                    .pods
                    .get(&format!("{name}-{o}"))
                    .is_some_and(|p| p.revision == revision && p.ready)
            })
            .count() as u32;
        let ready = (0..replicas)
            .filter(|o| state.pods.get(&format!("{name}-{o}")).is_some_and(|p| p.ready))
            .count() as u32;
        let line = format!("Waiting for {} pods to be ready...", replicas - ready.min(replicas));
        if updated == replicas - partition.min(replicas) && ready == replicas {
            return Ok(true);
        }
        if line != said {
            println!("{line}");
            said = line;
        }
        Ok(false)
    })?;
    if done {
        println!(
            "statefulset rolling update complete {} pods at revision {name}-{}...",
            store
                .read()?
                .object("StatefulSet", &name)
                .map_or(0, |o| o["spec"]["replicas"].as_u64().unwrap_or(1)),
            store
                .read()?
                .object("StatefulSet", &name)
                .map(pods::revision)
                .unwrap_or_default()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failed("error: timed out waiting for the condition".into()))
    }
}

fn logs(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let state = store.read()?;
    let target = args
        .positional
        .first()
        .ok_or_else(|| "expected a resource".to_owned())?;
    let name = target
        .strip_prefix("job/")
        .ok_or_else(|| "the stand-in has logs of Jobs only".to_owned())?;
    let job = state.jobs.get(name).ok_or_else(|| not_found("job.batch", name))?;
    let text = std::fs::read_to_string(&job.log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = args.tail.map_or(0, |n| lines.len().saturating_sub(n));
    for line in &lines[from..] {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn create(store: &Store, args: &Args) -> Result<ExitCode, Failed> {
    let (kind, _, name) = resource_and_name(args)?;
    let name = name.ok_or_else(|| "create needs a name".to_owned())?;
    match (kind, &args.from) {
        ("Job", Some(from)) => {
            let cron = from
                .strip_prefix("cronjob/")
                .ok_or_else(|| "--from must be cronjob/NAME".to_owned())?;
            let mut locked = store.lock()?;
            let cronjob = locked
                .state
                .object("CronJob", cron)
                .cloned()
                .ok_or_else(|| not_found("cronjob.batch", cron))?;
            let job = json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": locked.state.namespace,
                    "labels": cronjob["spec"]["jobTemplate"]["metadata"]["labels"].clone(),
                    "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cron}]},
                "spec": cronjob["spec"]["jobTemplate"]["spec"].clone(),
            });
            if locked.state.objects.contains_key(&format!("Job/{name}")) {
                return Err(Failed(format!(
                    "Error from server (AlreadyExists): jobs.batch \"{name}\" already exists"
                )));
            }
            pods::new_job(&mut locked.state, store.dir(), &name);
            locked.state.objects.insert(format!("Job/{name}"), job);
            locked.save()?;
            println!("job.batch/{name} created");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(Failed("error: the stand-in creates Jobs from CronJobs only".into())),
    }
}
