//! taosKeeper: how the image runs it, how taosd reports to it, and the Prometheus metrics it
//! serves. The alerts and the dashboard use no metric name that is not written here.
//!
//! Sources:
//! - the 3.3.6.13 image's `entrypoint.sh` (`shared/realsys`): `export
//!   TAOS_KEEPER_TDENGINE_PASSWORD=${TAOS_ROOT_PASSWORD}`, then `taoskeeper &` unless
//!   `TAOS_DISABLE_KEEPER`, after taosAdapter; the 3.0.7.1 image's entrypoint starts taosAdapter
//!   only (no taosKeeper at all).
//! - the taosKeeper reference, `docs/en/14-reference/01-components/06-taoskeeper.md`: its
//!   variables (`TAOS_KEEPER_*`), `/metrics` and `/check_health` on 6043, and that taosd needs
//!   `monitor 1` and `monitorFqdn`.
//! - taosKeeper's source, `tools/keeper/process/handle.go` and `builder.go` in
//!   `taosdata/TDengine`: `/metrics` serves, for every super table of the `log` database but
//!   `data_dir`, `temp_dir`, `taosadapter*` and `taosx_*`, the last row of the past minute of
//!   every column as `<prefix>_<table>_<column>`, with the table's tags as labels; a renaming
//!   table (`metricNameMap`) gives the tables of taosd's newer report protocol (`taosd_*`,
//!   3.3.x) the names of the older ones (`cluster_info`, `d_info`, `m_info`, `dnodes_info`,
//!   `tools/keeper/api/tables.go`, the 3.0.x protocol), so the names below are the same for
//!   both. A role or a status is a gauge of 1 with the word in its `value` label
//!   (`getRoleStr`, `getStatusStr`). A table with no row in the past minute serves nothing.
//!
//! Not verified on a running taosKeeper: the realsys builds have none. Which taosd versions
//! speak which report protocol was not read either; the names are the same in both.

use super::{Capability, version::Version};

/// The prefix of every metric name (`metrics.prefix`, default `taos` in the image's
/// `taoskeeper.toml`). tdgen sets it, so the alerts cannot miss.
pub const METRICS_PREFIX: &str = "taos";
/// The variable that sets [`METRICS_PREFIX`] (`--metrics.prefix`).
pub const PREFIX_ENV: &str = "TAOS_KEEPER_METRICS_PREFIX";
/// The variable taosKeeper reads the root password from (`--tdengine.password`, default
/// `taosdata`).
pub const PASSWORD_ENV: &str = "TAOS_KEEPER_TDENGINE_PASSWORD";
/// Where Prometheus reads the metrics.
pub const METRICS_PATH: &str = "/metrics";

/// taosd's parameters that make it report to the taosKeeper of its own pod: `monitor 1`,
/// `monitorFqdn localhost` (the KubeBlocks addon's and the integrated image's choice, §E), and
/// `monitorPort` (default 6043).
pub const MONITOR: &str = "monitor";
/// See [`MONITOR`].
pub const MONITOR_FQDN: &str = "monitorFqdn";
/// See [`MONITOR`].
pub const MONITOR_PORT: &str = "monitorPort";
/// Where taosd reports: taosKeeper runs in the same pod.
pub const MONITOR_HOST: &str = "localhost";

/// The image's entrypoint starts taosKeeper. Read: 3.0.7.1's does not, 3.3.6.13's does; the
/// versions between were not read, and tdgen takes the release that added the other
/// `TAOS_DISABLE_*`-era variables (`TAOS_ROOT_PASSWORD`, 3.3.6.6) as the first.
pub const KEEPER_IN_ENTRYPOINT: Capability = Capability {
    what: "starts taosKeeper in every pod (unless TAOS_DISABLE_KEEPER)",
    since: Version([3, 3, 6, 6]),
    source: "entrypoint.sh of the 3.0.7.1 and 3.3.6.13 images (shared/realsys); between them not read",
};

/// The oldest 3.x whose entrypoint is known not to start taosKeeper: the whole 3.0 line (read
/// at 3.0.7.1; the 3.0 entrypoint @ `884ae5c2` starts taosAdapter only).
pub const NO_KEEPER_BEFORE: Version = Version([3, 1, 0, 0]);

/// A metric taosKeeper serves, with its labels and what it measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name after [`METRICS_PREFIX`] and `_`.
    pub suffix: &'static str,
    /// What it measures, and its labels.
    pub meaning: &'static str,
}

impl Metric {
    /// The full name.
    pub fn name(self) -> String {
        format!("{METRICS_PREFIX}_{}", self.suffix)
    }
}

/// Dnodes the cluster knows (reported by the mnode leader; label `cluster_id`).
pub const DNODES_TOTAL: Metric = Metric {
    suffix: "cluster_info_dnodes_total",
    meaning: "dnodes registered in the cluster (label cluster_id; reported by the mnode leader)",
};
/// Dnodes alive.
pub const DNODES_ALIVE: Metric = Metric {
    suffix: "cluster_info_dnodes_alive",
    meaning: "dnodes alive (label cluster_id; reported by the mnode leader)",
};
/// Mnodes the cluster has.
pub const MNODES_TOTAL: Metric = Metric {
    suffix: "cluster_info_mnodes_total",
    meaning: "mnodes of the cluster (label cluster_id)",
};
/// Mnodes alive.
pub const MNODES_ALIVE: Metric = Metric {
    suffix: "cluster_info_mnodes_alive",
    meaning: "mnodes alive (label cluster_id)",
};
/// Vgroups alive, and their total.
pub const VGROUPS_ALIVE: Metric = Metric {
    suffix: "cluster_info_vgroups_alive",
    meaning: "vgroups alive (label cluster_id)",
};
/// Vgroups of the cluster.
pub const VGROUPS_TOTAL: Metric = Metric {
    suffix: "cluster_info_vgroups_total",
    meaning: "vgroups of the cluster (label cluster_id)",
};
/// A dnode's status: 1 with `value="ready"` or `value="offline"`.
pub const DNODE_STATUS: Metric = Metric {
    suffix: "d_info_status",
    meaning: "1 per dnode, its status in label value (ready, offline); labels dnode_id, dnode_ep, cluster_id",
};
/// An mnode's role: 1 with `value="leader"`, `"follower"`, `"candidate"`, `"offline"`, ….
pub const MNODE_ROLE: Metric = Metric {
    suffix: "m_info_role",
    meaning: "1 per mnode, its role in label value (leader, follower, candidate, offline, error, learner); labels mnode_id, mnode_ep, cluster_id",
};
/// Vnodes on a dnode.
pub const VNODES_NUM: Metric = Metric {
    suffix: "dnodes_info_vnodes_num",
    meaning: "vnodes on the dnode; labels dnode_id, dnode_ep, cluster_id",
};
/// Bytes used on the file system of the dnode's data directory.
pub const DISK_USED: Metric = Metric {
    suffix: "dnodes_info_disk_used",
    meaning: "bytes used on the dnode's data file system; labels dnode_id, dnode_ep, cluster_id",
};
/// Bytes of the file system of the dnode's data directory.
pub const DISK_TOTAL: Metric = Metric {
    suffix: "dnodes_info_disk_total",
    meaning: "bytes of the dnode's data file system; labels dnode_id, dnode_ep, cluster_id",
};
/// CPU taosd uses, in percent of one core.
pub const CPU_ENGINE: Metric = Metric {
    suffix: "dnodes_info_cpu_engine",
    meaning: "CPU taosd uses, percent; labels dnode_id, dnode_ep, cluster_id",
};
/// Memory taosd uses, in KB.
pub const MEM_ENGINE: Metric = Metric {
    suffix: "dnodes_info_mem_engine",
    meaning: "memory taosd uses, KB; labels dnode_id, dnode_ep, cluster_id",
};

/// taosAdapter's requests, a counter per taosAdapter (`endpoint`) and protocol (`req_type`: 0
/// REST, 1 WebSocket). taosAdapter reports to taosKeeper, which serves them (the taosKeeper
/// reference lists them; how taosAdapter reports was not read).
pub const ADAPTER_REQUESTS: Metric = Metric {
    suffix: "adapter_requests_total",
    meaning: "requests taosAdapter served (counter); labels endpoint, req_type",
};
/// taosAdapter's failed requests.
pub const ADAPTER_FAILURES: Metric = Metric {
    suffix: "adapter_requests_fail",
    meaning: "requests taosAdapter failed (counter); labels endpoint, req_type",
};

/// Every metric tdgen's alerts and dashboard use.
pub const METRICS: [Metric; 15] = [
    DNODES_TOTAL,
    DNODES_ALIVE,
    MNODES_TOTAL,
    MNODES_ALIVE,
    VGROUPS_TOTAL,
    VGROUPS_ALIVE,
    DNODE_STATUS,
    MNODE_ROLE,
    VNODES_NUM,
    DISK_USED,
    DISK_TOTAL,
    CPU_ENGINE,
    MEM_ENGINE,
    ADAPTER_REQUESTS,
    ADAPTER_FAILURES,
];

/// The `value` of [`MNODE_ROLE`] for the leader (`getRoleStr(102)`).
pub const LEADER: &str = "leader";
/// The `value` of [`DNODE_STATUS`] for a dnode that serves (`getStatusStr(1)`).
pub const READY: &str = "ready";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_prometheus_names_and_distinct() {
        let names: Vec<String> = METRICS.iter().map(|m| m.name()).collect();
        for name in &names {
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{name}");
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        assert_eq!(DNODES_ALIVE.name(), "taos_cluster_info_dnodes_alive");
    }

    #[test]
    fn no_keeper_version_precedes_the_keeper_entrypoint() {
        assert!(NO_KEEPER_BEFORE < KEEPER_IN_ENTRYPOINT.since);
        assert!(!KEEPER_IN_ENTRYPOINT.in_version(Version([3, 0, 7, 1])));
        assert!(KEEPER_IN_ENTRYPOINT.in_version(Version([3, 3, 6, 13])));
    }
}
