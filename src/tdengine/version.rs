//! TDengine versions read from image tags (`3.0.7.1`, `3.3.6.13-alpine`), for version-aware
//! checks and features.

use std::fmt;

/// A TDengine version: up to four numeric parts, compared numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub [u32; 4]);

impl Version {
    /// Parse `3.3.6.13` (missing parts are 0). Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = [0u32; 4];
        let mut count = 0;
        for part in text.split('.') {
            if count == 4 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 9 {
                return None;
            }
            parts[count] = part.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(Version(parts))
    }

    /// The version an image tag names: the numeric prefix before any `-suffix`.
    pub fn from_tag(tag: &str) -> Option<Version> {
        let tag = tag.strip_prefix('v').unwrap_or(tag);
        Version::parse(tag.split(['-', '_']).next().unwrap_or(tag))
    }

    /// The major version (3 for TDengine 3.x).
    pub fn major(self) -> u32 {
        self.0[0]
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_and_order_numerically() {
        assert_eq!(Version::from_tag("3.0.7.1"), Some(Version([3, 0, 7, 1])));
        assert_eq!(Version::from_tag("3.3.6.13-alpine"), Some(Version([3, 3, 6, 13])));
        assert!(Version::from_tag("3.3.6.13") > Version::from_tag("3.3.6.9"));
        assert_eq!(Version::from_tag("latest"), None);
        assert_eq!(Version::from_tag("3"), None);
    }
}
