//! Everything tdgen knows about TDengine's image and taosd, each fact with where it comes from.
//! No other module writes down a TDengine port, path, variable name or version: they ask here.
//!
//! Sources are named by file and commit; most are summarised in
//! `shared/reference/tdengine-anchors.md` (cited as §D1 …). The SQL the scripts send and the
//! refusals they read are in [`sql`]; how the scripts read what the `taos` shell prints is in
//! `templates/shell/taos.sh.j2`, measured against the real shells of `shared/realsys`.

pub mod catalog;
pub mod env;
pub mod keeper;
pub mod live;
pub mod sql;
pub mod version;

use version::Version;

/// The official image's repository, the one the TDengine doc deploys
/// (`shared/reference/000_ea4452c3e6a9ad2d.txt`, `image: "tdengine/tdengine:3.0.7.1"`).
pub(crate) const OFFICIAL_IMAGE: &str = "tdengine/tdengine";
/// The major version tdgen renders clusters for.
pub(crate) const SUPPORTED_MAJOR: u32 = 3;

/// taosd's port unless `serverPort` says otherwise: in 3.x its only server port, TCP
/// (taosd reference `serverPort`; §D4).
pub(crate) const DEFAULT_SERVER_PORT: u16 = 6030;

/// The highest `serverPort` taosd takes: it registers the parameter with the range 1–65056
/// (`cfgAddInt32(pCfg, "serverPort", defaultServerPort, 1, 65056, …)` in
/// source/common/src/tglobal.c, the same from the first 3.0 sources to 3.3's), and its
/// `cfgSetInt32` refuses a value outside it with `TSDB_CODE_OUT_OF_RANGE`
/// (source/util/src/tconfig.c).
pub(crate) const MAX_SERVER_PORT: u16 = 65056;

/// A companion process the image's entrypoint starts next to taosd unless told not to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// Its name in the TDengine docs.
    pub name: &'static str,
    /// The TCP port it binds in every pod.
    pub port: u16,
    /// The variable that, set to `1`, keeps the entrypoint from starting it.
    pub disable_env: &'static str,
}

/// taosAdapter: REST and WebSocket (entrypoint.sh @ `884ae5c2` and @ `15240844`; §D3, §D4).
pub(crate) const ADAPTER: Component = Component {
    name: "taosAdapter",
    port: 6041,
    disable_env: "TAOS_DISABLE_ADAPTER",
};
/// taosKeeper: the metrics exporter (entrypoint.sh @ `15240844`; §D3, §D4).
pub(crate) const KEEPER: Component = Component {
    name: "taosKeeper",
    port: 6043,
    disable_env: "TAOS_DISABLE_KEEPER",
};
/// taosExplorer: the web UI (entrypoint.sh @ `15240844`; §D3, §D4).
pub(crate) const EXPLORER: Component = Component {
    name: "taosExplorer",
    port: 6060,
    disable_env: "TAOS_DISABLE_EXPLORER",
};
/// Every companion the official image starts, in the order tdgen lists their ports.
pub const COMPONENTS: [Component; 3] = [ADAPTER, KEEPER, EXPLORER];

/// Where taosd keeps its data: the default `dataDir`, and a `VOLUME` of the image's
/// Dockerfile (§D3, §D5).
pub(crate) const DATA_DIR: &str = "/var/lib/taos";
/// Where taosd writes its logs: the default `logDir`, and a `VOLUME` of the image (§D3, §D5).
pub(crate) const LOG_DIR: &str = "/var/log/taos";
/// The file taosd reads its parameters from (`configDir` defaults to `/etc/taos`; §D5). The
/// image keeps its other configuration (taosadapter.toml, …) in the same directory.
pub(crate) const CONFIG_FILE: &str = "/etc/taos/taos.cfg";

/// Whether the image's entrypoint writes taos.cfg. It does not in any revision read
/// (`packaging/docker/bin/entrypoint.sh` @ `884ae5c2`, @ `15240844`, the later watchdog
/// revisions of #34179 / PR #35368, and the 3.5.0 chart's integrated-image entrypoint): they read
/// it with `taosd -C` only. So tdgen may mount its own taos.cfg read-only over the image's.
pub(crate) const ENTRYPOINT_WRITES_CONFIG: bool = false;

/// The image's health check (`packaging/docker/bin/taos-check` @ `92985b0f`; §D2). Without a
/// mode it passes while the dnode is still starting.
pub(crate) const PROBE_COMMAND: &str = "taos-check";
/// The modes `taos-check` learned in 3.4.1.0: one for starting, one for serving.
pub(crate) const PROBE_MODES: (&str, &str) = ("startup", "service");

/// The `preStop` hook of every dnode container: SIGTERM to taosd, then wait until it is gone (the
/// kubelet bounds the wait by `terminationGracePeriodSeconds`). Without it a pod stop kills taosd
/// with SIGKILL: the image's entrypoint starts taosd in the background (3.3.6.13's
/// `taosd &` … `tail -f /dev/null`) or as a child of `sh` (3.0.7.1's `$@`), under `tini` without
/// `-g`, so the kubelet's SIGTERM reaches the shell only; the shell dies, and the runtime kills
/// what is left of the container. It finds taosd in `/proc` (no `pidof` or `pkill` needed), and
/// writes no `$(…)`, which a reader could take for a Kubernetes variable reference.
pub(crate) const STOP_TAOSD: [&str; 3] = [
    "sh",
    "-c",
    "grep -lx taosd /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3 | xargs -r kill -TERM; \
     while grep -qx taosd /proc/[0-9]*/comm 2>/dev/null; do sleep 1; done",
];
/// The longest FQDN taosd accepts: `TSDB_FQDN_LEN` is 128 bytes with the terminating NUL
/// (TDengine `include/util/tdef.h`; §D5).
pub(crate) const MAX_FQDN_LEN: usize = 127;
/// At most three mnodes, each on its own dnode (`docs/zh/08-operation/03-deployment.md`; §D3).
pub(crate) const MAX_MNODES: u32 = 3;
/// taosd's default free-space reserve on the data directory, `minimalDataDirGB` (§D5).
pub(crate) const DEFAULT_MINIMAL_DATA_DIR_GB: f64 = 2.0;
/// The Linux capabilities the official image's entrypoint needs as root: it links
/// `/etc/localtime`, appends to `/etc/hosts`, and writes root-owned files (§D3).
pub(crate) const ROOT_CAPABILITIES: [&str; 5] = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];
/// What the official image writes on its root filesystem, so it cannot be read-only (§D3).
pub(crate) const ROOT_FILESYSTEM_WRITES: &str = "/etc/localtime, /etc/taos";

/// Something the TDengine image does from a given version on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// What it does, in a phrase.
    pub what: &'static str,
    /// The first version that does it.
    pub since: Version,
    /// Where tdgen learned it.
    pub source: &'static str,
}

impl Capability {
    /// Whether TDengine `version` has it.
    pub fn in_version(self, version: Version) -> bool {
        version >= self.since
    }
}

/// The entrypoint, `taos-check` and taosKeeper read the root password from
/// `TAOS_ROOT_PASSWORD`; the entrypoint hands it to taosKeeper itself (`export
/// TAOS_KEEPER_TDENGINE_PASSWORD=${TAOS_ROOT_PASSWORD}`, over any value the pod sets).
pub(crate) const PASSWORD_FROM_ENV: Capability = Capability {
    what: "reads the root password from TAOS_ROOT_PASSWORD",
    since: Version([3, 3, 6, 6]),
    source: "TDengine Kubernetes doc @ 8f00ad13, version notes (§C); the 3.3.6.13 image's entrypoint.sh (shared/realsys)",
};
/// … and from a file named by `TAOS_ROOT_PASSWORD_FILE`.
pub const PASSWORD_FROM_FILE: Capability = Capability {
    what: "reads the root password from the file TAOS_ROOT_PASSWORD_FILE names",
    since: Version([3, 3, 8, 8]),
    source: "TDengine Kubernetes doc @ 8f00ad13, version notes (§C)",
};
/// taosd refuses a password of fewer than [`STRONG_PASSWORD_MIN_LEN`] characters, or with fewer
/// than [`STRONG_PASSWORD_KINDS`] of the four kinds of character (lower-case letters, upper-case
/// letters, digits, anything else): the parser's password check with `enableStrongPassword` on,
/// its default (`source/libs/parser/src/parAstCreater.c`). Measured on the realsys 3.3.6.13
/// build: `secret` → "Password too short or empty", `abcdEFGH` and `abcdefg!` → "Invalid
/// password", `abcdef1!`, `abc1;:<>` and an 86-character password taken; `taosdata` is taken
/// too. 3.0.7.1 takes any password. The first version with the check is taken to be 3.3.6.0
/// (the 3.3.6 release line); no 3.3.5 build was run to confirm it.
pub(crate) const STRONG_PASSWORDS: Capability = Capability {
    what: "refuses weak passwords (8+ characters, 3 kinds of character)",
    since: Version([3, 3, 6, 0]),
    source: "parAstCreater.c checkPassword; measured on 3.3.6.13 (shared/realsys)",
};
/// The shortest password [`STRONG_PASSWORDS`] takes.
pub(crate) const STRONG_PASSWORD_MIN_LEN: usize = 8;
/// How many kinds of character a password needs under [`STRONG_PASSWORDS`].
pub(crate) const STRONG_PASSWORD_KINDS: usize = 3;
/// The image's entrypoint traces its commands (`set -ex`), and two of them carry the root
/// password: dnode 0's `taos -s "ALTER USER root PASS '…'"` at its first start and every other
/// dnode's `taos -p'…' -s 'create dnode …'` when it joins. Both land in the pod logs (read in
/// the 3.3.6.13 image's entrypoint.sh and seen in its log in the realsys tier; later entrypoints
/// were not read, so this is assumed of every version that takes `TAOS_ROOT_PASSWORD`).
pub(crate) const ENTRYPOINT_LOGS_PASSWORD: Capability = Capability {
    what: "prints the root password to the pod log (entrypoint `set -x`)",
    since: Version([3, 3, 6, 6]),
    source: "entrypoint.sh of the 3.3.6.13 image (shared/realsys)",
};
/// `taos-check startup` and `taos-check service`.
pub(crate) const PROBE_MODE_CHECKS: Capability = Capability {
    what: "has `taos-check startup` and `taos-check service`",
    since: Version([3, 4, 1, 0]),
    source: "TDengine Kubernetes doc @ 8f00ad13, probes (§C)",
};
/// taosd keeps the parameters it first started with in `dataDir` and reads them instead of
/// taos.cfg and the environment on a restart.
pub(crate) const PERSISTED_CONFIG: Capability = Capability {
    what: "keeps its first parameters in dataDir and ignores later taos.cfg and TAOS_* changes",
    since: Version([3, 3, 5, 0]),
    source: "TDengine #33475 and PR #34741 (§D1); taos-shell-output.md, SQL facts",
};
/// The file the image's entrypoint leaves in the data directory of the first dnode once it has
/// set the root password from `TAOS_ROOT_PASSWORD`; without it, the entrypoint runs
/// `ALTER USER root PASS` at the next start, logged in with the default password, and a
/// connection refused there stops the entrypoint (entrypoint.sh @ `15240844`, `set -e`; the
/// TDengine Kubernetes doc says to create it when adopting a cluster whose password was
/// changed; `shared/reference/taos-shell-output.md`, SQL facts).
pub(crate) const ROOT_PASSWORD_MARKER: &str = "/var/lib/taos/.docker-entrypoint-root-password-changed";
/// The versions whose entrypoint reads [`ROOT_PASSWORD_MARKER`] (3.3.6.6 to 3.3.8.4, per the
/// reference; the later entrypoints' handling was not read).
pub(crate) const ROOT_PASSWORD_MARKER_VERSIONS: (Version, Version) = (Version([3, 3, 6, 6]), Version([3, 3, 8, 4]));
/// How TDengine goes from one version to a newer one, by TDengine's versioning rules
/// (`docs/en/28-releases/01-tdengine.md` @ `0417a231`, "TDengine Versioning Rules": the four
/// numbers are Major+, Major, Feature, Maintenance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upgrade {
    /// Only Maintenance differs: one dnode at a time while the cluster serves, if it has three
    /// or more dnodes and three replicas; reversible.
    Rolling,
    /// Major or Feature differs: every dnode stopped, upgraded and started together, the
    /// cluster out of service meanwhile. Reversible only when Major is the same.
    StopAll {
        /// A later downgrade to `from` is possible.
        reversible: bool,
    },
    /// Major+ differs: no direct upgrade ("contact TDengine support").
    Unsupported,
    /// `to` is not newer than `from`.
    NotNewer,
}

impl Upgrade {
    /// The way from `from` to `to`.
    pub fn between(from: Version, to: Version) -> Upgrade {
        let ([a, b, c, _], [x, y, z, _]) = (from.0, to.0);
        if to <= from {
            Upgrade::NotNewer
        } else if a != x {
            Upgrade::Unsupported
        } else if (b, c) == (y, z) {
            Upgrade::Rolling
        } else {
            Upgrade::StopAll { reversible: b == y }
        }
    }
}

/// The replicas a database needs for a rolling upgrade to keep serving (versioning rules, as
/// [`Upgrade`]).
pub(crate) const ROLLING_UPGRADE_REPLICAS: u32 = 3;
/// The most copies of a row a database keeps: `REPLICA` is 1, 2 (enterprise, 3.3.0.0 and
/// later) or 3 (`CREATE DATABASE` reference, `docs/en/14-reference/03-taos-sql/02-database.md`).
/// A taosdump backup holds each row once, as Avro (taosdump reference: a logical dump, not the data files), so one dump is at
/// least the data volumes' contents divided by this.
pub(crate) const MAX_REPLICA: u32 = 3;
/// Upgrading across 3.1.0.0 needs every stream removed first, and cannot be undone (the 3.1.0.0
/// notes in `docs/en/28-releases/01-tdengine.md` before the versioning rules were added).
pub(crate) const STREAMS_REMOVED_BEFORE: Version = Version([3, 1, 0, 0]);

/// Every version gate, oldest first (for documentation and tests).
pub const CAPABILITIES: [Capability; 6] = [
    PERSISTED_CONFIG,
    STRONG_PASSWORDS,
    PASSWORD_FROM_ENV,
    ENTRYPOINT_LOGS_PASSWORD,
    PASSWORD_FROM_FILE,
    PROBE_MODE_CHECKS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_listed_oldest_first() {
        assert!(CAPABILITIES.windows(2).all(|w| w[0].since <= w[1].since));
        assert!(PASSWORD_FROM_FILE.in_version(Version([3, 3, 8, 8])));
        assert!(!PASSWORD_FROM_FILE.in_version(Version([3, 3, 8, 7])));
    }

    #[test]
    fn the_password_marker_lives_in_the_data_directory() {
        assert!(ROOT_PASSWORD_MARKER.starts_with(DATA_DIR));
        let (from, to) = ROOT_PASSWORD_MARKER_VERSIONS;
        assert!(from == PASSWORD_FROM_ENV.since && from < to);
    }

    #[test]
    fn upgrades_follow_the_versioning_rules() {
        let v = |s: &str| Version::parse(s).expect("version");
        assert_eq!(Upgrade::between(v("3.3.6.9"), v("3.3.6.13")), Upgrade::Rolling);
        assert_eq!(
            Upgrade::between(v("3.3.6.13"), v("3.3.8.8")),
            Upgrade::StopAll { reversible: true }
        );
        assert_eq!(
            Upgrade::between(v("3.2.3.0"), v("3.3.0.0")),
            Upgrade::StopAll { reversible: false }
        );
        assert_eq!(Upgrade::between(v("3.3.6.13"), v("3.3.6.13")), Upgrade::NotNewer);
        assert_eq!(Upgrade::between(v("3.3.6.13"), v("3.3.6.9")), Upgrade::NotNewer);
        assert_eq!(Upgrade::between(v("3.3.6.13"), v("4.0.0.0")), Upgrade::Unsupported);
    }

    #[test]
    fn component_ports_differ_from_taosds() {
        assert!(COMPONENTS.iter().all(|c| c.port != DEFAULT_SERVER_PORT));
    }
}
