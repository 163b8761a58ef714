//! A picture of the cluster for pull requests and docs: the dnodes (and which hold mnodes),
//! the Services, each dnode's volumes, the bootstrap Job, the backups and the client paths, as a Mermaid
//! flowchart (GitHub renders it) or a Graphviz digraph. One graph, two writers.

use crate::blueprint::Blueprint;
use crate::model::{ValidSpec, volumes};
use crate::tdengine;

/// The drawing language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagramFormat {
    /// A Mermaid `flowchart`.
    Mermaid,
    /// A Graphviz `digraph`.
    Dot,
}

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Box,
    Rounded,
    Volume,
    Client,
}

struct Node {
    id: String,
    label: String,
    shape: Shape,
    /// The subgraph it belongs to: `None` for the outside, `Some(0)` the namespace, `Some(1)`
    /// the StatefulSet.
    group: Option<usize>,
}

struct Edge {
    from: String,
    to: String,
    label: String,
    dashed: bool,
}

struct Graph {
    groups: [String; 2],
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// Draw a validated spec's cluster.
pub fn diagram(spec: &ValidSpec, format: DiagramFormat) -> String {
    let graph = graph(spec);
    match format {
        DiagramFormat::Mermaid => mermaid(&graph),
        DiagramFormat::Dot => dot(&graph),
    }
}

fn graph(spec: &ValidSpec) -> Graph {
    let blueprint = Blueprint::new(spec);
    let namespace = spec.namespace.clone().unwrap_or_else(|| "<namespace>".into());
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let node = |id: &str, label: String, shape: Shape, group: Option<usize>| Node {
        id: id.into(),
        label,
        shape,
        group,
    };
    let edge = |from: &str, to: String, label: &str, dashed: bool| Edge {
        from: from.into(),
        to,
        label: label.into(),
        dashed,
    };
    nodes.push(node(
        "headless",
        format!(
            "Service {}\nheadless: one DNS name per dnode",
            blueprint.headless_service
        ),
        Shape::Rounded,
        Some(0),
    ));
    for ordinal in 0..spec.dnodes {
        let id = format!("dnode{ordinal}");
        let role = if ordinal < spec.mnodes {
            "dnode + mnode"
        } else {
            "dnode"
        };
        let label = format!(
            "{}-{ordinal}: {role}\n{}",
            spec.name,
            blueprint.endpoint(ordinal, &namespace)
        );
        nodes.push(node(&id, label, Shape::Box, Some(1)));
        let data = format!("pvc{ordinal}");
        nodes.push(node(
            &data,
            format!("PVC {}\n{}", blueprint.data_pvc(ordinal), spec.data_size),
            Shape::Volume,
            Some(0),
        ));
        edges.push(edge(&id, data, tdengine::DATA_DIR, false));
        if let Some((size, _)) = &spec.deploy.logs {
            let logs = format!("logs{ordinal}");
            let name = format!("{}-{}-{ordinal}", volumes::LOG, spec.name);
            nodes.push(node(&logs, format!("PVC {name}\n{size}"), Shape::Volume, Some(0)));
            edges.push(edge(&id, logs, tdengine::LOG_DIR, false));
        }
        edges.push(edge("headless", id.clone(), "DNS", true));
        if ordinal > 0 {
            edges.push(edge(&id, "dnode0".into(), "joins through TAOS_FIRST_EP", true));
        }
    }
    if spec.mnodes > 1 && blueprint.bootstrap.is_some() {
        let job = crate::build::bootstrap_job(&blueprint)
            .metadata
            .name
            .unwrap_or_default();
        nodes.push(node(
            "job",
            format!("Job {job}\ncreates the extra mnodes"),
            Shape::Rounded,
            Some(0),
        ));
        edges.push(edge("job", "dnode0".into(), "create mnode (SQL)", false));
    }
    if let (Some(backup), Some(settings)) = (&blueprint.backup, &spec.deploy.backup) {
        nodes.push(node(
            "backup",
            format!("CronJob {}\ntaosdump at {}", backup.name, settings.schedule),
            Shape::Rounded,
            Some(0),
        ));
        nodes.push(node(
            "backups",
            format!("PVC {}\n{}, keeps {}", backup.name, settings.size, settings.keep),
            Shape::Volume,
            Some(0),
        ));
        edges.push(edge("backup", "dnode0".into(), "dumps (native)", false));
        edges.push(edge("backup", "backups".into(), crate::blueprint::BACKUP_DIR, false));
    }
    if let Some(monitoring) = &spec.deploy.monitoring {
        // Objects in spec.monitoring.namespace are drawn outside the cluster's namespace.
        let (group, place) = match &monitoring.namespace {
            Some(other) => (None, format!("\nnamespace {other}")),
            None => (Some(0), String::new()),
        };
        nodes.push(node(
            "prometheus",
            "Prometheus\n(Prometheus Operator)".into(),
            Shape::Client,
            None,
        ));
        let scrape = format!("{} {}", tdengine::KEEPER.port, tdengine::keeper::METRICS_PATH);
        for ordinal in 0..spec.dnodes {
            edges.push(edge("prometheus", format!("dnode{ordinal}"), &scrape, true));
        }
        if monitoring.pod_monitor {
            let label = format!("PodMonitor {}\nevery {}{place}", spec.name, monitoring.interval);
            nodes.push(node("podmonitor", label, Shape::Rounded, group));
            edges.push(edge("prometheus", "podmonitor".into(), "finds the targets", false));
        }
        if monitoring.alerts.is_some() {
            let rules = crate::build::alert_names(&blueprint).len();
            let label = format!("PrometheusRule {}\n{rules} alerts{place}", spec.name);
            nodes.push(node("rules", label, Shape::Rounded, group));
            edges.push(edge("prometheus", "rules".into(), "evaluates", false));
        }
        if monitoring.dashboard.is_some() {
            let label = format!("ConfigMap {}-dashboard\nGrafana dashboard{place}", spec.name);
            nodes.push(node("dashboard", label, Shape::Rounded, group));
        }
    }
    let port = spec.server_port.to_string();
    nodes.push(node(
        "native",
        "native clients\n(in the cluster)".into(),
        Shape::Client,
        None,
    ));
    for ordinal in 0..spec.dnodes {
        edges.push(edge("native", format!("dnode{ordinal}"), &port, false));
    }
    if let Some(client) = spec.deploy.client_service.as_ref().filter(|_| spec.deploy.adapter) {
        let service = format!("Service {}\n{}", blueprint.client_service, client.type_);
        nodes.push(node("client", service, Shape::Rounded, Some(0)));
        nodes.push(node("rest", "REST / WebSocket clients".into(), Shape::Client, None));
        edges.push(edge(
            "rest",
            "client".into(),
            &tdengine::ADAPTER.port.to_string(),
            false,
        ));
        for ordinal in 0..spec.dnodes {
            edges.push(edge("client", format!("dnode{ordinal}"), tdengine::ADAPTER.name, false));
        }
    }
    let groups = [
        format!("namespace {namespace}"),
        format!(
            "StatefulSet {} ({} dnodes, {} mnodes)",
            spec.name, spec.dnodes, spec.mnodes
        ),
    ];
    Graph { groups, nodes, edges }
}

fn mermaid(graph: &Graph) -> String {
    // Mermaid labels are HTML: its entity codes keep quotes and angle brackets as text.
    let label = |text: &str| {
        let escaped = text.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;");
        format!("\"{}\"", escaped.replace('\n', "<br/>"))
    };
    let shaped = |n: &Node| match n.shape {
        Shape::Box => format!("{}[{}]", n.id, label(&n.label)),
        Shape::Rounded => format!("{}({})", n.id, label(&n.label)),
        Shape::Volume => format!("{}[({})]", n.id, label(&n.label)),
        Shape::Client => format!("{}>{}]", n.id, label(&n.label)),
    };
    let mut out = String::from("flowchart LR\n");
    for node in graph.nodes.iter().filter(|n| n.group.is_none()) {
        out.push_str(&format!("  {}\n", shaped(node)));
    }
    out.push_str(&format!("  subgraph ns[{}]\n", label(&graph.groups[0])));
    for node in graph.nodes.iter().filter(|n| n.group == Some(0)) {
        out.push_str(&format!("    {}\n", shaped(node)));
    }
    out.push_str(&format!("    subgraph sts[{}]\n", label(&graph.groups[1])));
    for node in graph.nodes.iter().filter(|n| n.group == Some(1)) {
        out.push_str(&format!("      {}\n", shaped(node)));
    }
    out.push_str("    end\n  end\n");
    for e in &graph.edges {
        let arrow = if e.dashed { "-.->" } else { "-->" };
        out.push_str(&format!("  {} {arrow}|{}| {}\n", e.from, label(&e.label), e.to));
    }
    out
}

fn dot(graph: &Graph) -> String {
    let quote = |text: &str| {
        format!(
            "\"{}\"",
            text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
        )
    };
    let shaped = |n: &Node| {
        let shape = match n.shape {
            Shape::Box => "box",
            Shape::Rounded => "box, style=rounded",
            Shape::Volume => "cylinder",
            Shape::Client => "cds",
        };
        format!("{} [label={}, shape={shape}]", n.id, quote(&n.label))
    };
    let mut out = String::from("digraph tdengine {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    for node in graph.nodes.iter().filter(|n| n.group.is_none()) {
        out.push_str(&format!("  {};\n", shaped(node)));
    }
    out.push_str(&format!(
        "  subgraph cluster_ns {{\n    label={};\n",
        quote(&graph.groups[0])
    ));
    for node in graph.nodes.iter().filter(|n| n.group == Some(0)) {
        out.push_str(&format!("    {};\n", shaped(node)));
    }
    out.push_str(&format!(
        "    subgraph cluster_sts {{\n      label={};\n",
        quote(&graph.groups[1])
    ));
    for node in graph.nodes.iter().filter(|n| n.group == Some(1)) {
        out.push_str(&format!("      {};\n", shaped(node)));
    }
    out.push_str("    }\n  }\n");
    for e in &graph.edges {
        let style = if e.dashed { ", style=dashed" } else { "" };
        out.push_str(&format!(
            "  {} -> {} [label={}{style}];\n",
            e.from,
            e.to,
            quote(&e.label)
        ));
    }
    out.push_str("}\n");
    out
}
