//! What the kubelet does to a container's `env` list, shared by the integration tests and the
//! realsys tier's Kubernetes stand-in (Kubernetes docs, "Define Dependent Environment Variables";
//! `k8s.io/kubernetes/third_party/forked/golang/expansion`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;

/// The kubelet's `$(VAR)` expansion: references to variables defined *earlier* in the list
/// are replaced, `$$` becomes `$`, anything unresolved stays literal.
pub fn expand(value: &str, defined: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(close) = inner.find(')')
        {
            let name = &inner[..close];
            match defined.get(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The environment a container of pod `pod_name` in `namespace` ends up with: literal values
/// expanded, the downward API's name and namespace, and Secret keys read through `secret`
/// (a missing Secret or key is the kubelet's `CreateContainerConfigError`: an `Err`).
pub fn container_env(
    env: &[EnvVar],
    pod_name: &str,
    namespace: &str,
    secret: impl Fn(&str, &str) -> Result<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut defined = BTreeMap::new();
    for var in env {
        let value = match (&var.value, &var.value_from) {
            (Some(value), None) => expand(value, &defined),
            (None, Some(from)) => {
                if let Some(field) = &from.field_ref {
                    match field.field_path.as_str() {
                        "metadata.name" => pod_name.to_owned(),
                        "metadata.namespace" => namespace.to_owned(),
                        other => return Err(format!("{}: unsupported fieldRef {other}", var.name)),
                    }
                } else if let Some(key) = &from.secret_key_ref {
                    secret(&key.name, &key.key)?
                } else {
                    return Err(format!("{}: unsupported valueFrom {from:?}", var.name));
                }
            }
            (None, None) => String::new(),
            _ => return Err(format!("env var {} has both value and valueFrom", var.name)),
        };
        defined.insert(var.name.clone(), value);
    }
    Ok(defined)
}
