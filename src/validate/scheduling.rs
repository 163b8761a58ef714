//! Rules for where dnodes run and how many may be away at once: topology keys, zone spread
//! and the disruption budget.

use super::Validator;
use super::names::qualified_name;
use crate::spec;

impl Validator {
    pub(super) fn topology_key(&mut self, path: &str, key: Option<String>, default: &str) -> String {
        let key = key.unwrap_or_else(|| default.to_owned());
        if let Err(why) = qualified_name(&key) {
            self.error(
                "invalid-topology-key",
                path,
                format!("`{key}` is not a valid topology key: {why}"),
                format!("use a node label key such as `{default}`"),
            );
        }
        key
    }

    pub(super) fn topology_spread(&mut self, spread: spec::TopologySpread) -> Option<(String, i32, String)> {
        if !spread.enabled.unwrap_or(false) {
            return None;
        }
        let key = self.topology_key(
            "spec.topologySpread.topologyKey",
            spread.topology_key,
            "topology.kubernetes.io/zone",
        );
        let skew = self.bounded("spec.topologySpread.maxSkew", spread.max_skew, 1, 1, 1000);
        let when = spread.when_unsatisfiable.unwrap_or_else(|| "ScheduleAnyway".into());
        self.one_of(
            "spec.topologySpread.whenUnsatisfiable",
            &when,
            &["ScheduleAnyway", "DoNotSchedule"],
        );
        Some((key, skew, when))
    }

    pub(super) fn disruption_budget(
        &mut self,
        pdb: spec::DisruptionBudget,
        dnodes: u32,
        minor: u32,
    ) -> Option<(i32, String)> {
        let enabled = pdb.enabled.unwrap_or(dnodes >= 3);
        if !enabled {
            return None;
        }
        if dnodes < 2 {
            self.warn(
                "pdb-single-dnode",
                "spec.disruptionBudget.enabled",
                format!("a disruption budget over {dnodes} dnode blocks every node drain"),
                "leave it off for a single dnode",
            );
        }
        let max = pdb.max_unavailable.unwrap_or(1);
        if max < 1 {
            self.error(
                "pdb-blocks-drains",
                "spec.disruptionBudget.maxUnavailable",
                format!("maxUnavailable {max} blocks every voluntary eviction, so node drains hang forever"),
                "use 1: one dnode at a time keeps every 3-replica RAFT group writable",
            );
        } else if max > 1 && dnodes >= 3 {
            self.warn(
                "pdb-loses-quorum",
                "spec.disruptionBudget.maxUnavailable",
                format!("maxUnavailable {max} lets a drain take {max} dnodes at once"),
                "3-replica databases and 3 mnodes lose their majority with 2 dnodes down; use 1",
            );
        }
        let policy = pdb
            .unhealthy_pod_eviction_policy
            .unwrap_or_else(|| "AlwaysAllow".into());
        self.one_of(
            "spec.disruptionBudget.unhealthyPodEvictionPolicy",
            &policy,
            &["AlwaysAllow", "IfHealthyBudget"],
        );
        if minor < 27 {
            self.note(
                "field-needs-newer-kubernetes",
                "spec.kubernetesVersion",
                format!("unhealthyPodEvictionPolicy needs Kubernetes 1.27; it is left out for 1.{minor}"),
                "raise spec.kubernetesVersion once every cluster runs 1.27 or later",
            );
        }
        Some((max.clamp(1, i64::from(i32::MAX)) as i32, policy))
    }
}
