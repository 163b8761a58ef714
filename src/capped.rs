//! At most [`PER_CODE`] findings of each code: a spec with 300,000 unknown keys gets the first
//! thousand, located and explained, and one `more-findings` finding that counts the rest — not
//! 300,000 messages, hundreds of megabytes and seconds of work nobody reads.

use std::collections::BTreeMap;

use crate::error::{Finding, Severity};

/// How many findings of one code are kept.
pub(crate) const PER_CODE: usize = 1000;
/// The code of the finding that counts those left out (its own, so capping again never
/// mistakes it for one of them).
pub(crate) const MORE: &str = "more-findings";

/// Findings collected in order, at most [`PER_CODE`] of each code; the rest only counted.
#[derive(Debug, Default)]
pub(crate) struct Capped {
    kept: Vec<Finding>,
    seen: BTreeMap<&'static str, Seen>,
}

#[derive(Debug)]
struct Seen {
    count: usize,
    severity: Severity,
    /// The path of the first finding left out.
    first_left_out: Option<String>,
}

impl Capped {
    /// Whether a finding of `code` would still be kept: callers skip costly messages otherwise.
    pub(crate) fn wants(&self, code: &str) -> bool {
        self.seen.get(code).is_none_or(|s| s.count < PER_CODE)
    }

    /// Keep `finding`, or count it when its code is full.
    pub(crate) fn push(&mut self, finding: Finding) {
        if self.tally(finding.severity, finding.code, &finding.path) {
            self.kept.push(finding);
        }
    }

    /// Count a finding of `code` at `path` that was not built because [`Capped::wants`] said
    /// its code is full.
    pub(crate) fn left_out(&mut self, severity: Severity, code: &'static str, path: &str) {
        self.tally(severity, code, path);
    }

    /// Count one finding; whether it is among the first [`PER_CODE`] of its code.
    fn tally(&mut self, severity: Severity, code: &'static str, path: &str) -> bool {
        let seen = self.seen.entry(code).or_insert(Seen {
            count: 0,
            severity,
            first_left_out: None,
        });
        seen.count += 1;
        let kept = seen.count <= PER_CODE;
        if !kept && seen.first_left_out.is_none() {
            seen.first_left_out = Some(path.to_owned());
        }
        kept
    }

    /// The kept findings, then one per full code saying how many more there were.
    pub(crate) fn finish(mut self) -> Vec<Finding> {
        for (code, seen) in self.seen {
            let Some(path) = seen.first_left_out else { continue };
            let more = seen.count - PER_CODE.min(seen.count);
            self.kept.push(
                Finding::new(
                    seen.severity,
                    MORE,
                    path,
                    format!(
                        "{more} more `{code}` findings like the ones above are not shown (the first {PER_CODE} are)"
                    ),
                )
                .with_help("fix the ones shown and run again; the count is exact"),
            );
        }
        self.kept
    }
}

/// `findings` with at most [`PER_CODE`] of each code, and a count of the rest.
pub(crate) fn cap(findings: impl IntoIterator<Item = Finding>) -> Vec<Finding> {
    let mut capped = Capped::default();
    findings.into_iter().for_each(|f| capped.push(f));
    capped.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_keeps_its_first_findings_and_counts_the_rest() {
        let findings = (0..PER_CODE + 250)
            .map(|i| Finding::error("unknown-field", format!("spec.u{i}"), "unknown"))
            .chain([Finding::warning("other", "spec.x", "one")]);
        let capped = cap(findings);
        assert_eq!(capped.len(), PER_CODE + 2);
        let last = capped.last().expect("the count");
        assert_eq!(last.code, MORE);
        assert_eq!(last.severity, Severity::Error);
        assert_eq!(last.path, format!("spec.u{PER_CODE}"));
        assert!(
            last.message.starts_with("250 more `unknown-field` findings"),
            "{}",
            last.message
        );
        assert!(capped.iter().any(|f| f.code == "other"));
    }
}
