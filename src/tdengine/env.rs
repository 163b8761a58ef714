//! taosd's rule for reading `TAOS_*` environment variables as taos.cfg parameters, and the
//! variables the image's entrypoint reads.
//!
//! Source: `taosEnvNameToCfgName` in TDengine's `source/util/src/tenv.c` — strip `TAOS_`,
//! lower-case the first letter, drop every `_` and keep the letter after it as it is,
//! lower-case the rest; names are matched case-insensitively (`cfgGetItem`, tconfig.c), and
//! environment variables override taos.cfg (`taosLoadCfg`, tglobal.c).
//! (`shared/reference/tdengine-anchors.md` §D1.)

/// `TAOS_FQDN`: the dnode's own FQDN (parameter `fqdn`).
pub const FQDN: &str = "TAOS_FQDN";
/// `TAOS_FIRST_EP`: the endpoint a new dnode joins through (parameter `firstEp`).
pub const FIRST_EP: &str = "TAOS_FIRST_EP";
/// `TAOS_SERVER_PORT`: taosd's port (parameter `serverPort`).
pub const SERVER_PORT: &str = "TAOS_SERVER_PORT";
/// `TZ`: the entrypoint links `/etc/localtime` to this zone, and taosd takes its `timezone`
/// from it (entrypoint.sh @ `884ae5c2`, §D3).
pub(crate) const TIMEZONE: &str = "TZ";
/// The root password, read by the entrypoint, `taos-check service` and the taosKeeper it
/// starts (from 3.3.6.6).
pub const ROOT_PASSWORD: &str = "TAOS_ROOT_PASSWORD";
/// A file holding the root password (from 3.3.8.8, see [`super::PASSWORD_FROM_FILE`]).
pub const ROOT_PASSWORD_FILE: &str = "TAOS_ROOT_PASSWORD_FILE";

/// `supportVnodes` → `TAOS_SUPPORT_VNODES`: the inverse of taosd's rule.
pub fn config_env_name(key: &str) -> String {
    let mut name = String::from("TAOS_");
    for (i, c) in key.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// taosd's own rule: the parameter a `TAOS_*` variable sets (`None` for other names).
pub(crate) fn env_name_to_config_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("TAOS_")?;
    let mut key = String::new();
    let mut keep_next = false;
    for (i, c) in rest.chars().enumerate() {
        match c {
            '_' => keep_next = true,
            c if i == 0 => key.push(c.to_ascii_lowercase()),
            c if keep_next => {
                key.push(c);
                keep_next = false;
            }
            c => key.push(c.to_ascii_lowercase()),
        }
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_invert_taosds_rule() {
        for key in [
            "supportVnodes",
            "debugFlag",
            "minimalDataDirGB",
            "s3Accesskey",
            "monitor",
            "numOfRpcThreads",
        ] {
            let env = config_env_name(key);
            assert_eq!(env_name_to_config_key(&env).as_deref(), Some(key), "{env}");
        }
        assert_eq!(config_env_name("supportVnodes"), "TAOS_SUPPORT_VNODES");
        assert_eq!(config_env_name("minimalDataDirGB"), "TAOS_MINIMAL_DATA_DIR_G_B");
    }

    #[test]
    fn the_entrypoint_variables_follow_the_rule() {
        assert_eq!(config_env_name("fqdn"), FQDN);
        assert_eq!(config_env_name("firstEp"), FIRST_EP);
        assert_eq!(config_env_name("serverPort"), SERVER_PORT);
    }
}
