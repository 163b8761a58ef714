//! Rules for `spec.config`: every key checked against the taosd parameter catalog.

use std::collections::BTreeMap;

use super::Validator;
use crate::source::join_path;
use crate::spec::ConfigValue;
use crate::suggest::closest;
use crate::tdengine::catalog::{self, Lookup};
use crate::tdengine::{self, env, version::Version};

impl Validator {
    /// Check every parameter; return the ones to render.
    pub(super) fn config(
        &mut self,
        config: BTreeMap<String, ConfigValue>,
        version: Option<Version>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (key, ConfigValue(value)) in config {
            let path = join_path("spec.config", &key);
            if let Some(first) = seen.insert(key.to_ascii_lowercase(), key.clone()) {
                self.error(
                    "config-duplicate",
                    &path,
                    format!("`{key}` and `{first}` name the same parameter"),
                    "taosd matches parameter names case-insensitively, and both would become the same variable: keep one",
                );
                continue;
            }
            if self.settable_key(&path, &key) && self.catalogued(&path, &key, &value, version) {
                out.insert(key, value);
            }
        }
        out
    }

    /// A key spec.config may set: not one a spec field owns, not a variable tdgen sets, and
    /// spelt like a parameter.
    fn settable_key(&mut self, path: &str, key: &str) -> bool {
        if let Some(help) = dedicated_field(key) {
            self.error(
                "config-has-field",
                path,
                format!("`{key}` is not set through spec.config"),
                help,
            );
            return false;
        }
        let env = env::config_env_name(key);
        if let Some(help) = owned_variable_help(&env) {
            self.error(
                "config-owned-env",
                path,
                format!("`{key}` would set {env}, which tdgen sets itself"),
                help,
            );
            return false;
        }
        if !is_config_key(key) {
            self.error(
                "config-key-syntax",
                path,
                format!("`{key}` is not a taos.cfg parameter name"),
                "parameters are camelCase words of letters and digits, e.g. `supportVnodes`, `debugFlag`",
            );
            return false;
        }
        true
    }

    /// What the parameter catalog says of a key; whether to render it.
    fn catalogued(&mut self, path: &str, key: &str, value: &str, version: Option<Version>) -> bool {
        match catalog::lookup(key) {
            Lookup::Known(parameter) if parameter.credential => {
                let env = env::config_env_name(parameter.name);
                self.error(
                    "config-secret",
                    path,
                    format!("`{key}` holds a credential, and tdgen renders no secret values"),
                    secret_help(&env),
                );
                false
            }
            Lookup::Known(parameter) => {
                self.known_parameter(path, key, value, parameter, version);
                true
            }
            Lookup::Legacy(advice) => {
                self.error(
                    "config-2x-parameter",
                    path,
                    format!("`{key}` is a TDengine 2.x parameter; 3.x ignores it without a word"),
                    advice,
                );
                false
            }
            Lookup::Unknown => self.unknown_parameter(path, key),
        }
    }

    /// A key the catalog does not know: a near miss is an error, anything else may be newer.
    fn unknown_parameter(&mut self, path: &str, key: &str) -> bool {
        match closest(key, catalog::names()) {
            Some(near) => {
                self.error(
                    "config-unknown",
                    path,
                    format!("`{key}` is not a taosd parameter"),
                    format!("did you mean `{near}`? taosd ignores unknown names silently"),
                );
                false
            }
            None => {
                self.warn(
                    "config-unknown",
                    path,
                    format!("`{key}` is not in tdgen's catalog of taosd parameters"),
                    format!(
                        "taosd ignores unknown names silently; the catalog is {} — if `{key}` is newer, keep it",
                        catalog::SOURCE
                    ),
                );
                true
            }
        }
    }

    fn known_parameter(
        &mut self,
        path: &str,
        key: &str,
        value: &str,
        parameter: &catalog::Parameter,
        version: Option<Version>,
    ) {
        if value.chars().any(char::is_whitespace) && !parameter.multi_token {
            self.warn(
                "config-value-whitespace",
                path,
                format!("the value of `{key}` contains whitespace"),
                "taosd splits values on whitespace and keeps only the first word",
            );
        }
        if let (Some(since), Some(version)) = (parameter.since, version)
            && version < since
        {
            self.warn(
                "config-too-new",
                path,
                format!("`{key}` was added in TDengine {since}; the image is {version}"),
                "taosd ignores parameters it does not know: upgrade spec.image.tag or remove the key",
            );
        }
        if let (Some(removed), Some(version)) = (parameter.removed, version)
            && version >= removed
        {
            self.warn(
                "config-removed",
                path,
                format!("`{key}` is no longer read from TDengine {removed} on; the image is {version}"),
                "remove the key",
            );
        }
        if let Some((low, high)) = parameter.range
            && !is_decimal(value.trim())
        {
            // YAML spells 8192 also as 0x2000, 0o20000, 8_192, 8.192e3 or 8192.0; a range can
            // only be checked on one spelling, and it is the one taosd's own docs use.
            self.error(
                "config-not-decimal",
                path,
                format!("`{key}` takes a whole number from {low} to {high}; `{value}` is not written as one"),
                format!("write it in plain decimal digits, e.g. `{key}: {high}`"),
            );
        } else if let Some((low, high)) = parameter.range
            && let Ok(number) = value.trim().parse::<i64>()
            && !(low..=high).contains(&number)
        {
            self.error(
                "config-out-of-range",
                path,
                format!("taosd takes `{key}` from {low} to {high}, not {number}"),
                "taosd refuses a value outside that range when it reads its configuration",
            );
        }
        if parameter.cluster_wide {
            self.note("config-cluster-wide", path, format!("`{key}` must be identical on every dnode"), "tdgen sets it on every dnode; change it for the whole cluster at once (`ALTER ALL DNODES`), never pod by pod");
        }
        if parameter.name == "dataDir" && !value.trim_start().starts_with(tdengine::DATA_DIR) {
            self.warn(
                "config-data-dir",
                path,
                format!("dataDir `{value}` is not on the data volume"),
                format!(
                    "only {} is persistent; data elsewhere is lost when the pod is rescheduled",
                    tdengine::DATA_DIR
                ),
            );
        }
    }

    /// The data volume must hold more than taosd's reserve, or taosd refuses to write.
    pub(super) fn data_size_vs_reserve(&mut self, size_bytes: i128, config: &BTreeMap<String, String>) {
        let reserve_gb = reserve_gb(config);
        let reserve_bytes = reserve_gb * f64::from(1u32 << 30);
        let size = size_bytes as f64;
        let path = "spec.storage.data.size";
        if size <= reserve_bytes {
            self.error("data-volume-below-reserve", path, format!("the data volume is not larger than taosd's free-space reserve (minimalDataDirGB = {reserve_gb})"), "taosd stops writing when free space falls below minimalDataDirGB: make the volume larger (at least twice the reserve)");
        } else if size < 2.0 * reserve_bytes {
            self.warn(
                "data-volume-small",
                path,
                format!(
                    "the data volume is less than twice taosd's free-space reserve (minimalDataDirGB = {reserve_gb})"
                ),
                "taosd stops writing when free space falls below minimalDataDirGB; leave room for data",
            );
        }
    }
}

/// taosd's free-space reserve on the data directory, `minimalDataDirGB`, in GB of 1024³ bytes
/// (taosd multiplies it so: `taosSetServerCfg`, source/common/src/tglobal.c).
pub(super) fn reserve_gb(config: &BTreeMap<String, String>) -> f64 {
    config
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("minimalDataDirGB"))
        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        .unwrap_or(tdengine::DEFAULT_MINIMAL_DATA_DIR_GB)
}

/// How to pass a credential parameter: as its variable, from a Secret.
pub(super) fn secret_help(env: &str) -> String {
    format!(
        "pass it from a Secret: spec.extraEnv: [{{name: {env}, valueFrom: {{secretKeyRef: {{name: …, key: …}}}}}}] (taosd reads TAOS_* variables as parameters)"
    )
}

/// The field that sets a variable tdgen owns, when a config key would collide with it.
fn owned_variable_help(name: &str) -> Option<&'static str> {
    let toggles = [
        (tdengine::ADAPTER, "set spec.components.adapter.enabled"),
        (tdengine::KEEPER, "set spec.components.keeper.enabled"),
        (tdengine::EXPLORER, "set spec.components.explorer.enabled"),
    ];
    if name == env::ROOT_PASSWORD || name == env::ROOT_PASSWORD_FILE {
        Some("the image reads the root password from it: reference a Secret with spec.rootPassword")
    } else if let Some((_, help)) = toggles.iter().find(|(component, _)| component.disable_env == name) {
        Some(help)
    } else {
        crate::model::OWNED_ENV
            .contains(&name)
            .then_some("set the spec field that derives it")
    }
}

/// How to set a taos.cfg parameter that tdgen derives or owns through a dedicated field.
pub fn dedicated_field(key: &str) -> Option<&'static str> {
    match key.to_ascii_lowercase().as_str() {
        "fqdn" => Some(
            "remove it: tdgen derives each dnode's TAOS_FQDN from metadata.name, spec.service.name and spec.clusterDomain",
        ),
        "firstep" => Some(
            "remove it: tdgen derives TAOS_FIRST_EP (dnode 0) from metadata.name, spec.service.name, spec.clusterDomain and spec.serverPort",
        ),
        "secondep" => Some(
            "remove it: dnodes join through TAOS_FIRST_EP, which tdgen derives; a second endpoint is not needed inside one StatefulSet",
        ),
        "serverport" => Some("remove it and set spec.serverPort, which also sets the container and Service ports"),
        "timezone" => {
            Some("remove it and set spec.timezone: it sets TZ on every dnode, and taosd takes its timezone from it")
        }
        _ => None,
    }
}

fn is_config_key(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && key.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A plain decimal integer: an optional minus, then digits without a leading zero.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    plain && (digits == "0" || !digits.starts_with('0')) && text.parse::<i64>().is_ok()
}
