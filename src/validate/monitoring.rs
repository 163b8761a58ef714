//! Rules for `spec.monitoring`: taosKeeper must run (and can, in this image), taosd must report
//! to it, the Prometheus Operator objects must be ones the API server takes, and every alert
//! threshold is resolved from the spec.

use std::collections::BTreeMap;

use super::Validator;
use super::names::dns_label;
use crate::model::{AlertSettings, CLUSTER_LABEL, MonitoringSettings, SEVERITY_LABEL, defaults};
use crate::source::join_path;
use crate::spec::{self, ClusterSpec};
use crate::tdengine::{self, keeper, version::Version};

/// The scrape interval unless the spec says otherwise.
const DEFAULT_INTERVAL: &str = "30s";
/// The label the Grafana sidecar of kube-prometheus-stack looks for, and its value.
const DASHBOARD_LABEL: (&str, &str) = ("grafana_dashboard", "1");
/// Alert labels tdgen sets on every alert itself.
const OWNED_ALERT_LABELS: [&str; 2] = [SEVERITY_LABEL, CLUSTER_LABEL];

/// What the monitoring needs from the rest of the resolved spec.
pub(super) struct Context<'a> {
    pub cluster: &'a ClusterSpec,
    pub namespace: Option<&'a str>,
    pub version: Option<Version>,
    pub config: &'a BTreeMap<String, String>,
    pub data_bytes: Option<i128>,
    pub backup_schedule: Option<&'a str>,
}

impl Validator {
    pub(super) fn monitoring(&mut self, context: &Context<'_>) -> Option<MonitoringSettings> {
        let monitoring = context.cluster.monitoring.clone()?;
        if !monitoring.enabled.unwrap_or(true) {
            return None;
        }
        self.keeper_runs(context);
        let labels = self.label_map("spec.monitoring.labels", monitoring.labels.unwrap_or_default(), true);
        let namespace = monitoring.namespace.filter(|n| Some(n.as_str()) != context.namespace);
        if let Some(namespace) = &namespace {
            if let Err(why) = dns_label(namespace, 63) {
                self.error(
                    "invalid-namespace",
                    "spec.monitoring.namespace",
                    format!("`{namespace}` is not a namespace name: {why}"),
                    "namespaces are lowercase DNS labels",
                );
            }
            if context.namespace.is_none() {
                self.error(
                    "monitoring-namespace-unpinned",
                    "spec.monitoring.namespace",
                    "the PodMonitor in another namespace must name the cluster's, and metadata.namespace is not set".into(),
                    "set metadata.namespace, or leave spec.monitoring.namespace out to keep the monitoring objects next to the cluster",
                );
            }
        }
        let interval = monitoring.interval.unwrap_or_else(|| DEFAULT_INTERVAL.into());
        if !prometheus_duration(&interval) {
            self.error(
                "invalid-duration",
                "spec.monitoring.interval",
                format!("`{interval}` is not a Prometheus duration"),
                "write a number and a unit, largest first, e.g. `30s`, `1m`, `1m30s` (units y, w, d, h, m, s, ms); the Prometheus Operator's schema refuses anything else",
            );
        }
        let scrapers = monitoring.scrapers.unwrap_or_else(defaults::scrapers);
        self.peers("spec.monitoring.scrapers", &scrapers);
        if scrapers.is_empty() && context.cluster.network_policy.as_ref().and_then(|p| p.enabled) == Some(true) {
            self.warn(
                "monitoring-no-scrapers",
                "spec.monitoring.scrapers",
                "the NetworkPolicy lets no scraper reach taosKeeper: Prometheus would see every target down".into(),
                "leave spec.monitoring.scrapers out for the Prometheus Operator's pods, or list your Prometheus as a NetworkPolicy peer",
            );
        }
        let alerts = monitoring.alerts.unwrap_or_default();
        let alerts = alerts
            .enabled
            .unwrap_or(true)
            .then(|| self.alerts(context, alerts.labels.unwrap_or_default()));
        let dashboard = monitoring.dashboard.unwrap_or_default();
        let dashboard = dashboard.enabled.unwrap_or(true).then(|| {
            let default = BTreeMap::from([(DASHBOARD_LABEL.0.to_owned(), DASHBOARD_LABEL.1.to_owned())]);
            (
                self.label_map(
                    "spec.monitoring.dashboard.labels",
                    dashboard.labels.unwrap_or(default),
                    true,
                ),
                self.annotation_map(
                    "spec.monitoring.dashboard.annotations",
                    dashboard.annotations.unwrap_or_default(),
                ),
            )
        });
        Some(MonitoringSettings {
            labels,
            namespace,
            interval,
            scrapers,
            pod_monitor: monitoring.pod_monitor.and_then(|p| p.enabled).unwrap_or(true),
            alerts,
            dashboard,
        })
    }

    /// taosKeeper must be on, with taosAdapter (it reads TDengine over REST), in an image whose
    /// entrypoint starts it.
    fn keeper_runs(&mut self, context: &Context<'_>) {
        let components = context.cluster.components.clone().unwrap_or_default();
        let off = |c: Option<spec::Component>| c.and_then(|c| c.enabled) == Some(false);
        if off(components.keeper) {
            self.error(
                "monitoring-without-keeper",
                "spec.components.keeper.enabled",
                "monitoring needs taosKeeper, and it is turned off".into(),
                "remove spec.components.keeper (monitoring turns taosKeeper on), or turn spec.monitoring off",
            );
        }
        if off(components.adapter) {
            self.error(
                "monitoring-without-adapter",
                "spec.components.adapter.enabled",
                "taosKeeper reads TDengine through taosAdapter, and it is turned off".into(),
                "turn taosAdapter on (spec.components.adapter.enabled: true), or turn spec.monitoring off",
            );
        }
        match context.version {
            Some(v) if v < keeper::NO_KEEPER_BEFORE => self.error(
                "monitoring-needs-keeper",
                "spec.monitoring",
                format!("the TDengine {v} image's entrypoint never starts taosKeeper, so nothing would serve metrics"),
                format!(
                    "use an image of TDengine {} or later (the entrypoint {})",
                    keeper::KEEPER_IN_ENTRYPOINT.since,
                    keeper::KEEPER_IN_ENTRYPOINT.what
                ),
            ),
            Some(v) if !keeper::KEEPER_IN_ENTRYPOINT.in_version(v) => self.warn(
                "monitoring-keeper-unverified",
                "spec.monitoring",
                format!("tdgen has not read whether the TDengine {v} image's entrypoint starts taosKeeper"),
                format!(
                    "3.0.7.1's does not, 3.3.6.13's does; check that `taoskeeper` runs in a pod (port {}), or use {} or later",
                    tdengine::KEEPER.port,
                    keeper::KEEPER_IN_ENTRYPOINT.since
                ),
            ),
            _ => {}
        }
    }

    fn alerts(&mut self, context: &Context<'_>, labels: BTreeMap<String, String>) -> AlertSettings {
        for key in labels.keys() {
            let path = join_path("spec.monitoring.alerts.labels", key);
            if OWNED_ALERT_LABELS.contains(&key.as_str()) {
                self.error(
                    "alert-label-owned",
                    &path,
                    format!("tdgen sets the alert label `{key}` itself"),
                    "pick another name; route on `severity` as tdgen sets it (critical, warning)",
                );
            } else if !prometheus_label_name(key) {
                self.error(
                    "invalid-alert-label",
                    &path,
                    format!("`{key}` is not a Prometheus label name"),
                    "letters, digits and `_`, not starting with a digit or `__` (`team`, `service_tier`)",
                );
            }
        }
        let support_vnodes = context
            .config
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("supportVnodes"))
            .and_then(|(_, v)| v.trim().parse::<u32>().ok());
        if support_vnodes.is_none() {
            self.note(
                "monitoring-vnodes-unknown",
                "spec.monitoring",
                "no alert watches the vnodes per dnode: supportVnodes is taosd's default, which depends on the node's CPUs".into(),
                "set spec.config.supportVnodes to get an alert before a dnode runs out of vnodes",
            );
        }
        let backup_gap_seconds = context.backup_schedule.and_then(|schedule| {
            crate::cron::longest_gap_minutes(schedule)
                .ok()
                .map(|minutes| minutes * 60)
        });
        let reserve = super::config::reserve_gb(context.config) * f64::from(1u32 << 30);
        AlertSettings {
            labels,
            reserve_bytes: reserve as u64,
            data_bytes: context.data_bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
            support_vnodes,
            backup_gap_seconds,
        }
    }

    /// taosd reports to the taosKeeper of its pod: `monitor 1`, `monitorFqdn localhost`,
    /// `monitorPort` 6043, unless the spec sets them; a spec that turns reporting off, or sends
    /// it elsewhere, is told.
    pub(super) fn monitor_parameters(&mut self, config: &mut BTreeMap<String, String>) {
        let port = tdengine::KEEPER.port.to_string();
        let wanted = [
            (keeper::MONITOR, "1"),
            (keeper::MONITOR_FQDN, keeper::MONITOR_HOST),
            (keeper::MONITOR_PORT, port.as_str()),
        ];
        for (key, value) in wanted {
            let written = config
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(k, v)| (k.clone(), v.clone()));
            match written {
                None => {
                    config.insert(key.to_owned(), value.to_owned());
                }
                Some((k, v)) if v.trim() != value => self.error(
                    "monitoring-config-conflict",
                    &join_path("spec.config", &k),
                    format!("`{k}: {v}` sends taosd's reports away from the taosKeeper in its pod"),
                    format!("remove it: with spec.monitoring tdgen sets `{key} {value}`"),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The Prometheus Operator's `Duration` pattern: units largest first, each at most once.
fn prometheus_duration(text: &str) -> bool {
    if text == "0" {
        return true;
    }
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = text;
    let mut next_unit = 0;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        let after = &rest[digits..];
        // `ms` before `m`: the longer unit first.
        let Some((index, unit)) = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, u)| after.starts_with(**u))
            .max_by_key(|(_, u)| u.len())
        else {
            return false;
        };
        rest = &after[unit.len()..];
        next_unit = index + 1;
        any = true;
    }
    any
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
fn prometheus_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_operators_pattern() {
        for good in ["30s", "1m", "1m30s", "1h", "500ms", "2w3d", "0"] {
            assert!(prometheus_duration(good), "{good}");
        }
        for bad in ["", "30", "s", "30 s", "1s1m", "1m1m", "-1s", "1.5m", "30sec"] {
            assert!(!prometheus_duration(bad), "{bad}");
        }
    }

    #[test]
    fn alert_label_names_are_prometheus_names() {
        assert!(prometheus_label_name("team"));
        assert!(prometheus_label_name("_x1"));
        assert!(!prometheus_label_name("__name__"));
        assert!(!prometheus_label_name("1a"));
        assert!(!prometheus_label_name("app.kubernetes.io/name"));
    }
}
