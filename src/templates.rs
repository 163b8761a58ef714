//! The minijinja environment for text artefacts (starter specs, taos.cfg, scripts and
//! runbooks). Templates are embedded in the binary; undefined values are errors, and templates
//! named `*.yaml.j2` JSON-escape every value, which is valid YAML.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::Error;
use crate::tdengine;

const TEMPLATES: [(&str, &str); 19] = [
    ("init.yaml.j2", include_str!("../templates/init.yaml.j2")),
    ("taos.cfg.j2", include_str!("../templates/taos.cfg.j2")),
    (
        "mnode-bootstrap.sh.j2",
        include_str!("../templates/mnode-bootstrap.sh.j2"),
    ),
    ("explain.txt.j2", include_str!("../templates/explain.txt.j2")),
    ("plans/_lib.sh.j2", include_str!("../templates/plans/_lib.sh.j2")),
    ("shell/taos.sh.j2", include_str!("../templates/shell/taos.sh.j2")),
    ("backup.sh.j2", include_str!("../templates/backup.sh.j2")),
    ("restore.sh.j2", include_str!("../templates/restore.sh.j2")),
    ("plans/mnodes.sh.j2", include_str!("../templates/plans/mnodes.sh.j2")),
    (
        "plans/scale-out.sh.j2",
        include_str!("../templates/plans/scale-out.sh.j2"),
    ),
    (
        "plans/scale-in.sh.j2",
        include_str!("../templates/plans/scale-in.sh.j2"),
    ),
    (
        "plans/teardown.sh.j2",
        include_str!("../templates/plans/teardown.sh.j2"),
    ),
    ("plans/verify.sh.j2", include_str!("../templates/plans/verify.sh.j2")),
    ("plans/adopt.sh.j2", include_str!("../templates/plans/adopt.sh.j2")),
    ("plans/config.sh.j2", include_str!("../templates/plans/config.sh.j2")),
    ("plans/upgrade.sh.j2", include_str!("../templates/plans/upgrade.sh.j2")),
    ("plans/restore.sh.j2", include_str!("../templates/plans/restore.sh.j2")),
    (
        "plans/password.sh.j2",
        include_str!("../templates/plans/password.sh.j2"),
    ),
    (
        "plans/replace-dnode.sh.j2",
        include_str!("../templates/plans/replace-dnode.sh.j2"),
    ),
];

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("shell_quote", |value: String| shell_quote(&value));
    // TDengine facts the text artefacts mention, from their one home.
    env.add_global(
        "tdengine",
        minijinja::context! {
            adapter_port => tdengine::ADAPTER.port,
            default_server_port => tdengine::DEFAULT_SERVER_PORT,
            max_mnodes => tdengine::MAX_MNODES,
            mnode_exists => tdengine::sql::MNODE_EXISTS,
            mnode_missing => tdengine::sql::MNODE_MISSING,
            out_of_dnodes => tdengine::sql::OUT_OF_DNODES,
            dnode_dropping => tdengine::sql::DNODE_DROPPING,
            transient_refusals => tdengine::sql::TRANSIENT_REFUSALS,
            alter_root_password => tdengine::sql::ALTER_ROOT_PASSWORD,
            root_password_marker => tdengine::ROOT_PASSWORD_MARKER,
        },
    );
    // The SQL every script sends, from its one home.
    env.add_global(
        "sql",
        minijinja::context! {
            show_dnodes => tdengine::sql::SHOW_DNODES,
            show_mnodes => tdengine::sql::SHOW_MNODES,
            read_replicas => tdengine::sql::READ_REPLICAS,
            read_vgroups => tdengine::sql::READ_VGROUPS,
            read_version => tdengine::sql::READ_VERSION,
            read_variables => tdengine::sql::READ_VARIABLES,
            read_streams => tdengine::sql::READ_STREAMS,
            show_users => tdengine::sql::SHOW_USERS,
            create_mnode => tdengine::sql::CREATE_MNODE,
            drop_mnode => tdengine::sql::DROP_MNODE,
            drop_dnode => tdengine::sql::DROP_DNODE,
            alter_all_dnodes => tdengine::sql::ALTER_ALL_DNODES,
        },
    );
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // Each template is compiled the first time it is used, so a render pays only for the ones
    // it needs. They are embedded in the binary and all compiled by a test (a syntax error
    // would be a tdgen defect, reported by `render`).
    env.set_loader(|name| {
        Ok(TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, source)| (*source).to_owned()))
    });
    Ok(env)
}

/// Render the embedded template `name` with `context`.
pub(crate) fn render(name: &str, context: impl Serialize) -> Result<String, Error> {
    let failure = |e: minijinja::Error| Error::Serialize {
        what: format!("template {name}"),
        message: format!("{e:#}"),
    };
    // Compiled once per process: every render reuses the parsed templates.
    static ENVIRONMENT: std::sync::LazyLock<Result<Environment<'static>, String>> =
        std::sync::LazyLock::new(|| environment().map_err(|e| format!("{e:#}")));
    let env = ENVIRONMENT.as_ref().map_err(|message| Error::Serialize {
        what: format!("template {name}"),
        message: message.clone(),
    })?;
    env.get_template(name)
        .map_err(failure)?
        .render(minijinja::value::Serde(&context))
        .map_err(failure)
}

/// Quote a value for POSIX shells: `'…'` with embedded quotes closed and escaped (the
/// templates' `shell_quote` filter, and every command tdgen prints).
pub(crate) fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_embedded_template_compiles() {
        let env = super::environment().unwrap_or_else(|e| panic!("{e:#}"));
        for (name, _) in super::TEMPLATES {
            if let Err(e) = env.get_template(name) {
                panic!("{name}: {e:#}");
            }
        }
    }
}
