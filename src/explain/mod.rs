//! `tdgen explain`: a short human summary of what a spec deploys — FQDNs, mnodes, failure
//! tolerance, storage and how clients connect — and the same as a picture ([`diagram`]).

mod diagram;

pub use diagram::{DiagramFormat, diagram};
use serde_json::json;

use crate::blueprint::Blueprint;
use crate::error::Error;
use crate::model::ValidSpec;
use crate::quantity::Quantity;

/// Describe a validated spec in plain text.
pub fn explain(spec: &ValidSpec) -> Result<String, Error> {
    let blueprint = Blueprint::new(spec);
    let deploy = &spec.deploy;
    let (namespace_dns, namespace_text, namespace_cli) = match &spec.namespace {
        Some(ns) => (ns.clone(), ns.clone(), ns.clone()),
        None => (
            "<namespace>".into(),
            "not pinned: the namespace you apply into (<namespace> below)".into(),
            "<namespace>".into(),
        ),
    };
    let dnode_list: Vec<_> = (0..spec.dnodes)
        .map(|i| json!({ "ordinal": i, "endpoint": blueprint.endpoint(i, &namespace_dns), "mnode": i < spec.mnodes }))
        .collect();
    let client = deploy.client_service.as_ref();
    let context = json!({
        "name": spec.name,
        "image": blueprint.image,
        "version": spec.version.map(|v| v.to_string()),
        "namespace_text": namespace_text,
        "namespace_dns": namespace_dns,
        "namespace_cli": namespace_cli,
        "dnodes": spec.dnodes,
        "mnodes": spec.mnodes,
        "pod_management_policy": spec.pod_management_policy.as_str(),
        "dnode_list": dnode_list,
        "first_endpoint": blueprint.first_endpoint(&namespace_dns),
        "first_fqdn": blueprint.pod_fqdn(0, &namespace_dns),
        "port": spec.server_port,
        "domain": spec.cluster_domain,
        "job": blueprint.bootstrap.is_some().then(|| crate::build::bootstrap_job(&blueprint).metadata.name.unwrap_or_default()),
        "survival": survival(spec.dnodes, spec.mnodes),
        "storage": storage(spec),
        "backup": deploy.backup.as_ref().map(|b| json!({
            "schedule": b.schedule,
            "databases": if b.databases.is_empty() { "every database".to_owned() } else { b.databases.join(", ") },
            "keep": b.keep,
            "size": b.size,
            "class": b.storage_class.clone().unwrap_or_else(|| "the default class".to_owned()),
            "name": blueprint.backup.as_ref().map(|p| p.name.clone()),
        })),
        "monitoring": deploy.monitoring.as_ref().map(|m| json!({
            "keeper_port": crate::tdengine::KEEPER.port,
            "path": crate::tdengine::keeper::METRICS_PATH,
            "namespace": m.namespace.clone().unwrap_or_else(|| namespace_cli.clone()),
            "interval": m.interval,
            "pod_monitor": m.pod_monitor,
            "labels": m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
            "alerts": crate::build::alert_names(&blueprint).into_iter().map(|(severity, name, summary)| json!({
                "severity": severity,
                "name": name,
                "summary": summary.replace("{{ $labels.dnode_ep }}", "<dnode>").replace("{{ $labels.pod }}", "<pod>"),
            })).collect::<Vec<_>>(),
            "dashboard": m.dashboard.as_ref().map(|(labels, _)| labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")),
            "name": spec.name,
            "no_vnodes_alert": m.alerts.as_ref().is_some_and(|a| a.support_vnodes.is_none()),
        })),
        "rest": deploy.adapter && client.is_some(),
        "client_service": blueprint.client_service,
        "client_type": client.map(|c| c.type_.clone()),
        "external": client.is_some_and(|c| c.type_ != "ClusterIP"),
    });
    crate::templates::render("explain.txt.j2", context)
}

/// How many dnode failures databases of each replica count survive, given the mnodes.
fn survival(dnodes: u32, mnodes: u32) -> Vec<String> {
    let management = if mnodes == 3 {
        "the 3 mnodes keep their majority with 1 dnode down".to_owned()
    } else {
        "the single mnode is on dnode 0: while dnode 0 is down the cluster cannot be managed or joined".to_owned()
    };
    let mut lines = vec![
        "REPLICA 1 databases: none — each vgroup lives on one dnode; its data is unavailable while that dnode is down"
            .to_owned(),
    ];
    if dnodes >= 3 {
        let tolerated = if mnodes == 3 {
            "1 dnode (2 of 3 replicas keep the RAFT majority)"
        } else {
            "1 dnode other than dnode 0"
        };
        lines.push(format!("REPLICA 3 databases: {tolerated}; 2 down stops writes"));
    } else {
        lines.push(format!(
            "REPLICA 3 databases: cannot be created with {dnodes} dnode(s) (each replica needs its own dnode)"
        ));
    }
    lines.push(format!("management: {management}"));
    lines
}

/// Total requested storage: dnodes × (data + logs).
fn storage(spec: &ValidSpec) -> String {
    let bytes = |size: &str| Quantity::parse(size).map(|q| q.ceil_units()).unwrap_or(0);
    let per_dnode_data = bytes(&spec.data_size);
    let logs = spec.deploy.logs.as_ref().map(|(size, _)| bytes(size)).unwrap_or(0);
    let total = Quantity::from_bytes(i128::from(spec.dnodes) * (per_dnode_data + logs)).canonical();
    let named = |class: Option<&str>| match class {
        None => "the cluster's default StorageClass".to_owned(),
        Some("") => "no StorageClass (pre-provisioned volumes)".to_owned(),
        Some(class) => class.to_owned(),
    };
    let class = named(spec.data_storage_class.as_deref());
    match &spec.deploy.logs {
        // Each claim template names its own class: say both when they differ.
        Some((log_size, log_class)) if *log_class != spec.data_storage_class => format!(
            "{total} ({} × ({} data on {class} + {log_size} logs on {}))",
            spec.dnodes,
            spec.data_size,
            named(log_class.as_deref())
        ),
        Some((log_size, _)) => format!(
            "{total} ({} × ({} data + {log_size} logs), {class})",
            spec.dnodes, spec.data_size
        ),
        None => format!("{total} ({} × {} data, {class})", spec.dnodes, spec.data_size),
    }
}
