//! Runbooks: snapshots of every plan, and the scripts run by bash against the fakes of
//! `tests/fakes/` (`kubectl` runs `exec` for real against the fake `taos`, which prints the real
//! shell's bytes), under both the current and the pre-rewrite shell. Every failure scenario
//! also asserts that no PVC was deleted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tdgen::Request;
use tdgen::runbook::{PlanKind, plan};

use crate::support::*;
use crate::support::{FakeCluster, SHELLS, Shell};

fn valid(spec: &str) -> tdgen::ValidSpec {
    tdgen::check(&request(spec)).expect("valid spec").valid
}

/// Every plan of one input, as one document: shell scripts, and one Markdown rendering.
fn all_plans(spec: &tdgen::ValidSpec) -> String {
    let dnodes = spec.dnodes;
    let kinds = [
        ("mnodes", PlanKind::Mnodes),
        ("scale out", PlanKind::Scale { to: dnodes + 1 }),
        (
            "scale in",
            PlanKind::Scale {
                to: dnodes.saturating_sub(1).max(1),
            },
        ),
        ("teardown", PlanKind::Teardown),
        ("verify", PlanKind::Verify),
        ("adopt", PlanKind::Adopt),
        (
            "replace-dnode",
            PlanKind::ReplaceDnode {
                ordinal: dnodes.saturating_sub(1),
            },
        ),
    ];
    let mut out = String::new();
    for (title, kind) in kinds {
        out.push_str(&format!("===== plan {title} =====\n"));
        match plan(spec, kind) {
            Ok(runbook) => out.push_str(&runbook.script),
            Err(finding) => out.push_str(&format!(
                "refused [{}]: {}\nhelp: {}\n",
                finding.code,
                finding.message,
                finding.help.unwrap_or_default()
            )),
        }
    }
    let markdown = plan(spec, PlanKind::Mnodes).expect("mnodes plan").to_markdown();
    out.push_str(&format!("===== plan mnodes --format markdown =====\n{markdown}"));
    out
}

#[test]
fn every_plan_matches_its_snapshot() {
    let fixture =
        std::fs::read_to_string(Path::new(crate::support::ROOT).join("tests/fixtures/specs/custom-everything.yaml"))
            .expect("fixture");
    let mut inputs: Vec<(String, tdgen::ValidSpec)> = tdgen::Preset::all()
        .iter()
        .map(|p| {
            (
                format!("plans-preset-{}", p.name),
                tdgen::check(&Request {
                    preset: Some(p.name.into()),
                    ..Request::default()
                })
                .expect("preset")
                .valid,
            )
        })
        .collect();
    inputs.push(("plans-custom-everything".into(), valid(&fixture)));
    for (name, spec) in &inputs {
        insta::assert_snapshot!(name.as_str(), all_plans(spec));
    }
}

#[test]
fn refusals_are_findings() {
    let three = valid("spec: {dnodes: 3, mnodes: 3}");
    let refused = plan(&three, PlanKind::Scale { to: 2 }).expect_err("below the mnodes");
    assert_eq!(refused.code, "plan-scale-refused");
    assert!(
        refused.message.contains("fewer dnodes than the 3 mnodes"),
        "{}",
        refused.message
    );
    assert!(plan(&three, PlanKind::Scale { to: 3 }).is_err(), "no change");
    assert!(plan(&three, PlanKind::Scale { to: 0 }).is_err());
    assert!(
        plan(&valid("spec: {dnodes: 3, mnodes: 1}"), PlanKind::Scale { to: 2 }).is_ok(),
        "1 mnode may go below 3"
    );
}

const NS: [(&str, &str); 1] = [("NAMESPACE", "ns")];
/// Five ready dnodes whose ids are not their ordinals (3 and 4 were re-created).
const FIVE: [(u32, u32, &str); 5] = [
    (1, 0, "ready"),
    (2, 1, "ready"),
    (3, 2, "ready"),
    (5, 3, "ready"),
    (6, 4, "ready"),
];

fn five_dnodes() -> tdgen::ValidSpec {
    valid("spec: {dnodes: 5, mnodes: 3, storage: {logs: {size: 1Gi}}}")
}

fn scale_in_script() -> String {
    plan(&five_dnodes(), PlanKind::Scale { to: 3 }).expect("plan").script
}

/// [`five`], with the dnode at `ordinal` in `status`.
fn five_with(test: &str, shell: Shell, ordinal: u32, status: &'static str) -> FakeCluster {
    let cluster = five(test, shell);
    let rows: Vec<(u32, u32, &str)> = FIVE
        .iter()
        .map(|&(id, o, st)| (id, o, if o == ordinal { status } else { st }))
        .collect();
    cluster.dnodes(&rows);
    cluster
}

fn five(test: &str, shell: Shell) -> FakeCluster {
    let cluster = FakeCluster::new(test, shell);
    cluster.dnodes(&FIVE).mnodes(&THREE_MNODES);
    cluster
}

#[test]
fn system_databases_with_null_replicas_do_not_stop_a_scale_in() {
    for shell in SHELLS {
        let cluster = five("scale-in-null", shell);
        cluster.databases(&[]);
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_exit(0);
    }
}

#[test]
fn scale_in_stops_when_a_leaving_dnode_holds_an_mnode() {
    for shell in SHELLS {
        let cluster = five("scale-in-mnode", shell);
        cluster.mnodes(&[(1, "leader"), (2, "follower"), (5, "follower")]);
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped(1, "dnode 5 (tdengine-3.taosd.ns.svc.cluster.local:6030) holds an mnode");
        assert!(run.changes().is_empty(), "nothing changed: {:?}", run.calls);
    }
}

#[test]
fn an_offline_leaving_dnode_stops_with_the_choice_never_a_force() {
    for shell in SHELLS {
        let cluster = five_with("scale-in-offline", shell, 3, "offline");
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped(1, "dnode 5 (tdengine-3.taosd.ns.svc.cluster.local:6030) is offline");
        run.assert_said("'DROP DNODE 5 FORCE'");
        run.assert_said("'DROP DNODE 5 UNSAFE'");
        run.assert_said("REPLICA 1");
        assert!(
            run.changes().is_empty(),
            "decided before anything changed: {:?}",
            run.calls
        );
    }
}

#[test]
fn a_staying_dnode_that_is_offline_stops_the_scale_in() {
    for shell in SHELLS {
        let cluster = five_with("scale-in-staying", shell, 1, "offline");
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped(
            1,
            "dnode tdengine-1.taosd.ns.svc.cluster.local:6030 stays but is offline",
        );
        assert!(run.changes().is_empty());
    }
}

#[test]
fn a_refused_drop_stops_and_the_next_run_finishes_without_repeating_work() {
    for shell in SHELLS {
        let cluster = five("scale-in-refused", shell);
        cluster.fault("drop dnode 5", "error Vnodes exhausted");
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped_keeping(
            1,
            "drop dnode 5 was refused: Vnodes exhausted",
            &["taosdata-tdengine-3", "taoslog-tdengine-3"],
        );
        let changes = run.changes();
        assert!(changes.contains(&"kubectl scale statefulset tdengine -n ns --replicas=4".to_owned()));
        assert!(
            !changes.iter().any(|c| c.contains("--replicas=3")),
            "no scale past the refused drop: {changes:?}"
        );
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_exit(0);
        let again = run.changes();
        assert!(
            !again.contains(&"sql drop dnode 6".to_owned()),
            "dnode 6 is not dropped twice: {again:?}"
        );
        assert!(
            !again.iter().any(|c| c.contains("--replicas=4")),
            "no second scale to 4: {again:?}"
        );
        assert!(
            again.contains(&"sql drop dnode 5".to_owned())
                && again.contains(&"kubectl scale statefulset tdengine -n ns --replicas=3".to_owned())
        );
    }
}

/// kubectl's words when the API server refuses connections (the fake prints them as v1.37 does).
const API_REFUSED: &str = "kubectl cannot list the pods in namespace ns: The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port? Check the kubeconfig";

#[test]
fn an_unreachable_api_server_stops_a_runbook_at_once_and_is_named() {
    for shell in SHELLS {
        // Before anything: one kubectl call, and the API server (not taosd) is named.
        let cluster = five("api-down", shell);
        cluster.sandbox.write("api-down", "");
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped(1, API_REFUSED);
        assert_eq!(run.calls.len(), 1, "{:?}", run.calls);
        assert!(!run.log.contains("taosd did not answer"), "{}", run.log);
        // Midway (after the first reads): stopped at the next failed read, not after a minute
        // of asking taosd again, and nothing changed after it.
        for after in [2, 4, 6] {
            let cluster = five("api-down-midway", shell);
            cluster.sandbox.write("api-down-after", &after.to_string());
            let run = cluster.run(&scale_in_script(), &NS);
            run.assert_stopped(1, API_REFUSED);
            assert!(!run.log.contains("asking again (2/"), "{}", run.log);
            assert_eq!(cluster.state("dnodes").lines().count(), 5, "{}", run.log);
        }
    }
}

#[test]
fn transient_failures_midway_are_asked_again() {
    for shell in SHELLS {
        let cluster = five("scale-in-transient", shell);
        cluster
            .fault("show dnodes*", "connect")
            .fault("select name*", "hang")
            .fault("drop dnode 6", "connect")
            .fault("show dnodes*", "garble");
        let run = cluster.run(&scale_in_script(), &[("NAMESPACE", "ns"), ("TAOS_TIMEOUT", "1")]);
        run.assert_exit(0);
        run.assert_said("no answer within 1s");
        let drops = |id: &str| {
            run.sql_changes()
                .iter()
                .filter(|s| *s == &format!("drop dnode {id}"))
                .count()
        };
        assert_eq!(
            drops("6"),
            2,
            "the statement lost to the connection is asked again once"
        );
        assert_eq!(drops("5"), 1);
        assert_eq!(cluster.state("dnodes").lines().count(), 3);
    }
}

#[test]
fn an_answer_that_cannot_be_read_is_never_taken_for_a_dropped_dnode() {
    for shell in SHELLS {
        let cluster = five("scale-in-unreadable", shell);
        // After the first check, every `show dnodes` is cut off mid-answer: the read that would
        // find dnode 6 (or say "already dropped") gets no whole answer.
        cluster.fault("show dnodes*", "pass");
        for _ in 0..40 {
            cluster.fault("show dnodes*", "garble");
        }
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped(1, "taosd did not answer (the answer was cut off: no OK line)");
        assert!(run.sql_changes().is_empty(), "{:?}", run.calls);
        assert!(
            !run.changes().iter().any(|c| c.starts_with("kubectl")),
            "nothing scaled or deleted: {:?}",
            run.changes()
        );
        cluster.clear_faults();
        let run = cluster.run(&scale_in_script(), &NS);
        assert_eq!(run.code, 0, "a later run finishes: {}", run.log);
        assert_eq!(run.sql_changes(), ["drop dnode 6", "drop dnode 5"]);
    }
}

#[test]
fn a_cluster_that_does_not_answer_stops_before_anything_changes() {
    for shell in SHELLS {
        let cluster = five("scale-in-down", shell);
        cluster
            .sandbox
            .write("pods", "tdengine-1\ntdengine-2\ntdengine-3\ntdengine-4\n");
        let run = cluster.run(&scale_in_script(), &NS);
        run.assert_stopped(1, "taosd did not answer");
        run.assert_said(r#"pods "tdengine-0" not found"#);
        assert!(run.changes().is_empty());
    }
}

#[test]
fn dry_run_changes_nothing() {
    for shell in SHELLS {
        let cluster = five("scale-in-dry", shell);
        let run = cluster.run(&scale_in_script(), &[("NAMESPACE", "ns"), ("DRY_RUN", "1")]);
        run.assert_exit(0);
        assert!(run.changes().is_empty(), "{:?}", run.calls);
        run.assert_said("DRY_RUN: SQL drop dnode 6");
        assert!(
            run.log
                .contains("DRY_RUN: kubectl scale statefulset tdengine -n ns --replicas=4"),
            "{}",
            run.log
        );
        run.assert_said("DRY_RUN: kubectl delete pvc taosdata-tdengine-4");
    }
}

#[test]
fn mnodes_plan_stops_on_a_refused_create() {
    for shell in SHELLS {
        let cluster = FakeCluster::new("mnodes-refused", shell);
        cluster
            .dnodes(&THREE_READY)
            .mnodes(&[(1, "leader")])
            .fault("create mnode on dnode 2", "error Mnode didn't catch the leader");
        let script = plan(&valid("spec: {dnodes: 3, mnodes: 3}"), PlanKind::Mnodes)
            .expect("plan")
            .script;
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "create mnode on dnode 2 was refused: Mnode didn't catch the leader");
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        assert_eq!(
            run.sql_changes(),
            ["create mnode on dnode 2", "create mnode on dnode 3"]
        );
    }
}

#[test]
fn mnodes_plan_asks_again_when_an_answer_is_lost() {
    for shell in SHELLS {
        let cluster = FakeCluster::new("mnodes-lost", shell);
        cluster
            .dnodes(&THREE_READY)
            .mnodes(&[(1, "leader")])
            .fault("create mnode on dnode 2", "connect")
            .fault("show mnodes*", "pass")
            .fault("show mnodes*", "garble");
        let script = plan(&valid("spec: {dnodes: 3, mnodes: 3}"), PlanKind::Mnodes)
            .expect("plan")
            .script;
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        assert_eq!(
            run.sql_changes(),
            [
                "create mnode on dnode 2",
                "create mnode on dnode 2",
                "create mnode on dnode 3"
            ]
        );
        assert_eq!(cluster.state("mnodes").lines().count(), 3);
    }
}

#[test]
fn verify_checks_counts_and_rest_without_the_password_on_a_command_line() {
    for shell in SHELLS {
        let cluster = FakeCluster::new("verify", shell);
        cluster.dnodes(&THREE_READY).mnodes(&THREE_MNODES);
        cluster.sandbox.write("password", "s3cret");
        cluster.sandbox.write("secret", "s3cret");
        cluster.sandbox.write("pod-env", "TAOS_ROOT_PASSWORD=s3cret\n");
        let spec = valid("spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}}");
        let script = plan(&spec, PlanKind::Verify).expect("plan").script;
        let run = cluster.run(&script, &NS);
        run.assert_exit(0);
        assert!(
            run.calls
                .iter()
                .any(|c| c.starts_with("curl ") && c.contains("user=root:s3cret via=config")),
            "{:?}",
            run.calls
        );
        assert!(run.calls.iter().all(|c| !c.contains("-u root")), "{:?}", run.calls);
        assert!(run.calls.iter().all(|c| !c.contains("password=argv")));
        cluster.dnodes(&[(1, 0, "ready"), (2, 1, "offline"), (3, 2, "ready")]);
        let run = cluster.run(&script, &NS);
        run.assert_stopped(1, "2 of 3 dnodes are ready");
    }
}

/// The scripts name TDengine's variables literally, for readability; each must be one that
/// `tdengine` declares, or one of the shell helper's own (assigned in `shell/taos.sh.j2`).
#[test]
fn the_scripts_name_only_the_variables_tdengine_declares() {
    use tdgen::tdengine::{self, env};
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");
    let helper = std::fs::read_to_string(format!("{templates}/shell/taos.sh.j2")).expect("the shell helper");
    let mut declared: BTreeSet<String> = [
        env::FQDN,
        env::FIRST_EP,
        env::SERVER_PORT,
        env::ROOT_PASSWORD,
        env::ROOT_PASSWORD_FILE,
    ]
    .into_iter()
    .chain(tdengine::COMPONENTS.iter().map(|c| c.disable_env))
    .map(str::to_owned)
    .collect();
    declared.extend(
        helper
            .lines()
            .filter_map(|l| l.split_once('=').map(|(name, _)| name.trim()))
            .filter(|name| name.starts_with("TAOS_") && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .map(str::to_owned),
    );
    let mut unknown = Vec::new();
    for path in [
        "explain.txt.j2",
        "init.yaml.j2",
        "mnode-bootstrap.sh.j2",
        "taos.cfg.j2",
        "plans",
        "shell",
    ] {
        let path = Path::new(templates).join(path);
        let files: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .expect("a template folder")
                .map(|e| e.expect("an entry").path())
                .collect()
        } else {
            vec![path]
        };
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a template");
            for word in text.split(|c: char| !(c.is_ascii_uppercase() || c == '_')) {
                if word.starts_with("TAOS_") && word.len() > 5 && !declared.contains(word) {
                    unknown.push(format!("{}: {word}", file.display()));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "templates name TDengine variables tdengine does not declare:\n{}",
        unknown.join("\n")
    );
}
