//! The SQL tdgen's scripts send to taosd, and the refusals they read back: one home for both.
//!
//! Every statement here was run against the real parser of each TDengine build in
//! `shared/realsys` (3.0.7.1 and 3.3.6.13); the realsys tier runs them again on every CI run
//! (`tests/realsys`, scenario `statements`). `replica` and `value` are keywords in both builds,
//! so they are quoted with backticks: `select name, replica from …` is a syntax error there.
//! Reads use the vertical form (`\G`): values printed whole, one `name: value` line each.

/// The dnodes: `id`, `endpoint`, `status` among others (`source/common/src/systable.c`).
pub const SHOW_DNODES: &str = r"show dnodes\G";
/// The mnodes: `id`, `endpoint`, `role`, `status` (systable.c).
pub const SHOW_MNODES: &str = r"show mnodes\G";
/// Each database's replica count; the system databases report NULL
/// (`mnode/impl/src/mndDb.c`).
pub const READ_REPLICAS: &str = r"select name, `replica` from information_schema.ins_databases\G";
/// Where each vgroup's replicas live (systable.c, `ins_vgroups`).
pub const READ_VGROUPS: &str =
    r"select vgroup_id, db_name, v1_dnode, v2_dnode, v3_dnode from information_schema.ins_vgroups\G";
/// The version taosd runs (`3.3.6.13.alpha` in the realsys build: four numbers, then a suffix).
pub const READ_VERSION: &str = r"select server_version() as version\G";
/// Every dnode's parameters (systable.c, `ins_dnode_variables`).
pub const READ_VARIABLES: &str = r"select dnode_id, name, `value` from information_schema.ins_dnode_variables\G";
/// The streams, by name (systable.c, `ins_streams`).
pub const READ_STREAMS: &str = r"select stream_name from information_schema.ins_streams\G";
/// A read any logged-in user may make: the scripts' proof that a password logs in.
pub const SHOW_USERS: &str = r"show users\G";
/// `CREATE MNODE ON DNODE <id>` (SQL reference, "Manage Nodes").
pub const CREATE_MNODE: &str = "create mnode on dnode";
/// `DROP MNODE ON DNODE <id>`.
pub const DROP_MNODE: &str = "drop mnode on dnode";
/// `DROP DNODE <id> [force | unsafe]`.
pub const DROP_DNODE: &str = "drop dnode";
/// `ALTER ALL DNODES '<name>' '<value>'` (taosd reference, "Dynamic Modification").
pub const ALTER_ALL_DNODES: &str = "alter all dnodes";
/// `ALTER USER root PASS '<new>'` (SQL reference, user management).
pub const ALTER_ROOT_PASSWORD: &str = "ALTER USER root PASS";

/// The reads, for the test that runs each against every build.
pub const READS: [&str; 8] = [
    SHOW_DNODES,
    SHOW_MNODES,
    READ_REPLICAS,
    READ_VGROUPS,
    READ_VERSION,
    READ_VARIABLES,
    READ_STREAMS,
    SHOW_USERS,
];

/// `CREATE MNODE` on a dnode that has one (`TSDB_CODE_MND_MNODE_ALREADY_EXIST`,
/// `source/util/src/terror.c`; 3.3.6.13 prints `[0x800003A0]` after it, 3.0.7.1 no code):
/// a script re-running a step takes it as done.
pub const MNODE_EXISTS: &str = "Mnode already exists";
/// `DROP MNODE` on a dnode without one (`TSDB_CODE_MND_MNODE_NOT_EXIST`, `[0x800003A1]`).
pub const MNODE_MISSING: &str = "Mnode not there";
/// `DROP DNODE … FORCE` when the other dnodes cannot hold the lost dnode's replicas
/// (`TSDB_CODE_MND_NO_ENOUGH_DNODES`, `[0x80000334]`; measured: 3 dnodes, a REPLICA 3
/// database, one dnode dead).
pub const OUT_OF_DNODES: &str = "Out of dnodes";
/// `DROP DNODE` for a dnode already being dropped (`TSDB_CODE_MND_DNODE_IN_DROPPING`): the
/// earlier statement was taken, and its answer was lost. While a drop is under way `show dnodes`
/// lists the dnode's status as `dropping*` in 3.3.6.13 (measured).
pub const DNODE_DROPPING: &str = "Dnode in dropping status";
/// Refusals that say "not now" rather than "no": another transaction holds the objects
/// (`TSDB_CODE_MND_TRANS_CONFLICT`). A script asks again instead of stopping.
pub const TRANSIENT_REFUSALS: [&str; 1] = ["Conflict transaction not completed"];
