//! How a running cluster takes a changed taosd parameter: by `ALTER ALL DNODES` (at once, or at
//! the next restart), by the new render's rollout, or not at all. Read off the parameter
//! catalog (the taosd reference's "Dynamic Modification" column, and the ALTERs real builds
//! refused) and whether the version keeps its first values in dataDir.

use super::catalog;
use super::version::Version;

/// How a running cluster takes one changed parameter (what `tdgen plan config` does with it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LiveChange {
    /// `ALTER ALL DNODES` now; `at_once` when it takes effect without a restart.
    Alter {
        /// Takes effect without a restart.
        at_once: bool,
    },
    /// The new render's rollout: the restarted dnodes read it from taos.cfg or `TAOS_*`.
    Rollout,
    /// Not on a running cluster of this version, and why.
    Refused(String),
}

/// How a cluster running `running` takes the parameter `name` changed to `value` (`None`:
/// removed): the taosd reference's "Dynamic Modification" for that version, and whether taosd
/// keeps its first values in dataDir (then only `ALTER` changes anything; before, a restart
/// reads the new render).
pub fn live_change(name: &str, value: Option<&str>, running: Version) -> LiveChange {
    let persisted = super::PERSISTED_CONFIG.in_version(running);
    let (live, cluster_wide) = match catalog::lookup(name) {
        catalog::Lookup::Known(p) => (p.live_in(running), p.cluster_wide),
        _ => (catalog::Live::Never, false),
    };
    let Some(value) = value else {
        return if persisted {
            LiveChange::Refused(format!(
                "removing it does not reset it: from {} taosd keeps the value it has; set the value you want instead",
                super::PERSISTED_CONFIG.since
            ))
        } else {
            LiveChange::Rollout
        };
    };
    if value.contains(['\'', '\\']) {
        return LiveChange::Refused(
            "its value holds a quote or a backslash, which the SQL string of ALTER cannot carry as it is".into(),
        );
    }
    match live {
        catalog::Live::Immediate => LiveChange::Alter { at_once: true },
        catalog::Live::AfterRestart if persisted => LiveChange::Alter { at_once: false },
        catalog::Live::AfterRestart => LiveChange::Rollout,
        _ if persisted => LiveChange::Refused(format!(
            "TDengine {running} does not change it by ALTER (the taosd reference, or a real build that refused it), and from {} taosd ignores a new value in taos.cfg or TAOS_*",
            super::PERSISTED_CONFIG.since
        )),
        _ if cluster_wide => LiveChange::Refused(
            "it must match on every dnode and cannot be changed by ALTER, so a rolling restart would split the cluster"
                .into(),
        ),
        _ => LiveChange::Rollout,
    }
}
