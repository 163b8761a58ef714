//! Rules for where dnodes run and how many may be away at once: tolerations, topology keys,
//! zone spread and the disruption budget.

use super::Validator;
use super::names::{label_value, qualified_name};
use crate::spec;

impl Validator {
    /// Tolerations as the API server validates them (kube-apiserver v1.36.2 refuses each case
    /// below in these words' sense; a negative `tolerationSeconds` it accepts and treats as 0).
    pub(super) fn tolerations(&mut self, tolerations: spec::Tolerations) -> spec::Tolerations {
        for (i, t) in tolerations.iter().enumerate() {
            let path = format!("spec.tolerations[{i}]");
            let key = t.key.as_deref().unwrap_or_default();
            let operator = t.operator.as_deref().unwrap_or("Equal");
            let value = t.value.as_deref().unwrap_or_default();
            if !key.is_empty()
                && let Err(why) = qualified_name(key)
            {
                let message = format!("`{key}` is not a valid taint key: {why}");
                self.error(
                    "invalid-toleration",
                    &format!("{path}.key"),
                    message,
                    "use the key of the node taint to tolerate",
                );
            }
            self.one_of(&format!("{path}.operator"), operator, &["Equal", "Exists"]);
            if key.is_empty() && operator != "Exists" {
                self.error(
                    "invalid-toleration",
                    &format!("{path}.operator"),
                    "a toleration without a key must have operator Exists (it tolerates every taint)".into(),
                    "set the key of the taint, or `operator: Exists`",
                );
            }
            if operator == "Exists" && !value.is_empty() {
                self.error(
                    "invalid-toleration",
                    &format!("{path}.value"),
                    format!("`{value}`: a toleration with operator Exists takes no value"),
                    "remove the value, or use `operator: Equal`",
                );
            } else if let Err(why) = label_value(value) {
                self.error(
                    "invalid-toleration",
                    &format!("{path}.value"),
                    format!("`{value}` is not a valid taint value: {why}"),
                    "taint values are label values",
                );
            }
            if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty()) {
                self.one_of(
                    &format!("{path}.effect"),
                    effect,
                    &["NoSchedule", "PreferNoSchedule", "NoExecute"],
                );
            }
            if let Some(seconds) = t.toleration_seconds {
                if t.effect.as_deref() != Some("NoExecute") {
                    self.error(
                        "invalid-toleration",
                        &format!("{path}.tolerationSeconds"),
                        "tolerationSeconds applies only to `effect: NoExecute`".into(),
                        "set `effect: NoExecute`, or remove tolerationSeconds",
                    );
                } else if seconds < 0 {
                    self.warn(
                        "toleration-negative-seconds",
                        &format!("{path}.tolerationSeconds"),
                        format!("tolerationSeconds {seconds} evicts the pod at once, as 0 does"),
                        "use 0 to say so, or the seconds the dnode may stay on a tainted node",
                    );
                }
            }
        }
        tolerations
    }

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
