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
pub const SOURCE: &str = "the TDengine 3.x taosd reference (docs at commit 0061be84)";

static PARAMETERS: LazyLock<BTreeMap<String, Parameter>> = LazyLock::new(|| {
    rows(include_str!("../../data/taosd-parameters.tsv"))
        .map(|columns| {
            let (name, since, notes) = (
                columns[0],
                columns.get(1).copied().unwrap_or("-"),
                columns.get(2).copied().unwrap_or("-"),
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
            };
            (name.to_ascii_lowercase(), parameter)
        })
        .collect()
});

static LEGACY: LazyLock<BTreeMap<String, &'static str>> = LazyLock::new(|| {
    rows(include_str!("../../data/taosd-2x-parameters.tsv"))
        .filter_map(|columns| Some((columns[0].to_ascii_lowercase(), *columns.get(1)?)))
        .collect()
});

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
pub fn is_credential(key: &str) -> bool {
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
}
