//! The catalog of taosd parameters (TDengine 3.x) and of 2.x parameters that 3.x ignores,
//! kept as data in `data/` with its source version.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::version::Version;

/// One documented taosd parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The documented spelling.
    pub name: &'static str,
    /// First version that reads it, when documented.
    pub since: Option<Version>,
    /// First version that no longer reads it.
    pub removed: Option<Version>,
    /// Must be identical on every dnode.
    pub cluster_wide: bool,
    /// Takes several whitespace-separated tokens (`dataDir`).
    pub multi_token: bool,
    /// Its value is a credential: it must come from a Secret, never from the spec.
    pub credential: bool,
    /// How a running cluster takes a new value (the reference's "Dynamic Modification").
    pub live: Live,
    /// The integers taosd takes, when every version's source registers the same bounds.
    pub range: Option<(i64, i64)>,
    /// The newest real build that refused `ALTER` of it although the reference lists it as
    /// changeable (`data/taosd-alter-refused.tsv`).
    pub refused_through: Option<Version>,
}

impl Parameter {
    /// How a cluster running `version` takes a new value: the reference's word, unless a real
    /// build of that version or a newer one refused the `ALTER`.
    pub fn live_in(&self, version: Version) -> Live {
        if self.refused_through.is_some_and(|refused| version <= refused) {
            return Live::Never;
        }
        self.live.in_version(version)
    }
}

/// How a running taosd takes a new value of a parameter, as the taosd reference says
/// ("Dynamic Modification": "Supported, effective immediately", "Supported, effective after
/// restart", "Not supported", or a first version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// `ALTER … DNODE` changes it at once.
    Immediate,
    /// `ALTER … DNODE` takes it, and it takes effect when the dnode restarts.
    AfterRestart,
    /// Not by `ALTER`.
    Never,
    /// At once from this version on, never before.
    ImmediateSince(Version),
    /// The reference does not say; tdgen treats it as [`Live::Never`].
    Undocumented,
}

impl Live {
    /// What the parameter does on a cluster running `version`.
    pub fn in_version(self, version: Version) -> Live {
        match self {
            Live::ImmediateSince(since) if version >= since => Live::Immediate,
            Live::ImmediateSince(_) | Live::Undocumented => Live::Never,
            other => other,
        }
    }

    fn parse(text: &str) -> Live {
        match text {
            "immediate" => Live::Immediate,
            "restart" => Live::AfterRestart,
            "no" => Live::Never,
            other => other
                .strip_prefix("immediate@")
                .and_then(Version::parse)
                .map_or(Live::Undocumented, Live::ImmediateSince),
        }
    }
}

/// What the catalog says about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A documented 3.x parameter (taosd matches names case-insensitively).
    Known(&'static Parameter),
    /// A 2.x parameter that 3.x ignores, with what to do instead.
    Legacy(&'static str),
    /// Not in the catalog.
    Unknown,
}

/// Where the catalog comes from, for messages.
pub(crate) const SOURCE: &str = "the TDengine 3.x taosd reference (docs at commit 0061be84)";

static PARAMETERS: LazyLock<BTreeMap<String, Parameter>> = LazyLock::new(|| {
    rows(include_str!("../../data/taosd-parameters.tsv"))
        .map(|columns| {
            let (name, since, notes, live) = (
                columns[0],
                columns.get(1).copied().unwrap_or("-"),
                columns.get(2).copied().unwrap_or("-"),
                columns.get(3).copied().unwrap_or("-"),
            );
            let notes: Vec<&str> = notes.split(',').collect();
            let removed = notes
                .iter()
                .find_map(|n| n.strip_prefix("removed="))
                .and_then(Version::parse);
            let parameter = Parameter {
                name,
                since: Version::parse(since),
                removed,
                cluster_wide: notes.contains(&"cluster-wide"),
                multi_token: notes.contains(&"multi-token"),
                credential: notes.contains(&"credential"),
                live: Live::parse(live),
                range: notes.iter().find_map(|n| parse_range(n.strip_prefix("range=")?)),
                refused_through: REFUSED.get(&name.to_ascii_lowercase()).copied(),
            };
            (name.to_ascii_lowercase(), parameter)
        })
        .collect()
});

/// Per parameter, the newest build that refused its `ALTER` (measured; see the data file).
static REFUSED: LazyLock<BTreeMap<String, Version>> = LazyLock::new(|| {
    let mut refused: BTreeMap<String, Version> = BTreeMap::new();
    for columns in rows(include_str!("../../data/taosd-alter-refused.tsv")) {
        let (Some(version), Some(name)) = (Version::parse(columns[0]), columns.get(1)) else {
            continue;
        };
        let newest = refused.entry(name.to_ascii_lowercase()).or_insert(version);
        *newest = (*newest).max(version);
    }
    refused
});

/// The measured refusals: `(build, parameter, refusal)` (for the realsys tier, which checks
/// them against the real builds).
pub fn measured_refusals() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    rows(include_str!("../../data/taosd-alter-refused.tsv")).filter_map(|c| Some((c[0], *c.get(1)?, *c.get(2)?)))
}

static LEGACY: LazyLock<BTreeMap<String, &'static str>> = LazyLock::new(|| {
    rows(include_str!("../../data/taosd-2x-parameters.tsv"))
        .filter_map(|columns| Some((columns[0].to_ascii_lowercase(), *columns.get(1)?)))
        .collect()
});

/// `A..B`, both ends included.
fn parse_range(text: &str) -> Option<(i64, i64)> {
    let (low, high) = text.split_once("..")?;
    Some((low.parse().ok()?, high.parse().ok()?))
}

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

/// Look a key up, case-insensitively as taosd does.
pub fn lookup(key: &str) -> Lookup {
    let lowered = key.to_ascii_lowercase();
    if let Some(parameter) = PARAMETERS.get(&lowered) {
        return Lookup::Known(parameter);
    }
    match LEGACY.get(&lowered) {
        Some(advice) => Lookup::Legacy(advice),
        None => Lookup::Unknown,
    }
}

/// Whether a parameter's value is a credential (case-insensitively, as taosd matches names).
pub(crate) fn is_credential(key: &str) -> bool {
    matches!(lookup(key), Lookup::Known(p) if p.credential)
}

/// Every documented parameter name, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    PARAMETERS.values().map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_knows_3x_and_explains_2x() {
        assert!(matches!(lookup("supportVnodes"), Lookup::Known(p) if p.name == "supportVnodes"));
        assert!(
            matches!(lookup("SUPPORTVNODES"), Lookup::Known(_)),
            "taosd is case-insensitive"
        );
        assert!(matches!(lookup("timezone"), Lookup::Known(p) if p.cluster_wide));
        assert!(matches!(lookup("dataDir"), Lookup::Known(p) if p.multi_token));
        assert!(matches!(lookup("shareConnLimit"), Lookup::Known(p) if p.since == Version::parse("3.3.4.0")));
        assert!(matches!(lookup("numOfMnodes"), Lookup::Legacy(advice) if advice.contains("spec.mnodes")));
        assert_eq!(lookup("noSuchThing"), Lookup::Unknown);
        assert!(names().count() > 150);
        for credential in ["adapterToken", "ssAccessString", "s3Accesskey", "S3ACCESSKEY"] {
            assert!(is_credential(credential), "{credential}");
        }
        assert!(!is_credential("s3Endpoint"));
    }

    #[test]
    fn bounds_are_known_only_where_every_version_agrees() {
        let range = |name: &str| match lookup(name) {
            Lookup::Known(p) => p.range,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(range("supportVnodes"), Some((0, 4096)));
        assert_eq!(range("statusInterval"), Some((1, 30)));
        assert_eq!(range("numOfCommitThreads"), None);
        assert_eq!(parse_range("1..x"), None);
    }

    #[test]
    fn the_catalog_says_how_a_running_cluster_takes_each_parameter() {
        let live = |name: &str| match lookup(name) {
            Lookup::Known(p) => p.live,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(live("supportVnodes"), Live::Immediate);
        let support = match lookup("supportVnodes") {
            Lookup::Known(p) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            support.live_in(Version([3, 3, 6, 13])),
            Live::Never,
            "3.3.6.13 refuses it"
        );
        assert_eq!(support.live_in(Version([3, 0, 7, 1])), Live::Never);
        assert_eq!(
            support.live_in(Version([3, 3, 8, 0])),
            Live::Immediate,
            "the reference's word"
        );
        assert_eq!(live("numOfCommitThreads"), Live::AfterRestart);
        assert_eq!(live("dataDir"), Live::Never);
        assert_eq!(
            live("tlsCaPath").in_version(Version([3, 3, 8, 0])),
            Live::Never,
            "undocumented"
        );
        let timezone = live("timezone");
        assert_eq!(timezone.in_version(Version([3, 1, 0, 0])), Live::Immediate);
        assert_eq!(timezone.in_version(Version([3, 0, 7, 1])), Live::Never);
        let documented = PARAMETERS.values().filter(|p| p.live != Live::Undocumented).count();
        assert!(documented >= 179, "{documented} parameters say how they change");
    }
}
