//! "Did you mean …?" suggestions for misspelt names.

/// Inputs longer than this are no typo of a name: edit distance costs the product of the two
/// lengths, and a megabyte of text against hundreds of names would take minutes.
const LONGEST_TYPO: usize = 100;

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if input.len() > LONGEST_TYPO {
        return None;
    }
    let lowered = input.to_ascii_lowercase();
    let characters = input.chars().count();
    let allowed = |c: &str| (c.len().max(input.len()) / 3).max(1);
    candidates
        .into_iter()
        // The distance is at least the difference in length: most names are ruled out
        // without computing it.
        .filter(|c| c.chars().count().abs_diff(characters) <= allowed(c))
        .map(|c| (strsim::levenshtein(&lowered, &c.to_ascii_lowercase()), c))
        .filter(|(distance, c)| *distance <= allowed(c))
        .min_by_key(|(distance, c)| (*distance, *c))
        .map(|(_, c)| c)
}

/// `"did you mean `x`? "` or nothing, ready to prefix a help text.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(input, candidates).map_or_else(String::new, |c| format!("did you mean `{c}`? "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_near_misses() {
        let names = ["storageClassName", "size"];
        assert_eq!(closest("storageClasName", names), Some("storageClassName"));
        assert_eq!(closest("sise", names), Some("size"));
        assert_eq!(closest("banana", names), None);
        assert_eq!(closest("SIZE", names), Some("size"));
        let long = "Asia/Shanghai".repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(closest(&long, ["Asia/Shanghai"]), None);
        assert!(started.elapsed().as_millis() < 100, "bounded work");
    }
}
