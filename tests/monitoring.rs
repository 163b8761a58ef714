//! `spec.monitoring`: what each object must be for Prometheus to scrape taosKeeper, evaluate the
//! alerts at the spec's thresholds, and show the dashboard. (promtool runs the alerts in
//! `scripts/conformance`; the API server takes every object in the API-server tier.)

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;
use tdgen::prometheus::{PodMonitor, PrometheusRule};
use tdgen::tdengine::keeper;
use tdgen::{Manifest, Manifests};

use crate::support::{container_env, render_preset, render_request, request, yaml_documents};

fn pod_monitor(manifests: &Manifests) -> Option<&PodMonitor> {
    manifests.objects().iter().find_map(|o| match o {
        Manifest::PodMonitor(p) => Some(p),
        _ => None,
    })
}

fn rule(manifests: &Manifests) -> Option<&PrometheusRule> {
    manifests.objects().iter().find_map(|o| match o {
        Manifest::PrometheusRule(r) => Some(r),
        _ => None,
    })
}

fn dashboard(manifests: &Manifests) -> Option<&ConfigMap> {
    manifests.objects().iter().find_map(|o| match o {
        Manifest::ConfigMap(c) if c.metadata.name.as_deref().is_some_and(|n| n.ends_with("-dashboard")) => Some(c),
        _ => None,
    })
}

/// The expression of the alert `name`.
fn expr<'a>(rule: &'a PrometheusRule, name: &str) -> &'a str {
    rule.spec
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .find(|r| r.alert == name)
        .map(|r| r.expr.as_str())
        .unwrap_or_else(|| panic!("no alert {name}"))
}

/// `name` → its value, or `secretKeyRef:<secret>/<key>`, for the dnode container.
fn env_of(manifests: &Manifests) -> Vec<(String, String)> {
    container_env(manifests)
        .into_iter()
        .map(|v| {
            let value = match (&v.value, &v.value_from) {
                (Some(value), _) => value.clone(),
                (None, Some(from)) => from
                    .secret_key_ref
                    .as_ref()
                    .map(|s| format!("secretKeyRef:{}/{}", s.name, s.key))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            (v.name, value)
        })
        .collect()
}

const PRODUCTION: &str = "metadata: {name: tsdb, namespace: data}\nspec: {preset: production}\n";

#[test]
fn monitoring_is_off_by_default_and_on_in_the_production_preset() {
    for preset in tdgen::Preset::names() {
        let manifests = render_preset(preset);
        let on = preset == "production";
        assert_eq!(pod_monitor(&manifests).is_some(), on, "{preset}: PodMonitor");
        assert_eq!(rule(&manifests).is_some(), on, "{preset}: PrometheusRule");
        assert_eq!(dashboard(&manifests).is_some(), on, "{preset}: dashboard");
    }
    let off = render_request(&request(
        &format!("{PRODUCTION}  monitoring: {{enabled: false}}\n").replace(
            "spec: {preset: production}\n  monitoring",
            "spec:\n  preset: production\n  monitoring",
        ),
    ));
    assert!(pod_monitor(&off).is_none() && rule(&off).is_none() && dashboard(&off).is_none());
    let env = env_of(&off);
    assert!(
        env.iter()
            .all(|(name, _)| !name.starts_with("TAOS_KEEPER_") && !name.starts_with("TAOS_MONITOR"))
    );
    assert!(env.contains(&("TAOS_DISABLE_KEEPER".into(), "1".into())), "{env:?}");
}

#[test]
fn the_pod_monitor_scrapes_taoskeeper_in_every_dnode_pod() {
    let manifests = render_request(&request(PRODUCTION));
    let monitor = pod_monitor(&manifests).expect("a PodMonitor");
    let sts = manifests.statefulset().expect("a StatefulSet");
    let spec = sts.spec.as_ref().expect("spec");
    assert_eq!(monitor.spec.selector, spec.selector, "the StatefulSet's own selector");
    assert_eq!(monitor.metadata.namespace, sts.metadata.namespace);
    assert!(monitor.spec.namespace_selector.is_none());
    let container = &spec.template.spec.as_ref().expect("pod").containers[0];
    let [endpoint] = monitor.spec.pod_metrics_endpoints.as_slice() else {
        panic!("one endpoint")
    };
    let port = container
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(endpoint.port.as_str()))
        .expect("the endpoint names a container port");
    assert_eq!(port.container_port, i32::from(tdgen::tdengine::COMPONENTS[1].port));
    assert_eq!(endpoint.path, keeper::METRICS_PATH);
    let relabeling = &endpoint.relabelings[0];
    assert_eq!(
        (relabeling.target_label.as_str(), relabeling.replacement.as_str()),
        ("tdengine_cluster", "tsdb")
    );
}

#[test]
fn taosd_reports_to_the_keeper_of_its_pod_and_the_keeper_logs_in_with_the_secret() {
    // Env mode, the password from the Secret as a variable.
    let manifests = render_request(&request(
        "metadata: {name: tsdb}\nspec:\n  image: {tag: \"3.3.6.13\"}\n  rootPassword: {secretName: root, key: pw}\n  config: {supportVnodes: 16}\n  monitoring: {}\n",
    ));
    let env = env_of(&manifests);
    for expected in [
        ("TAOS_MONITOR", "1"),
        ("TAOS_MONITOR_FQDN", "localhost"),
        ("TAOS_MONITOR_PORT", "6043"),
        (keeper::PREFIX_ENV, keeper::METRICS_PREFIX),
        (keeper::PASSWORD_ENV, "secretKeyRef:root/pw"),
        ("TAOS_ROOT_PASSWORD", "secretKeyRef:root/pw"),
    ] {
        assert!(
            env.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {env:?}"
        );
    }
    assert!(
        !env.iter()
            .any(|(name, _)| name == "TAOS_DISABLE_KEEPER" || name == "TAOS_DISABLE_ADAPTER")
    );
    // File mode: the parameters are taos.cfg lines.
    let production = render_request(&request(PRODUCTION));
    let cfg = production
        .of_kind("ConfigMap")
        .find_map(|m| match m {
            Manifest::ConfigMap(c) => c.data.as_ref()?.get("taos.cfg").cloned(),
            _ => None,
        })
        .expect("taos.cfg");
    for line in ["monitor 1", "monitorFqdn localhost", "monitorPort 6043"] {
        assert!(cfg.lines().any(|l| l == line), "{line} in\n{cfg}");
    }
}

#[test]
fn alerts_take_their_thresholds_from_the_spec() {
    let manifests = render_request(&request(
        "metadata: {name: tsdb, namespace: data}\nspec:\n  preset: production\n  dnodes: 7\n  storage: {data: {size: 40Gi}}\n  config: {supportVnodes: 10, minimalDataDirGB: 3}\n  backup: {schedule: \"0 */6 * * *\", keep: 3, storage: {size: 500Gi, storageClassName: archive}}\n",
    ));
    let rules = rule(&manifests).expect("a PrometheusRule");
    let gib = 1u64 << 30;
    let expectations = [
        ("TDengineDnodesNotReady", "< 7".to_owned()),
        ("TDengineUnexpectedDnodes", "> 7".to_owned()),
        ("TDengineMnodesMissing", "< 3".to_owned()),
        // The reserve (3 GiB) plus 15% and 5% of the 40Gi volume.
        ("TDengineDataDiskLow", format!("< {}", 3 * gib + 6 * gib)),
        ("TDengineDataDiskFull", format!("< {}", 3 * gib + 2 * gib)),
        ("TDengineVnodesNearLimit", ">= 8".to_owned()),
        // Every 6 hours: twice is 12 hours.
        ("TDengineBackupTooOld", "> 43200".to_owned()),
    ];
    for (alert, threshold) in expectations {
        let expr = expr(rules, alert);
        assert!(expr.contains(&threshold), "{alert}: `{threshold}` in `{expr}`");
        let own = if alert == "TDengineBackupTooOld" {
            "cronjob=\"tsdb-backup\""
        } else {
            "tdengine_cluster=\"tsdb\""
        };
        assert!(expr.contains(own), "{alert}: only this cluster's series: {expr}");
        assert!(
            expr.contains("by (namespace"),
            "{alert}: one alert per namespace: {expr}"
        );
    }
    // Without supportVnodes and without backups, those alerts are not rendered.
    let plain = render_request(&request(
        "metadata: {name: tsdb}\nspec:\n  image: {tag: \"3.3.6.13\"}\n  monitoring: {}\n",
    ));
    let names: BTreeSet<String> = rule(&plain)
        .expect("rule")
        .spec
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| r.alert.clone()))
        .collect();
    assert!(!names.contains("TDengineVnodesNearLimit") && !names.contains("TDengineBackupTooOld"));
    assert!(names.contains("TDengineNoMnodeLeader") && names.contains("TDengineDataDiskFull"));
}

/// Every metric name in a PromQL expression: a name followed by `{`.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in expr.match_indices('{') {
        let name: String = expr[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() && !name.starts_with("by") {
            names.push(name);
        }
    }
    names
}

#[test]
fn every_metric_the_alerts_and_the_dashboard_use_is_one_taoskeeper_serves() {
    let manifests = render_request(&request(
        "metadata: {name: tsdb, namespace: data}\nspec: {preset: production, backup: {storage: {size: 500Gi, storageClassName: archive}}}\n",
    ));
    let mut known: BTreeSet<String> = keeper::METRICS.iter().map(|m| m.name()).collect();
    // Prometheus' own, and kube-state-metrics' for the backup CronJob.
    known.extend(["up", "kube_cronjob_status_last_successful_time", "kube_cronjob_created"].map(String::from));
    let mut used = BTreeSet::new();
    for group in &rule(&manifests).expect("rule").spec.groups {
        for rule in &group.rules {
            used.extend(metric_names(&rule.expr));
        }
    }
    let board = dashboard(&manifests).expect("dashboard");
    let text = board
        .data
        .as_ref()
        .and_then(|d| d.values().next())
        .expect("the dashboard JSON");
    let json: Value = serde_json::from_str(text).expect("the dashboard is JSON");
    for panel in json["panels"].as_array().expect("panels") {
        let targets = panel["targets"].as_array().expect("every panel has targets");
        assert!(!targets.is_empty());
        for target in targets {
            used.extend(metric_names(target["expr"].as_str().expect("expr")));
        }
    }
    assert!(used.len() >= 10, "{used:?}");
    let unknown: Vec<&String> = used.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "metric names not from src/tdengine/keeper.rs: {unknown:?}"
    );
    assert!(json["uid"].as_str().is_some_and(|u| u.len() <= 40));
    assert_eq!(
        board
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("grafana_dashboard"))
            .map(String::as_str),
        Some("1")
    );
}

#[test]
fn the_network_policy_lets_the_scrapers_reach_taoskeeper_and_nothing_else() {
    let manifests = render_request(&request(PRODUCTION));
    let policy = manifests
        .of_kind("NetworkPolicy")
        .find_map(|m| match m {
            Manifest::NetworkPolicy(p) if p.metadata.name.as_deref() == Some("tsdb") => Some(p),
            _ => None,
        })
        .expect("the dnodes' NetworkPolicy");
    let ingress = policy.spec.as_ref().and_then(|s| s.ingress.as_ref()).expect("ingress");
    let scrape = ingress.last().expect("a rule");
    let ports: Vec<_> = scrape.ports.iter().flatten().map(|p| p.port.clone()).collect();
    assert_eq!(
        ports,
        [Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(
            6043
        ))]
    );
    let peer = &scrape.from.as_ref().expect("from")[0];
    let expression = &peer
        .pod_selector
        .as_ref()
        .and_then(|s| s.match_expressions.clone())
        .expect("expressions")[0];
    assert_eq!(expression.key, "app.kubernetes.io/name");
    assert_eq!(expression.values.as_deref(), Some(&["prometheus".to_owned()][..]));
}

#[test]
fn monitoring_objects_go_to_spec_monitoring_namespace_and_select_the_clusters() {
    let manifests = render_request(&request(
        "metadata: {name: tsdb, namespace: data}\nspec:\n  preset: production\n  monitoring: {namespace: monitoring, labels: {release: kps}}\n",
    ));
    let monitor = pod_monitor(&manifests).expect("PodMonitor");
    assert_eq!(monitor.metadata.namespace.as_deref(), Some("monitoring"));
    assert_eq!(
        monitor.spec.namespace_selector.as_ref().map(|s| s.match_names.clone()),
        Some(vec!["data".to_owned()])
    );
    assert_eq!(
        rule(&manifests).and_then(|r| r.metadata.namespace.as_deref()),
        Some("monitoring")
    );
    assert_eq!(
        dashboard(&manifests).and_then(|c| c.metadata.namespace.as_deref()),
        Some("monitoring")
    );
    for labels in [
        &monitor.metadata.labels,
        &rule(&manifests).expect("rule").metadata.labels,
    ] {
        assert_eq!(
            labels.as_ref().and_then(|l| l.get("release")).map(String::as_str),
            Some("kps")
        );
    }
    // The runbooks apply the cluster's namespace only (kubectl refuses another one under -n).
    let text =
        "metadata: {name: tsdb, namespace: data}\nspec:\n  preset: production\n  monitoring: {namespace: monitoring}\n";
    let current = tdgen::check(&request(text)).expect("valid").valid;
    let mut next = request(text);
    next.sets.push("spec.image.tag=3.3.6.14".into());
    let next = tdgen::check(&next).expect("valid").valid;
    let plan = tdgen::runbook::plan_upgrade(&current, &next).expect("a plan");
    assert!(plan.script.contains("kind: StatefulSet") && !plan.script.contains("kind: PodMonitor"));
}

#[test]
fn hostile_alert_label_values_round_trip() {
    let values = [
        "a \"quoted\" value",
        "two\nlines",
        "{{ $value }}",
        "yes",
        "0x1F",
        "日本語: ok",
        "- dash",
    ];
    for value in values {
        let text = format!(
            "metadata: {{name: tsdb}}\nspec:\n  image: {{tag: \"3.3.6.13\"}}\n  monitoring:\n    alerts:\n      labels: {{team: {}}}\n",
            serde_json::to_string(value).expect("a JSON string is a YAML scalar")
        );
        let manifests = render_request(&request(&text));
        let yaml = manifests.to_yaml().expect("yaml");
        let read: Vec<PrometheusRule> = yaml_documents(&yaml)
            .into_iter()
            .filter(|d| d["kind"] == "PrometheusRule")
            .map(|d| serde_json::from_value(d).expect("a PrometheusRule"))
            .collect();
        for alert in read[0].spec.groups.iter().flat_map(|g| &g.rules) {
            assert_eq!(
                alert.labels.get("team").map(String::as_str),
                Some(value),
                "{}",
                alert.alert
            );
        }
    }
}
