//! Rules for the three probes: each value in the range Kubernetes accepts, sane timeouts, and
//! a startup budget that lets a returning dnode catch up.

use super::Validator;
use crate::model::{Resolved, defaults};
use crate::spec::{self, ProbeTiming};

/// Exec probe timeouts above this are errors: no health check legitimately takes longer.
pub const MAX_PROBE_TIMEOUT: i64 = 300;

/// The shortest startup budget (failureThreshold × periodSeconds) that lets a returning dnode
/// catch up; the doc warns that a small budget restart-loops it.
pub const MIN_STARTUP_BUDGET_SECONDS: i64 = 300;

impl Validator {
    /// The startup, readiness and liveness probes, each over its default.
    pub(super) fn probes(&mut self, probes: spec::Probes) -> [ProbeTiming; 3] {
        [
            self.probe("startup", probes.startup, defaults::startup_probe()),
            self.probe("readiness", probes.readiness, defaults::readiness_probe()),
            self.probe("liveness", probes.liveness, defaults::liveness_probe()),
        ]
    }

    fn probe(&mut self, which: &str, value: Option<ProbeTiming>, default: ProbeTiming) -> ProbeTiming {
        let given = value.unwrap_or_default();
        let probe = ProbeTiming {
            initial_delay_seconds: given.initial_delay_seconds.or(default.initial_delay_seconds),
            period_seconds: given.period_seconds.or(default.period_seconds),
            timeout_seconds: given.timeout_seconds.or(default.timeout_seconds),
            success_threshold: given.success_threshold.or(default.success_threshold),
            failure_threshold: given.failure_threshold.or(default.failure_threshold),
            termination_grace_period_seconds: given
                .termination_grace_period_seconds
                .or(default.termination_grace_period_seconds),
        };
        let base = format!("spec.probes.{which}");
        let fields = [
            ("initialDelaySeconds", probe.initial_delay_seconds, 0),
            ("periodSeconds", probe.period_seconds, 1),
            ("timeoutSeconds", probe.timeout_seconds, 1),
            ("successThreshold", probe.success_threshold, 1),
            ("failureThreshold", probe.failure_threshold, 1),
            (
                "terminationGracePeriodSeconds",
                probe.termination_grace_period_seconds,
                1,
            ),
        ];
        for (field, value, min) in fields {
            if let Some(v) = value.filter(|v| *v < min || *v > i64::from(i32::MAX)) {
                self.error(
                    "probe-range",
                    &format!("{base}.{field}"),
                    format!("{field} must be at least {min}, not {v}"),
                    "Kubernetes rejects the StatefulSet otherwise",
                );
            }
        }
        if which != "readiness" && probe.success_threshold.is_some_and(|s| s != 1) {
            self.error(
                "probe-success-threshold",
                &format!("{base}.successThreshold"),
                format!("{which} probes must have successThreshold 1"),
                "Kubernetes rejects any other value for liveness and startup probes; remove the field",
            );
        }
        if which == "readiness" && probe.termination_grace_period_seconds.is_some() {
            self.error(
                "probe-readiness-grace",
                &format!("{base}.terminationGracePeriodSeconds"),
                "readiness probes have no terminationGracePeriodSeconds".into(),
                "Kubernetes rejects it (\"must not be set for readinessProbes\"): a failing readiness probe never kills the pod; remove the field",
            );
        }
        match probe.timeout_seconds {
            Some(t) if t > MAX_PROBE_TIMEOUT => self.error("probe-timeout-absurd", &format!("{base}.timeoutSeconds"), format!("a {t} s timeout means a hung taos-check is never noticed"), format!("taos-check answers in well under a second; use 5 (at most {MAX_PROBE_TIMEOUT}). The TDengine doc's 5000 s is a mistake")),
            Some(t) if t > 60 => self.warn("probe-timeout-long", &format!("{base}.timeoutSeconds"), format!("a {t} s timeout hides a hung taos-check for minutes"), "taos-check answers in well under a second; 5 is ample"),
            _ => {}
        }
        probe
    }

    pub(super) fn probe_relations(&mut self, r: &Resolved) {
        let startup = &r.startup_probe;
        let budget = startup
            .failure_threshold
            .unwrap_or(3)
            .saturating_mul(startup.period_seconds.unwrap_or(10));
        if budget < MIN_STARTUP_BUDGET_SECONDS {
            self.warn("startup-budget-short", "spec.probes.startup", format!("the startup probe gives a dnode only {budget} s (failureThreshold × periodSeconds) to start"), format!("a dnode returning after an outage replays its WAL and catches up; with less than {MIN_STARTUP_BUDGET_SECONDS} s it is killed and restart-loops (the TDengine doc's warning). The default is 360 × 10 s"));
        }
        if r.readiness_probe == r.liveness_probe {
            self.warn("probes-identical", "spec.probes.liveness", "the liveness probe is identical to the readiness probe".into(), "a dnode that is briefly unready (e.g. catching up) would also be restarted; give liveness a longer period or a higher failureThreshold");
        }
    }
}
