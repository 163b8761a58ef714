//! Kubernetes name grammars: DNS labels and subdomains, label keys and values, annotation keys.

/// RFC 1123 label: lowercase alphanumerics and `-`, alphanumeric at both ends.
pub fn dns_label(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > max {
        return Err(format!("it has {} characters, more than {max}", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("{} is not allowed", describe(c)));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// RFC 1035 label (Service names): an RFC 1123 label that starts with a letter.
pub fn dns_1035_label(name: &str) -> Result<(), String> {
    dns_label(name, 63)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a letter".into());
    }
    Ok(())
}

/// A Secret or ConfigMap key (Kubernetes' `IsConfigMapKey`): at most 253 of alphanumerics,
/// `-`, `_` and `.`, and not `.`, `..` or anything starting with `..` (a mounted Secret keeps
/// its own `..data` links under such names).
pub fn config_map_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("it is empty".into());
    }
    if key.len() > 253 {
        return Err(format!("it has {} characters, more than 253", key.len()));
    }
    if let Some(c) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || "-._".contains(*c))) {
        return Err(format!("{} is not allowed", describe(c)));
    }
    if key == "." || key.starts_with("..") {
        return Err("it must not be `.` or `..`, or start with `..`".into());
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!("it has {} characters, more than 253", name.len()));
    }
    if name.split('.').any(str::is_empty) {
        return Err("it has an empty label (`..`, or a leading or trailing `.`)".into());
    }
    name.split('.').try_for_each(|label| dns_label(label, 63))
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most
/// 63 characters of alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns_subdomain(prefix).map_err(|why| format!("its prefix `{prefix}` is not a DNS subdomain: {why}"))?;
    }
    label_like(name, "its name").and_then(|()| {
        if name.is_empty() {
            Err("its name is empty".into())
        } else {
            Ok(())
        }
    })
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn label_value(value: &str) -> Result<(), String> {
    label_like(value, "it")
}

fn label_like(text: &str, what: &str) -> Result<(), String> {
    if text.len() > 63 {
        return Err(format!("{what} has {} characters, more than 63", text.len()));
    }
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(format!("{} is not allowed", describe(c)));
    }
    let edge_ok = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    if !edge_ok(text.chars().next()) || !edge_ok(text.chars().last()) {
        return Err(format!("{what} must start and end with a letter or digit"));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\n' => "a line break".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammars() {
        assert!(dns_label("tdengine-0", 63).is_ok());
        assert!(dns_label("TD", 63).is_err());
        assert!(dns_label("-a", 63).is_err());
        assert!(dns_label(&"a".repeat(53), 52).is_err());
        assert!(dns_1035_label("1abc").is_err());
        assert!(dns_subdomain("cluster.local").is_ok());
        assert!(dns_subdomain("cluster..local").is_err());
        assert!(qualified_name("app.kubernetes.io/part-of").is_ok());
        assert!(qualified_name("team").is_ok());
        assert!(qualified_name("Bad_Prefix/x").is_err());
        assert!(qualified_name("a/").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("v3.0.7.1").is_ok());
        assert!(label_value("a b").is_err());
        assert!(label_value("-x").is_err());
    }
}
