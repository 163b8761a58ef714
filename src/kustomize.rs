//! kustomize's exec plugin for tdgen specs: where kustomize looks for it and the script it
//! runs. kustomize runs `$XDG_CONFIG_HOME/kustomize/plugin/${apiVersion}/LOWERCASE(${kind})/${kind}`
//! with the path of the generator's config (the spec) as its one argument, and reads the
//! generated objects from its stdout (kubectl.docs.kubernetes.io, "Exec plugins"; checked with
//! kubectl v1.37's kustomize by `scripts/conformance`).

use std::path::{Path, PathBuf};

use crate::spec;

/// The plugin's path below a kustomize plugin root (`$XDG_CONFIG_HOME/kustomize/plugin`).
pub fn plugin_path(plugin_root: &Path) -> PathBuf {
    plugin_root
        .join(spec::API_VERSION)
        .join(spec::KIND.to_ascii_lowercase())
        .join(spec::KIND)
}

/// The plugin root kustomize uses: `$XDG_CONFIG_HOME/kustomize/plugin`, where
/// `XDG_CONFIG_HOME` defaults to `$HOME/.config`. `None` without either variable.
pub fn plugin_root(xdg_config_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    let config = match (
        xdg_config_home.filter(|d| !d.is_empty()),
        home.filter(|d| !d.is_empty()),
    ) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, Some(home)) => Path::new(home).join(".config"),
        (None, None) => return None,
    };
    Some(config.join("kustomize").join("plugin"))
}

/// Install the plugin running `command` below `plugin_root`, and return its path. The script
/// is written aside and renamed into place, executable: a link at the plugin's path is
/// replaced, never written through.
pub fn install(plugin_root: &Path, command: &str) -> Result<PathBuf, crate::Error> {
    let path = plugin_path(plugin_root);
    crate::emit::dir::replace(&path, &plugin_script(command), true)?;
    Ok(path)
}

/// The plugin: a POSIX shell script that hands the spec kustomize read to `tdgen`
/// (`command`, an absolute path or a name on PATH).
pub fn plugin_script(command: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # kustomize exec plugin for {kind} specs ({api}), written by `tdgen kustomize-plugin install`.\n\
         # kustomize runs it with the path of the spec it read; the objects go to stdout.\n\
         exec {command} kustomize-plugin generate \"$@\"\n",
        kind = spec::KIND,
        api = spec::API_VERSION,
        command = crate::templates::shell_quote(command),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_sits_where_kustomize_looks() {
        let root = plugin_root(None, Some("/home/ops")).unwrap();
        assert_eq!(
            plugin_path(&root),
            Path::new("/home/ops/.config/kustomize/plugin/tdgen/v1/tdenginecluster/TDengineCluster")
        );
        assert_eq!(
            plugin_root(Some("/x"), Some("/home/ops")),
            Some(PathBuf::from("/x/kustomize/plugin"))
        );
        assert_eq!(plugin_root(Some(""), None), None);
        assert!(plugin_script("/opt/it's/tdgen").contains(r"exec '/opt/it'\''s/tdgen' kustomize-plugin generate"));
    }
}
