//! The monitoring objects: a `PodMonitor` for taosKeeper in every dnode pod, a `PrometheusRule`
//! whose thresholds come from the spec, and a Grafana dashboard ConfigMap. Every TDengine metric
//! is one of [`keeper::METRICS`].
//!
//! Every dnode pod runs its own taosKeeper, and each serves the whole cluster's metrics (it reads
//! them back from the `log` database), so Prometheus sees each series once per pod. The alerts
//! and panels take the `max` over pods; the PodMonitor labels every series with
//! `tdengine_cluster: <metadata.name>`, and the alerts group by `namespace`, so two clusters of
//! one name in two namespaces stay apart.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::{metadata, selector};
use crate::blueprint::Blueprint;
use crate::emit::Manifest;
use crate::model::{AlertSettings, CLUSTER_LABEL, MonitoringSettings, SEVERITY_LABEL};
use crate::prometheus::{
    AlertRule, NamespaceSelector, PodMetricsEndpoint, PodMonitor, PodMonitorSpec, PrometheusRule, PrometheusRuleSpec,
    Relabeling, RuleGroup,
};
use crate::tdengine::{self, keeper};

/// kube-state-metrics' time of a CronJob's last successful run, in Unix seconds, and its
/// creation time (`docs/metrics/workload/cronjob-metrics.md` in kubernetes/kube-state-metrics).
const CRONJOB_LAST_SUCCESS: &str = "kube_cronjob_status_last_successful_time";
/// See [`CRONJOB_LAST_SUCCESS`].
const CRONJOB_CREATED: &str = "kube_cronjob_created";
/// Free space below the reserve plus this share of the data volume: a warning.
const DISK_WARNING_SHARE: f64 = 0.15;
/// … plus this share: critical, taosd is about to stop writing.
const DISK_CRITICAL_SHARE: f64 = 0.05;
/// Vnodes on a dnode at this share of `supportVnodes`: a warning.
const VNODES_WARNING_SHARE: f64 = 0.8;

/// The monitoring objects of the blueprint, if it monitors.
pub(super) fn objects(blueprint: &Blueprint) -> Vec<Manifest> {
    let Some(monitoring) = &blueprint.spec.deploy.monitoring else {
        return Vec::new();
    };
    let mut objects = Vec::new();
    if let Some(dashboard) = &monitoring.dashboard {
        objects.push(Manifest::ConfigMap(dashboard_config_map(
            blueprint, monitoring, dashboard,
        )));
    }
    if monitoring.pod_monitor {
        objects.push(Manifest::PodMonitor(pod_monitor(blueprint, monitoring)));
    }
    if let Some(alerts) = &monitoring.alerts {
        objects.push(Manifest::PrometheusRule(prometheus_rule(blueprint, monitoring, alerts)));
    }
    objects
}

/// The monitoring objects' metadata: the cluster's, in the monitoring namespace when one is set.
fn monitoring_metadata(blueprint: &Blueprint, monitoring: &MonitoringSettings, name: &str) -> ObjectMeta {
    let mut meta = metadata(blueprint, name);
    if let Some(namespace) = &monitoring.namespace {
        meta.namespace = Some(namespace.clone());
    }
    meta
}

/// taosKeeper's port on every dnode pod, labelled with the cluster's name. A PodMonitor, not a
/// ServiceMonitor: each pod runs its own taosKeeper, which the StatefulSet's selector already
/// finds, with no Service to add, and a pod is scraped whether it is Ready or not (an
/// Endpoints-based ServiceMonitor loses a not-Ready dnode's keeper just when it matters).
pub fn pod_monitor(blueprint: &Blueprint, monitoring: &MonitoringSettings) -> PodMonitor {
    let mut meta = monitoring_metadata(blueprint, monitoring, &blueprint.name);
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .extend(monitoring.labels.clone());
    let keeper_port = blueprint
        .ports
        .iter()
        .find(|p| p.number == tdengine::KEEPER.port)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    PodMonitor::new(
        meta,
        PodMonitorSpec {
            selector: selector(blueprint),
            namespace_selector: monitoring.namespace.as_ref().map(|_| NamespaceSelector {
                match_names: blueprint.namespace.iter().cloned().collect(),
            }),
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: keeper_port,
                path: keeper::METRICS_PATH.into(),
                interval: monitoring.interval.clone(),
                relabelings: vec![Relabeling {
                    action: "replace".into(),
                    target_label: CLUSTER_LABEL.into(),
                    replacement: blueprint.name.clone(),
                }],
            }],
        },
    )
}

/// The PromQL label matchers of this cluster's series: its name. Not its namespace, even when
/// pinned: the alerts group by namespace, so a kustomize `namespace:` overlay stays safe, and
/// two clusters of one name raise alerts with the same labels, which Alertmanager merges.
fn matchers(blueprint: &Blueprint) -> String {
    format!("{CLUSTER_LABEL}=\"{}\"", blueprint.name)
}

/// `name{matchers}`.
fn series(metric: keeper::Metric, matchers: &str) -> String {
    format!("{}{{{matchers}}}", metric.name())
}

/// A number as PromQL writes it, without a needless fraction.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Bytes in a readable unit, for the alerts' words.
fn bytes(value: f64) -> String {
    const GI: f64 = 1_073_741_824.0;
    format!("{:.1} GiB", value / GI)
}

/// Seconds in a readable unit.
fn duration(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s => format!("{} min", s / 60),
    }
}

/// One alert. Its summary and description name labels (`{{ $labels.dnode_ep }}`), never the
/// value, so they read the same whenever it fires (and a `promtool test rules` case can state
/// them).
struct Alert<'a> {
    name: &'a str,
    expr: String,
    for_: &'a str,
    severity: &'a str,
    summary: String,
    description: String,
    runbook: String,
}

/// The alerts, one group per cluster.
pub fn prometheus_rule(
    blueprint: &Blueprint,
    monitoring: &MonitoringSettings,
    settings: &AlertSettings,
) -> PrometheusRule {
    let mut meta = monitoring_metadata(blueprint, monitoring, &blueprint.name);
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .extend(monitoring.labels.clone());
    let rules = alerts(blueprint, settings)
        .into_iter()
        .map(|alert| {
            let mut labels = settings.labels.clone();
            labels.insert(SEVERITY_LABEL.into(), alert.severity.into());
            labels.insert(CLUSTER_LABEL.into(), blueprint.name.clone());
            AlertRule {
                alert: alert.name.into(),
                expr: alert.expr,
                for_: alert.for_.into(),
                labels,
                annotations: BTreeMap::from([
                    ("summary".into(), alert.summary),
                    ("description".into(), alert.description),
                    ("runbook".into(), alert.runbook),
                ]),
            }
        })
        .collect();
    PrometheusRule::new(
        meta,
        PrometheusRuleSpec {
            groups: vec![RuleGroup {
                name: format!("tdengine-{}", blueprint.name),
                rules,
            }],
        },
    )
}

/// Every alert of this spec, with its threshold.
fn alerts<'a>(blueprint: &Blueprint, settings: &AlertSettings) -> Vec<Alert<'a>> {
    let m = matchers(blueprint);
    let spec = &blueprint.spec;
    let by = "max by (namespace)";
    let plan = |what: &str| format!("tdgen plan {what} -f <this spec>");
    let mut alerts = vec![
        Alert {
            name: "TDengineScrapeTargetDown",
            expr: format!("up{{{m}}} == 0"),
            for_: "5m",
            severity: "warning",
            summary: "taosKeeper in pod {{ $labels.pod }} does not answer Prometheus".into(),
            description: format!(
                "Prometheus cannot scrape taosKeeper (port {}) in {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}}: the pod is down, taosKeeper did not start, or a NetworkPolicy keeps the scraper out (spec.monitoring.scrapers).",
                tdengine::KEEPER.port
            ),
            runbook: "kubectl logs the pod (taosKeeper starts after taosAdapter); check spec.monitoring.scrapers against your Prometheus' pod labels".into(),
        },
        Alert {
            name: "TDengineMetricsMissing",
            expr: format!(
                "count by (namespace) (up{{{m}}} == 1) unless on (namespace) count by (namespace) ({})",
                series(keeper::DNODES_TOTAL, &m)
            ),
            for_: "10m",
            severity: "warning",
            summary: "taosKeeper answers but serves no cluster metrics".into(),
            description: "taosKeeper is scraped, yet no taosd report reached it in the past minute: taosd does not report (monitor, monitorFqdn), taosKeeper cannot log in (the root password), or no mnode leads.".into(),
            runbook: plan("verify"),
        },
        Alert {
            name: "TDengineDnodesNotReady",
            expr: format!("{by} ({}) < {}", series(keeper::DNODES_ALIVE, &m), spec.dnodes),
            for_: "5m",
            severity: "critical",
            summary: format!("fewer than {} dnodes are alive", spec.dnodes),
            description: format!(
                "Fewer of the {} dnodes of spec.dnodes are alive: 3-replica vgroups lose their majority when a second one goes.",
                spec.dnodes
            ),
            runbook: format!("{}; a dnode whose disk or node is lost: {}", plan("verify"), plan("replace-dnode --ordinal <n>")),
        },
        Alert {
            name: "TDengineUnexpectedDnodes",
            expr: format!("{by} ({}) > {}", series(keeper::DNODES_TOTAL, &m), spec.dnodes),
            for_: "30m",
            severity: "warning",
            summary: format!("the cluster has more dnodes than the {} of spec.dnodes", spec.dnodes),
            description: format!("More than the {} dnodes of spec.dnodes are registered: a pod came back with a new data volume and registered a new dnode, and the old one was never dropped (it stays offline and holds its vnodes).", spec.dnodes),
            runbook: plan("replace-dnode --ordinal <n>"),
        },
        Alert {
            name: "TDengineMnodesMissing",
            expr: format!("{by} ({}) < {}", series(keeper::MNODES_ALIVE, &m), spec.mnodes),
            for_: "5m",
            severity: "critical",
            summary: format!("fewer than {} mnodes are alive", spec.mnodes),
            description: format!(
                "Fewer of the {} mnodes of spec.mnodes are alive: with 3 mnodes a second loss stops every DDL and every new connection.",
                spec.mnodes
            ),
            runbook: plan("mnodes"),
        },
        Alert {
            name: "TDengineNoMnodeLeader",
            expr: format!(
                "count by (namespace) ({}) unless on (namespace) count by (namespace) ({})",
                series(keeper::MNODE_ROLE, &m),
                series(keeper::MNODE_ROLE, &format!("{m},value=\"{}\"", keeper::LEADER))
            ),
            for_: "2m",
            severity: "critical",
            summary: "no mnode is the leader".into(),
            description: "mnodes report roles, and none is leader: the cluster takes no DDL and no new connection until a majority of mnodes elects one.".into(),
            runbook: plan("verify"),
        },
    ];
    let reserve = settings.reserve_bytes as f64;
    let volume = settings.data_bytes as f64;
    let free = format!(
        "max by (namespace, dnode_ep) ({} - {})",
        series(keeper::DISK_TOTAL, &m),
        series(keeper::DISK_USED, &m)
    );
    for (name, share, severity, for_) in [
        ("TDengineDataDiskLow", DISK_WARNING_SHARE, "warning", "15m"),
        ("TDengineDataDiskFull", DISK_CRITICAL_SHARE, "critical", "5m"),
    ] {
        let threshold = (reserve + share * volume).round();
        alerts.push(Alert {
            name,
            expr: format!("{free} < {}", number(threshold)),
            for_,
            severity,
            summary: format!(
                "dnode {{{{ $labels.dnode_ep }}}} has less than {} free on its data volume",
                bytes(threshold)
            ),
            description: format!(
                "Below {} free (minimalDataDirGB) taosd stops writing to its data volume. This alert fires at that reserve plus {}% of the {} volume: {}.",
                bytes(reserve),
                number(share * 100.0),
                bytes(volume),
                bytes(threshold)
            ),
            runbook: "grow spec.storage.data.size (tdgen diff says whether the StorageClass allows it), or lower the databases' KEEP".into(),
        });
    }
    if let Some(support) = settings.support_vnodes {
        let threshold = (f64::from(support) * VNODES_WARNING_SHARE).ceil();
        alerts.push(Alert {
            name: "TDengineVnodesNearLimit",
            expr: format!(
                "max by (namespace, dnode_ep) ({}) >= {}",
                series(keeper::VNODES_NUM, &m),
                number(threshold)
            ),
            for_: "15m",
            severity: "warning",
            summary: format!(
                "dnode {{{{ $labels.dnode_ep }}}} holds {} or more vnodes of supportVnodes {support}",
                number(threshold)
            ),
            description: format!(
                "A dnode holds at most supportVnodes ({support}) vnodes, and a CREATE DATABASE that needs more fails. This alert fires at {}% of it: {}.",
                number(VNODES_WARNING_SHARE * 100.0),
                number(threshold)
            ),
            runbook: format!("raise spec.config.supportVnodes, or add dnodes: {}", plan("scale --to <n>")),
        });
    }
    if let (Some(gap), Some(backup)) = (settings.backup_gap_seconds, &blueprint.backup) {
        let limit = 2 * gap;
        let cron = format!("cronjob=\"{}\"", backup.name);
        alerts.push(Alert {
            name: "TDengineBackupTooOld",
            expr: format!(
                "time() - max by (namespace) ({CRONJOB_LAST_SUCCESS}{{{cron}}}) > {limit} or (time() - max by (namespace) ({CRONJOB_CREATED}{{{cron}}}) > {limit} unless on (namespace) max by (namespace) ({CRONJOB_LAST_SUCCESS}{{{cron}}}))"
            ),
            for_: "10m",
            severity: "warning",
            summary: format!("no backup has succeeded for twice the schedule ({})", duration(limit)),
            description: format!(
                "The newest successful run of the CronJob {} is older than {}, twice the longest gap of its schedule `{}`. Needs kube-state-metrics.",
                backup.name,
                duration(limit),
                spec.deploy.backup.as_ref().map(|b| b.schedule.as_str()).unwrap_or_default()
            ),
            runbook: format!(
                "kubectl get jobs -l app.kubernetes.io/component=backup; kubectl logs job/<the failed run>; {} restores the newest good one",
                plan("restore --from <a complete backup>")
            ),
        });
    }
    alerts
}

/// The Grafana dashboard, a ConfigMap the Grafana sidecar reads by its label.
fn dashboard_config_map(
    blueprint: &Blueprint,
    monitoring: &MonitoringSettings,
    (labels, annotations): &(BTreeMap<String, String>, BTreeMap<String, String>),
) -> ConfigMap {
    let name = format!("{}-dashboard", blueprint.name);
    let mut meta = monitoring_metadata(blueprint, monitoring, &name);
    meta.labels.get_or_insert_with(BTreeMap::new).extend(labels.clone());
    if !annotations.is_empty() {
        meta.annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(annotations.clone());
    }
    let text = serde_json::to_string_pretty(&dashboard(blueprint)).unwrap_or_default();
    ConfigMap {
        metadata: meta,
        data: Some(BTreeMap::from([(
            format!("tdengine-{}.json", blueprint.name),
            text + "\n",
        )])),
        ..ConfigMap::default()
    }
}

/// The dashboard's JSON model: the cluster's shape against the spec, then per-dnode resources.
pub(crate) fn dashboard(blueprint: &Blueprint) -> Value {
    let m = format!("{},namespace=~\"$namespace\"", matchers(blueprint));
    let spec = &blueprint.spec;
    let support = spec
        .config
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("supportVnodes"))
        .and_then(|(_, v)| v.parse::<f64>().ok());
    let panels = vec![
        stat(
            1,
            0,
            "Dnodes alive",
            &format!("max({})", series(keeper::DNODES_ALIVE, &m)),
            f64::from(spec.dnodes),
        ),
        stat(
            2,
            6,
            "Mnodes alive",
            &format!("max({})", series(keeper::MNODES_ALIVE, &m)),
            f64::from(spec.mnodes),
        ),
        stat(
            3,
            12,
            "Mnode leaders",
            &format!(
                "count(max by (mnode_id) ({}))",
                series(keeper::MNODE_ROLE, &format!("{m},value=\"{}\"", keeper::LEADER))
            ),
            1.0,
        ),
        stat(
            4,
            18,
            "Vgroups not alive",
            &format!(
                "max({}) - max({})",
                series(keeper::VGROUPS_TOTAL, &m),
                series(keeper::VGROUPS_ALIVE, &m)
            ),
            0.0,
        ),
        graph(
            5,
            0,
            "Free data space by dnode",
            &format!(
                "max by (dnode_ep) ({} - {})",
                series(keeper::DISK_TOTAL, &m),
                series(keeper::DISK_USED, &m)
            ),
            "bytes",
        ),
        graph(
            6,
            12,
            &match support {
                Some(s) => format!("Vnodes by dnode (supportVnodes {})", number(s)),
                None => "Vnodes by dnode".into(),
            },
            &format!("max by (dnode_ep) ({})", series(keeper::VNODES_NUM, &m)),
            "short",
        ),
        graph(
            7,
            0,
            "taosd CPU by dnode",
            &format!("max by (dnode_ep) ({})", series(keeper::CPU_ENGINE, &m)),
            "percent",
        ),
        graph(
            8,
            12,
            "taosd memory by dnode",
            &format!("max by (dnode_ep) ({}) * 1024", series(keeper::MEM_ENGINE, &m)),
            "bytes",
        ),
        graph(
            9,
            0,
            "taosKeeper targets up",
            &format!("sum by (pod) (up{{{m}}})"),
            "short",
        ),
        graph(
            10,
            12,
            "taosAdapter requests and failures per second",
            &format!(
                "max by (endpoint) (rate({}[5m])) or label_replace(max by (endpoint) (rate({}[5m])), \"endpoint\", \"$1 failed\", \"endpoint\", \"(.*)\")",
                series(keeper::ADAPTER_REQUESTS, &m),
                series(keeper::ADAPTER_FAILURES, &m)
            ),
            "reqps",
        ),
    ];
    json!({
        "title": format!("TDengine {}", blueprint.name),
        "uid": dashboard_uid(&blueprint.name),
        "tags": ["tdengine", "tdgen"],
        "schemaVersion": 39,
        "editable": false,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {
                "name": "namespace",
                "type": "query",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "query": format!("label_values({}, namespace)", series(keeper::DNODES_TOTAL, &matchers(blueprint))),
                "refresh": 2,
                "label": "Namespace",
            },
        ]},
        "panels": panels,
    })
}

/// Grafana's uid holds at most 40 characters.
fn dashboard_uid(name: &str) -> String {
    let uid = format!("tdgen-{name}");
    uid.chars().take(40).collect()
}

fn target(expr: &str, legend: &str) -> Value {
    json!({"datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": expr, "legendFormat": legend, "refId": "A"})
}

/// A single number, red when it is below `expected` (or above it, for a count of failures at 0).
fn stat(id: u32, x: u32, title: &str, expr: &str, expected: f64) -> Value {
    let steps = if expected == 0.0 {
        json!([{"color": "green", "value": null}, {"color": "red", "value": 1}])
    } else {
        json!([{"color": "red", "value": null}, {"color": "green", "value": expected}])
    };
    json!({
        "id": id, "type": "stat", "title": title,
        "gridPos": {"h": 4, "w": 6, "x": x, "y": 0},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "targets": [target(expr, "")],
        "fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": steps}}, "overrides": []},
    })
}

/// A time series per dnode.
fn graph(id: u32, x: u32, title: &str, expr: &str, unit: &str) -> Value {
    json!({
        "id": id, "type": "timeseries", "title": title,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": 4 + (id - 5) / 2 * 8},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "targets": [target(expr, "{{dnode_ep}}{{pod}}{{endpoint}}")],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
    })
}
