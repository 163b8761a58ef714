//! Rules for what the dnode container is given besides its spec-derived settings: the root
//! password, extra variables and extra volumes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;

use super::Validator;
use super::names::{config_map_key, dns_label, dns_subdomain};
use crate::model::{Deploy, OWNED_ENV, PasswordDelivery, PasswordRef, volumes};
use crate::spec::{self, ClusterSpec, ConfigMode};
use crate::suggest::did_you_mean;
use crate::tdengine::{self, env, version::Version};

impl Validator {
    pub(super) fn root_password(
        &mut self,
        reference: Option<spec::SecretKeyRef>,
        version: Option<Version>,
    ) -> Option<PasswordRef> {
        let reference = reference?;
        let path = "spec.rootPassword";
        let secret_name = reference.secret_name.unwrap_or_default();
        if let Err(why) = dns_subdomain(&secret_name) {
            self.error(
                "invalid-reference-name",
                "spec.rootPassword.secretName",
                format!("`{secret_name}` is not a valid Secret name: {why}"),
                "name an existing Secret holding the root password",
            );
        }
        let key = reference.key.unwrap_or_else(|| "password".into());
        if let Err(why) = config_map_key(&key) {
            self.error(
                "invalid-secret-key",
                "spec.rootPassword.key",
                format!("`{key}` is not a valid Secret key: {why}"),
                "keys are letters, digits, `-`, `_` and `.`; `.`, `..` and keys starting with `..` are reserved",
            );
        }
        let delivery = match version {
            Some(v) if !tdengine::PASSWORD_FROM_ENV.in_version(v) => {
                let since = tdengine::PASSWORD_FROM_ENV.since;
                self.error("root-password-unsupported", path, format!("TDengine {v} cannot take its root password from the environment ({} needs {since})", env::ROOT_PASSWORD), format!("upgrade spec.image.tag to {since} or later, or remove spec.rootPassword and change the password with `ALTER USER root PASS` (then every probe and join needs it too)"));
                PasswordDelivery::Env
            }
            Some(v) if tdengine::PASSWORD_FROM_FILE.in_version(v) => PasswordDelivery::File,
            _ => PasswordDelivery::Env,
        };
        if let Some(v) = version.filter(|v| tdengine::STRONG_PASSWORDS.in_version(*v)) {
            self.note(
                "root-password-strength",
                "spec.rootPassword",
                format!(
                    "TDengine {v} refuses a root password of fewer than {} characters or of fewer than {} kinds of character (lower-case, upper-case, digits, others); with such a password in Secret {secret_name} the image's first start keeps `taosdata` without a word, and every probe, join and script that uses the Secret fails to log in",
                    tdengine::STRONG_PASSWORD_MIN_LEN,
                    tdengine::STRONG_PASSWORD_KINDS
                ),
                "put a password such as `Tdgen-4-example` (8+ characters, 3 kinds) in the Secret before the first start; `tdgen plan password` checks a new one before it changes anything",
            );
        }
        if let Some(v) = version.filter(|v| tdengine::ENTRYPOINT_LOGS_PASSWORD.in_version(*v)) {
            self.note(
                "root-password-in-pod-logs",
                "spec.rootPassword",
                format!("TDengine {v}'s image entrypoint traces its commands (`set -x`): dnode 0's first start and every dnode's first join print the root password to the pod log"),
                "restrict who may read pod logs (`pods/log`) in this namespace, and keep logs of the first start out of shared log stores",
            );
        }
        Some(PasswordRef {
            secret_name,
            key,
            delivery,
        })
    }

    /// Extra variables: valid names, none that tdgen or spec.config sets, none twice, and no
    /// credential as a literal.
    pub(super) fn extra_env(&mut self, env: Vec<EnvVar>, config: BTreeMap<String, String>) -> Vec<EnvVar> {
        let mut seen: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for (i, var) in env.iter().enumerate() {
            let path = format!("spec.extraEnv[{i}].name");
            if !is_env_name(&var.name) {
                self.error(
                    "invalid-env-name",
                    &path,
                    format!("`{}` is not a valid environment variable name", var.name),
                    "use letters, digits, `_`, `-` and `.`, not starting with a digit",
                );
            } else if OWNED_ENV.contains(&var.name.as_str()) {
                self.error(
                    "env-owned",
                    &path,
                    format!("tdgen sets `{}` itself", var.name),
                    "use the spec field that derives it instead",
                );
            } else if seen.contains(&var.name.as_str()) {
                self.error(
                    "env-duplicate",
                    &path,
                    format!("`{}` appears twice in spec.extraEnv", var.name),
                    "keep one: the kubelet keeps the last, and `kubectl apply --server-side` refuses duplicate names",
                );
            } else if let Some(key) = config.get(&var.name) {
                self.error(
                    "env-duplicate",
                    &path,
                    format!("`{}` is also set by spec.config.{key}", var.name),
                    "keep one: duplicate variables are refused by `kubectl apply --server-side`, and which one taosd sees is an accident",
                );
            } else {
                self.parameter_variable(&path, var);
            }
            seen.insert(&var.name);
        }
        env
    }

    /// A `TAOS_*` variable is a taos.cfg parameter: a credential must come from a Secret, and
    /// any other literal belongs in spec.config, where the catalog checks it.
    fn parameter_variable(&mut self, path: &str, var: &EnvVar) {
        let Some(key) = env::env_name_to_config_key(&var.name) else {
            return;
        };
        if tdengine::catalog::is_credential(&key) {
            if var.value.is_some() {
                self.error(
                    "env-secret-literal",
                    path,
                    format!(
                        "`{}` is the credential parameter `{key}`, written as a literal",
                        var.name
                    ),
                    super::config::secret_help(&var.name),
                );
            }
        } else if var.value_from.is_none() {
            self.warn(
                "env-is-config",
                path,
                format!("`{}` is the taos.cfg parameter `{key}`", var.name),
                format!("set spec.config.{key} instead, so tdgen checks it against the parameter catalog"),
            );
        }
    }

    pub(super) fn volumes(&mut self, deploy: &Deploy) {
        let mut names: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for (i, volume) in deploy.extra_volumes.iter().enumerate() {
            let path = format!("spec.extraVolumes[{i}].name");
            if let Err(why) = dns_label(&volume.name, 63) {
                self.error(
                    "invalid-volume-name",
                    &path,
                    format!("`{}` is not a valid volume name: {why}", volume.name),
                    "volume names are DNS labels",
                );
            }
            if volumes::ALL.contains(&volume.name.as_str()) || names.contains(&volume.name.as_str()) {
                self.error(
                    "volume-name-taken",
                    &path,
                    format!("the volume name `{}` is already used", volume.name),
                    format!("tdgen uses {}; pick another name", volumes::ALL.join(", ")),
                );
            }
            names.insert(&volume.name);
        }
        for (i, mount) in deploy.extra_volume_mounts.iter().enumerate() {
            if !names.contains(&mount.name.as_str()) {
                let suggestion = did_you_mean(&mount.name, names.iter().copied());
                self.error(
                    "mount-without-volume",
                    &format!("spec.extraVolumeMounts[{i}].name"),
                    format!("no volume `{}` in spec.extraVolumes", mount.name),
                    format!("{suggestion}add the volume to spec.extraVolumes"),
                );
            }
            if [tdengine::DATA_DIR, tdengine::LOG_DIR, tdengine::CONFIG_FILE].contains(&mount.mount_path.as_str()) {
                self.error(
                    "mount-path-taken",
                    &format!("spec.extraVolumeMounts[{i}].mountPath"),
                    format!("tdgen mounts {} itself", mount.mount_path),
                    "mount somewhere else",
                );
            }
        }
    }
}

/// The kubelet's rule for a variable name: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
fn is_env_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || "-._".contains(c))
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

/// The variables spec.config becomes in env mode, with the key each comes from.
pub(super) fn config_variables(c: &ClusterSpec) -> BTreeMap<String, String> {
    if c.config_mode.unwrap_or(ConfigMode::Env) != ConfigMode::Env {
        return BTreeMap::new();
    }
    c.config
        .iter()
        .flatten()
        .map(|(key, _)| (env::config_env_name(key), key.clone()))
        .collect()
}
