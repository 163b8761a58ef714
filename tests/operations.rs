//! The runbooks for operations no TDengine tool writes: replacing a lost dnode, changing
//! parameters on a running cluster, rotating the root password. Each runs with bash against
//! the fakes of `tests/fakes/` under both shells, including refusals, failures midway and
//! re-runs.

use tdgen::runbook::{PlanKind, plan};

use crate::support::*;

const NS: [(&str, &str); 1] = [("NAMESPACE", "ns")];

fn valid(spec: &str) -> tdgen::ValidSpec {
    tdgen::check(&request(spec)).expect("valid spec").valid
}

fn replace_script(ordinal: u32) -> String {
    let spec = valid("spec: {dnodes: 3, mnodes: 3, storage: {logs: {size: 1Gi}}}");
    plan(&spec, PlanKind::ReplaceDnode { ordinal }).expect("plan").script
}

/// Three dnodes with three mnodes; dnode 3 (pod 2) is `status`, and holds vgroups of a
/// REPLICA 2 database (whose lost replicas fit on the two other dnodes; REPLICA 3 needs a spare,
/// which the realsys tier runs) and, with `single`, the only vgroup of a REPLICA 1 database.
fn lost_third(test: &str, shell: Shell, status: &'static str, single: bool) -> FakeCluster {
    let cluster = FakeCluster::new(test, shell);
    cluster
        .dnodes(&[(1, 0, "ready"), (2, 1, "ready"), (3, 2, status)])
        .mnodes(&THREE_MNODES)
        .databases(&[("metrics", 2), ("scratch", 1)]);
    let mut vgroups = "2 metrics 1 3 NULL\n3 metrics 2 3 NULL\n4 scratch 1 NULL NULL\n".to_owned();
    if single {
        vgroups.push_str("5 scratch 3 NULL NULL\n");
    }
    cluster.sandbox.write("vgroups", &vgroups);
    cluster
}

#[test]
fn a_ready_dnode_is_never_dropped() {
    for shell in SHELLS {
        let cluster = lost_third("replace-ready", shell, "ready", false);
        let run = cluster.run(&replace_script(2), &[("NAMESPACE", "ns"), ("CONFIRM", "3")]);
        run.assert_exit(0);
        run.assert_said("is ready: nothing to drop");
        assert!(run.changes().is_empty(), "{:?}", run.calls);
    }
}

#[test]
fn another_dnode_down_stops_before_anything_changes() {
    for shell in SHELLS {
        let cluster = lost_third("replace-two-down", shell, "offline", false);
        cluster.dnodes(&[(1, 0, "ready"), (2, 1, "offline"), (3, 2, "offline")]);
        let run = cluster.run(&replace_script(2), &[("NAMESPACE", "ns"), ("CONFIRM", "3")]);
        run.assert_stopped(1, "replace one dnode at a time");
        assert!(run.changes().is_empty());
    }
}

#[test]
fn a_pod_stuck_on_a_lost_node_needs_force_pod_and_a_rerun_finishes() {
    for shell in SHELLS {
        let cluster = lost_third("replace-stuck", shell, "offline", false);
        cluster.sandbox.write("stuck-pods", "tdengine-2\n");
        let script = replace_script(2);
        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("CONFIRM", "3")]);
        run.assert_stopped_keeping(1, "run again with FORCE_POD=1", &[]);
        assert_eq!(run.sql_changes(), ["drop dnode 3 force"]);

        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("FORCE_POD", "1")]);
        run.assert_exit(0);
        run.assert_said("is not registered: already dropped");
        assert!(
            run.changes().contains(
                &"kubectl delete pod tdengine-2 -n ns --ignore-not-found --force --grace-period=0".to_owned()
            ),
            "{:?}",
            run.changes()
        );
        assert!(
            run.sql_changes().iter().all(|s| !s.starts_with("drop")),
            "no second drop"
        );
    }
}

#[test]
fn no_answer_midway_stops_and_a_rerun_resumes() {
    for shell in SHELLS {
        let cluster = lost_third("replace-midway", shell, "offline", false);
        let script = replace_script(2);
        // The drop is accepted and seen through, then taosd stops answering just before the
        // PVCs would be deleted, for longer than the script waits.
        for _ in 0..3 {
            cluster.fault("show dnodes*", "pass");
        }
        for _ in 0..12 {
            cluster.fault("show dnodes*", "connect");
        }
        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("CONFIRM", "3")]);
        run.assert_stopped(1, "taosd did not answer");
        assert_eq!(run.sql_changes(), ["drop dnode 3 force"]);
        cluster.clear_faults();
        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("CONFIRM", "3")]);
        run.assert_exit(0);
        assert!(cluster.state("dnodes").contains(&format!("{} ready", ep(2))));
    }
}

#[test]
fn dnode_zero_and_ordinals_outside_the_cluster_are_refused() {
    let spec = valid("spec: {dnodes: 3}");
    let refused = plan(&spec, PlanKind::ReplaceDnode { ordinal: 0 }).expect_err("firstEp");
    assert_eq!(refused.code, "plan-replace-refused");
    assert!(refused.message.contains("firstEp"), "{}", refused.message);
    let refused = plan(&spec, PlanKind::ReplaceDnode { ordinal: 3 }).expect_err("outside");
    assert!(refused.message.contains("ordinals 0 to 2"), "{}", refused.message);
}

/// The render of `spec`, written where `plan config` reads it as the previous render.
fn previous(cluster: &FakeCluster, spec: &str) -> tdgen::diff::Previous {
    let yaml = tdgen::render(&valid(spec)).to_yaml().expect("yaml");
    let path = cluster.sandbox.dir.join("previous.yaml");
    std::fs::write(&path, yaml).expect("previous render");
    tdgen::diff::read_previous(&path, false).expect("previous render reads")
}

fn config_script(cluster: &FakeCluster, before: &str, after: &str) -> String {
    let previous = previous(cluster, before);
    tdgen::runbook::plan_config(&valid(after), &previous)
        .expect("plan config")
        .script
}

/// Three dnodes on TDengine 3.3.6.13, with more of the spec (`config: {…}`).
fn on_three(more: &str) -> String {
    let more = if more.is_empty() {
        String::new()
    } else {
        format!(", {more}")
    };
    format!("spec: {{dnodes: 3, image: {{tag: '3.3.6.13'}}{more}}}")
}

fn healthy(test: &str, shell: Shell) -> FakeCluster {
    let cluster = FakeCluster::new(test, shell);
    cluster.dnodes(&THREE_READY).mnodes(&THREE_MNODES);
    cluster.sandbox.write("version", "3.3.6.13");
    cluster
}

#[test]
fn the_time_zone_changes_on_every_dnode_at_once() {
    for shell in SHELLS {
        let cluster = healthy("config-tz", shell);
        let script = config_script(
            &cluster,
            &on_three("timezone: UTC"),
            &on_three("timezone: Asia/Shanghai"),
        );
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        assert_eq!(run.sql_changes(), ["alter all dnodes 'timezone' 'Asia/Shanghai'"]);
        run.assert_said("timezone = Asia/Shanghai on every dnode");
    }
}

#[test]
fn a_refused_alter_stops_and_a_rerun_finishes() {
    for shell in SHELLS {
        let cluster = healthy("config-refused", shell);
        let script = config_script(
            &cluster,
            &on_three(""),
            &on_three("config: {mDebugFlag: 135, debugFlag: 135}"),
        );
        cluster.fault("alter all dnodes 'mDebugFlag'*", "error Out of range");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "alter all dnodes 'mDebugFlag' '135' was refused: Out of range");
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        assert_eq!(
            run.sql_changes(),
            ["alter all dnodes 'mDebugFlag' '135'"],
            "debugFlag was set by the first run"
        );
    }
}

#[test]
fn a_cluster_not_ready_or_on_another_version_is_left_alone() {
    for shell in SHELLS {
        let cluster = healthy("config-checks", shell);
        let script = config_script(&cluster, &on_three(""), &on_three("config: {mDebugFlag: 135}"));
        cluster.sandbox.write("version", "3.3.6.9");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "taosd runs 3.3.6.9, but the previous render names 3.3.6.13");
        assert!(run.sql_changes().is_empty());
        cluster.sandbox.write("version", "3.3.6.13");
        cluster.dnodes(&[(1, 0, "ready"), (2, 1, "offline"), (3, 2, "ready")]);
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "2 of 3 dnodes are ready");
        assert!(run.sql_changes().is_empty());
    }
}

#[test]
fn before_persisted_configuration_the_rollout_carries_what_alter_cannot() {
    for shell in SHELLS {
        let cluster = healthy("config-old", shell);
        cluster.sandbox.write("version", "3.3.4.3");
        let old = "image: {tag: '3.3.4.3'}";
        let script = config_script(
            &cluster,
            &format!("spec: {{dnodes: 3, {old}}}"),
            &format!("spec: {{dnodes: 3, {old}, config: {{minimalTmpDirGB: 2, numOfCommitThreads: 8}}}}"),
        );
        let run = cluster.run(&script, &NS);
        run.assert_exit(3);
        assert!(
            run.sql_changes().is_empty(),
            "nothing ALTER can do here: {:?}",
            run.calls
        );
        // The rollout restarts every dnode, which reads the new render's values at start.
        cluster.sandbox.write(
            "variables",
            "supportVnodes 16\nnumOfCommitThreads 8\nminimalTmpDirGB 2.000000\ntimezone UTC\n",
        );
        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("APPLIED", "1")]);
        run.assert_exit(0);
        run.assert_said("minimalTmpDirGB = 2 on every dnode");
    }
}

#[test]
fn what_a_running_cluster_cannot_take_is_refused_with_the_reason() {
    let cluster = FakeCluster::new("config-refusals", Shell::Current);
    let refused = |before: &str, after: &str| {
        let previous = previous(&cluster, before);
        tdgen::runbook::plan_config(&valid(after), &previous).expect_err("refused")
    };
    let finding = refused(&on_three(""), &on_three("config: {minimalTmpDirGB: 2}"));
    assert_eq!(finding.code, "plan-config-refused");
    assert!(
        finding
            .message
            .contains("minimalTmpDirGB: TDengine 3.3.6.13 does not change it by ALTER"),
        "{}",
        finding.message
    );
    let finding = refused(&on_three("config: {mDebugFlag: 131}"), &on_three(""));
    assert!(
        finding.message.contains("removing it does not reset it"),
        "{}",
        finding.message
    );
    let finding = refused(
        &on_three(""),
        "spec: {dnodes: 3, image: {tag: '3.3.8.8'}, config: {mDebugFlag: 135}}",
    );
    assert!(finding.message.contains("two steps"), "{}", finding.message);
    let finding = refused(&on_three(""), &on_three(""));
    assert!(
        finding.message.contains("changes no taosd parameter"),
        "{}",
        finding.message
    );
    let finding = refused(
        "spec: {dnodes: 3, image: {tag: '3.0.7.1'}, timezone: UTC}",
        "spec: {dnodes: 3, image: {tag: '3.0.7.1'}, timezone: Asia/Shanghai}",
    );
    assert!(finding.message.contains("split the cluster"), "{}", finding.message);
}

fn password_script(current: &str, secret: &str) -> String {
    let next = current.replace("secretName: root-old", &format!("secretName: {secret}"));
    let current = valid(current);
    tdgen::runbook::plan_password(&current, &valid(&next))
        .expect("plan password")
        .script
}

/// Three ready dnodes whose root password is `old-pass`, from Secret `root-old`, and a new
/// Secret `root-new` holding `N3w-pass!`.
fn with_password(test: &str, shell: Shell) -> FakeCluster {
    let cluster = healthy(test, shell);
    cluster.sandbox.write("password", "old-pass");
    cluster.sandbox.write("pod-env", "TAOS_ROOT_PASSWORD=old-pass\n");
    cluster.sandbox.write("secret-root-old", "old-pass");
    cluster.sandbox.write("secret-root-new", "N3w-pass!");
    cluster
}

const WITH_OLD: &str =
    "spec:\n  dnodes: 3\n  image: {tag: '3.3.6.13'}\n  rootPassword: {secretName: root-old, key: password}";

#[test]
fn a_password_taosd_refuses_or_the_shell_cannot_read_stops_before_anything_changes() {
    for shell in SHELLS {
        let cluster = with_password("password-refused", shell);
        let script = password_script(WITH_OLD, "root-new");
        cluster.fault("ALTER USER root PASS*", "error Invalid password format");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "taosd refused the new password: Invalid password format");
        assert_eq!(cluster.state("password"), "old-pass");
        assert!(
            !run.changes().iter().any(|c| c.starts_with("applied")),
            "no switch after a refusal"
        );

        cluster.sandbox.write("secret-root-new", "has space");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "holds whitespace; nothing was changed");
        assert!(run.sql_changes().is_empty());
        std::fs::remove_file(cluster.sandbox.dir.join("secret-root-new")).expect("remove");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "(key password) could not be read");
    }
}

#[test]
fn a_lost_answer_to_the_change_is_settled_by_trying_the_new_password() {
    for shell in SHELLS {
        let cluster = with_password("password-lost", shell);
        let script = password_script(WITH_OLD, "root-new");
        cluster.fault("ALTER USER root PASS*", "connect");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "no answer to the password change");
        assert!(!run.changes().iter().any(|c| c.starts_with("applied")));
        // taosd had taken it after all: the pods' own password no longer logs in.
        cluster.sandbox.write("password", "N3w-pass!");
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        run.assert_said("the new password logs in already");
        assert!(run.sql_changes().is_empty(), "{:?}", run.calls);
        assert!(
            run.changes().iter().any(|c| c.starts_with("applied")),
            "{:?}",
            run.changes()
        );
    }
}

#[test]
fn the_password_plan_refuses_a_spec_that_changes_more() {
    let current = valid(WITH_OLD);
    let same = tdgen::runbook::plan_password(&current, &current).expect_err("same Secret");
    assert_eq!(same.code, "plan-password-refused");
    let more = valid(&format!(
        "{}\n  timezone: UTC\n",
        WITH_OLD.replace("root-old", "root-new")
    ));
    let refused = tdgen::runbook::plan_password(&current, &more).expect_err("more than the password");
    assert!(
        refused.message.contains("more than the password"),
        "{}",
        refused.message
    );
    let newer = "spec:\n  dnodes: 3\n  image: {tag: '3.3.8.8'}\n  rootPassword: {secretName: root-old, key: password}";
    let script = password_script(newer, "root-new");
    assert!(
        !script.contains(".docker-entrypoint-root-password-changed"),
        "no marker step after 3.3.8.4"
    );
}

fn upgrade_script(from: &str, to: &str, body: &str) -> String {
    let current = valid(&format!("spec: {{{body}, image: {{tag: '{from}'}}}}"));
    let next = valid(&format!("spec: {{{body}, image: {{tag: '{to}'}}}}"));
    tdgen::runbook::plan_upgrade(&current, &next)
        .expect("plan upgrade")
        .script
}

/// [`healthy`], running `tag` on every pod, with a REPLICA 3 database.
fn running(test: &str, shell: Shell, tag: &str) -> FakeCluster {
    let cluster = healthy(test, shell);
    cluster.sandbox.write("version", tag);
    cluster.sandbox.write("image", &format!("tdengine/tdengine:{tag}"));
    cluster.databases(&[("metrics", 3)]);
    cluster
}

#[test]
fn a_rolling_upgrade_stops_when_a_database_would_go_offline() {
    for shell in SHELLS {
        let cluster = running("upgrade-replica", shell, "3.3.6.9");
        cluster.databases(&[("metrics", 3), ("scratch", 1)]);
        let script = upgrade_script("3.3.6.9", "3.3.6.13", "dnodes: 3, mnodes: 3");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "databases with fewer than 3 replicas: scratch");
        assert!(run.changes().is_empty());
        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("OFFLINE", "1")]);
        run.assert_stopped(1, "Run again with CONFIRM=tdengine");
        assert!(run.changes().is_empty());
        let run = cluster.run(
            &script,
            &[("NAMESPACE", "ns"), ("OFFLINE", "1"), ("CONFIRM", "tdengine")],
        );
        run.assert_exit(0);
        assert!(
            run.changes()
                .contains(&"kubectl scale statefulset tdengine -n ns --replicas=0".to_owned())
        );
        assert_eq!(cluster.state("version"), "3.3.6.13");
    }
}

#[test]
fn an_upgrade_checks_the_running_version_and_streams_across_3_1() {
    for shell in SHELLS {
        let cluster = running("upgrade-checks", shell, "3.3.6.9");
        let script = upgrade_script("3.3.6.9", "3.3.6.13", "dnodes: 3, mnodes: 3");
        cluster.sandbox.write("version", "3.3.6.3");
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "taosd runs 3.3.6.3, not 3.3.6.9");

        let cluster = running("upgrade-streams", shell, "3.0.7.1");
        cluster.sandbox.write("streams", "avg_load\n");
        let script = upgrade_script("3.0.7.1", "3.1.1.0", "dnodes: 3, mnodes: 3");
        assert!(script.contains("cannot be rolled back"));
        let run = cluster.run(&script, &[("NAMESPACE", "ns"), ("CONFIRM", "tdengine")]);
        run.assert_stopped(1, "drop these streams before upgrading to 3.1.1.0: avg_load");
        assert!(run.changes().is_empty());
    }
}

#[test]
fn downgrades_and_major_changes_are_refused() {
    let refused = |from: &str, to: &str| {
        let current = valid(&format!("spec: {{dnodes: 3, image: {{tag: '{from}'}}}}"));
        let next = valid(&format!("spec: {{dnodes: 3, image: {{tag: '{to}'}}}}"));
        tdgen::runbook::plan_upgrade(&current, &next).expect_err("refused")
    };
    let down = refused("3.3.6.13", "3.3.6.9");
    assert_eq!(down.code, "plan-upgrade-refused");
    assert!(down.message.contains("not an upgrade"), "{}", down.message);
    let current = valid("spec: {dnodes: 3, image: {tag: '3.3.6.9'}}");
    let more = valid("spec: {dnodes: 4, image: {tag: '3.3.6.13'}}");
    let refused = tdgen::runbook::plan_upgrade(&current, &more).expect_err("more than the tag");
    assert!(
        refused.message.contains("more than the image tag"),
        "{}",
        refused.message
    );
}

#[test]
fn a_rolling_upgrade_stopped_midway_resumes_where_it_stopped() {
    for shell in SHELLS {
        let cluster = running("upgrade-resume", shell, "3.3.6.9");
        // A first run applied the new template and upgraded pods 2 and 1, then stopped.
        cluster.sandbox.write("image", "tdengine/tdengine:3.3.6.13");
        cluster.sandbox.write("partition", "1");
        cluster.sandbox.write(
            "pod-images",
            "tdengine-0 tdengine/tdengine:3.3.6.9\ntdengine-1 tdengine/tdengine:3.3.6.13\ntdengine-2 tdengine/tdengine:3.3.6.13\n",
        );
        let script = upgrade_script("3.3.6.9", "3.3.6.13", "dnodes: 3, mnodes: 3");
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        assert!(
            !run.calls.iter().any(|c| c.starts_with("applied")),
            "the template is not applied again"
        );
        let patches: Vec<&String> = run.calls.iter().filter(|c| c.starts_with("kubectl patch")).collect();
        assert_eq!(patches.len(), 1, "only pod 0 is left: {patches:?}");
        assert!(patches[0].contains("\"partition\":0"), "{patches:?}");
        assert_eq!(cluster.state("version"), "3.3.6.13");
    }
}

/// The backup script of `spec` (a fragment of `spec.backup`), writing under the sandbox's
/// `backups/` instead of the pod's `/backup`, with the fake `taosdump` and a clock that moves
/// on by one second per call.
fn backup_setup(test: &str, backup: &str) -> (FakeCluster, String) {
    let cluster = healthy(test, Shell::Current);
    cluster.dnodes(&[(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready")]);
    cluster.databases(&[("metrics", 3), ("events", 3), ("log", 1)]);
    let fakes = std::path::Path::new(crate::support::ROOT).join("tests/fakes");
    let taosdump = std::fs::read_to_string(fakes.join("taosdump")).expect("fake taosdump");
    write_tool(&cluster, "taosdump", &taosdump);
    write_tool(
        &cluster,
        "date",
        "#!/usr/bin/env bash\n# A clock for the tests: 2026-11-27 03:00:00 UTC, one second later at every call.\nn=$(cat \"$FAKE/clock\" 2>/dev/null || echo 0)\necho $((n + 1)) >\"$FAKE/clock\"\nprintf '20261127T0300%02dZ\\n' \"$n\"\n",
    );
    let spec = valid(&on_three(&format!("backup: {{{backup}}}")));
    let script = crate::support::rendered_script(&spec, "backup.sh");
    let dir = cluster.sandbox.dir.join("backups");
    std::fs::create_dir_all(&dir).expect("backup dir");
    let script = script.replace("BACKUP_DIR='/backup'", &format!("BACKUP_DIR='{}'", dir.display()));
    (cluster, script)
}

fn write_tool(cluster: &FakeCluster, name: &str, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = cluster.sandbox.dir.join("bin").join(name);
    std::fs::write(&path, text).expect("tool");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn backups(cluster: &FakeCluster) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cluster.sandbox.dir.join("backups"))
        .expect("backups")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const POD: [(&str, &str); 2] = [("POD_NAMESPACE", "ns"), ("TAOS_ROOT_PASSWORD", "s3cret")];

#[test]
fn a_backup_run_dumps_the_listed_databases_and_keeps_the_newest() {
    let (cluster, script) = backup_setup("backup", "databases: [metrics, events], keep: 3");
    cluster.sandbox.write("password", "s3cret");
    for _ in 0..5 {
        let run = cluster.run(&script, &POD);
        run.assert_exit(0);
        let dump = run
            .calls
            .iter()
            .find(|c| c.starts_with("taosdump "))
            .expect("taosdump ran");
        assert!(
            dump.contains("databases=metrics,events all=0") || dump.contains("all=0 databases=metrics,events"),
            "{dump}"
        );
        assert!(
            dump.contains("host=tdengine-0.taosd.ns.svc.cluster.local port=6030"),
            "{dump}"
        );
    }
    assert_eq!(
        backups(&cluster),
        ["20261127T030002Z", "20261127T030003Z", "20261127T030004Z"],
        "the newest 3 whole backups"
    );
    let newest = cluster.sandbox.dir.join("backups/20261127T030004Z");
    assert!(newest.join("taosdump.metrics").is_dir() && newest.join("taosdump.events").is_dir());
}

#[test]
fn a_failed_dump_keeps_nothing_and_leaves_the_older_backups() {
    let (cluster, script) = backup_setup("backup-failed", "");
    let run = cluster.run(&script, &[("POD_NAMESPACE", "ns")]);
    run.assert_exit(0);
    assert!(
        run.calls.iter().any(|c| c.contains("all=1")),
        "every database by default"
    );
    cluster.fault("taosdump", "fail");
    let run = cluster.run(&script, &[("POD_NAMESPACE", "ns")]);
    run.assert_exit(1);
    run.assert_said("this run kept nothing");
    assert_eq!(
        backups(&cluster),
        ["20261127T030000Z"],
        "no partial dump is left behind"
    );
    cluster.sandbox.write("password", "changed");
    let run = cluster.run(&script, &[("POD_NAMESPACE", "ns")]);
    assert_eq!(run.code, 1, "a refused login keeps nothing: {}", run.log);
    assert_eq!(backups(&cluster), ["20261127T030000Z"]);
}

#[test]
fn the_restore_script_loads_a_whole_backup_and_refuses_anything_else() {
    let (cluster, backup) = backup_setup("restore-script", "databases: [metrics, events]");
    let run = cluster.run(&backup, &[("POD_NAMESPACE", "ns")]);
    run.assert_exit(0);
    let spec = valid(&on_three("backup: {databases: [metrics, events]}"));
    let dir = cluster.sandbox.dir.join("backups");
    let restore = crate::support::rendered_script(&spec, "restore.sh")
        .replace("BACKUP_DIR='/backup'", &format!("BACKUP_DIR='{}'", dir.display()));
    let run_restore = |from: &str| {
        let script = format!("set -- {from}\n{restore}");
        cluster.run(&script, &[("POD_NAMESPACE", "ns")])
    };
    let run = run_restore("20261127T030000Z");
    run.assert_exit(0);
    assert_eq!(cluster.state("restored"), "events\nmetrics\n");
    assert!(
        run.calls
            .iter()
            .any(|c| c.contains("taosdump host=tdengine-0.taosd.ns.svc.cluster.local") && c.contains("in=set"))
    );
    let run = run_restore("20991231T000000Z");
    run.assert_exit(2);
    run.assert_said("no backup 20991231T000000Z");
    assert!(
        run.log.contains("20261127T030000Z"),
        "the backups there are listed: {}",
        run.log
    );
    let run = run_restore("../etc");
    run.assert_exit(2);
}

#[test]
fn a_restore_needs_a_backup_volume_and_a_backup_name() {
    let without = valid(&on_three(""));
    let refused = tdgen::runbook::plan_restore(&without, "20261127T030000Z").expect_err("no spec.backup");
    assert_eq!(refused.code, "plan-restore-refused");
    let with = valid(&on_three("backup: {}"));
    for bad in ["", "../x", ".partial-1", "a/b"] {
        assert!(tdgen::runbook::plan_restore(&with, bad).is_err(), "{bad:?}");
    }
}

#[test]
fn an_image_without_taosdump_is_named_as_the_cause() {
    let (cluster, script) = backup_setup("backup-no-taosdump", "");
    std::fs::remove_file(cluster.sandbox.dir.join("bin/taosdump")).expect("remove the fake");
    let run = cluster.run(&script, &[("POD_NAMESPACE", "ns")]);
    run.assert_exit(1);
    run.assert_said("this image has no taosdump");
    assert!(backups(&cluster).is_empty());
}
