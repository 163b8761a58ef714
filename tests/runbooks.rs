//! Runbooks: snapshots of every plan, and the scripts run by bash against fake `kubectl` and
//! `curl` on PATH that record every call and play back a small cluster state.

use std::path::Path;

use tdgen::Request;
use tdgen::runbook::{PlanKind, plan};

use crate::support::*;

fn valid(spec: &str) -> tdgen::ValidSpec {
    tdgen::check(&Request::from_text("s.yaml", spec))
        .expect("valid spec")
        .valid
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
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/custom-everything.yaml"),
    )
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
    settings.bind(|| {
        for (name, spec) in &inputs {
            insta::assert_snapshot!(name.as_str(), all_plans(spec));
        }
    });
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

const FAKE_KUBECTL: &str = r#"#!/usr/bin/env bash
# Fake kubectl: records each call in $FAKE/calls and plays back the state in $FAKE.
printf 'kubectl %s\n' "$*" >> "$FAKE/calls"
verb=$1
args="$*"
vertical() {
  n=0
  while read -r a b c; do
    n=$((n + 1))
    printf '*************************** %d.row ***************************\n' "$n"
    case "$2" in
      db) printf '   name: %s\nreplica: %s\n' "$a" "$b" ;;
      *) printf '        id: %s\n  endpoint: %s\n    status: %s\n' "$a" "$b" "$c" ;;
    esac
  done < "$1"
}
case "$verb" in
  exec)
    sql=${*: -1}
    printf 'sql %s\n' "$sql" >> "$FAKE/calls"
    case "$sql" in
      'show dnodes\G') vertical "$FAKE/dnodes" ;;
      'show mnodes\G') vertical "$FAKE/mnodes" ;;
      'select name, replica from information_schema.ins_databases\G') vertical "$FAKE/databases" db ;;
      'drop dnode '*)
        id=${sql##* }
        if [ -f "$FAKE/fail-drop-$id" ]; then echo "DB error: Out of dnodes" >&2; exit 1; fi
        awk -v id="$id" '$1 != id' "$FAKE/dnodes" > "$FAKE/dnodes.new" && mv "$FAKE/dnodes.new" "$FAKE/dnodes" ;;
      'create mnode on dnode '*)
        id=${sql##* }
        awk -v id="$id" '$1 == id { print $1, $2, "ready" }' "$FAKE/dnodes" >> "$FAKE/mnodes" ;;
      *) echo "DB error: unexpected SQL $sql" >&2; exit 1 ;;
    esac ;;
  get)
    case "$2" in
      statefulset)
        case "$*" in
          *'{.spec.replicas}'*) cat "$FAKE/replicas" ;;
          *jsonpath=*) path=${args##*jsonpath=}; awk -F '\t' -v p="$path" '$1 == p { print $2 }' "$FAKE/sts" ;;
          *) [ -f "$FAKE/replicas" ] ;;
        esac ;;
      service) cat "$FAKE/cluster-ip" 2>/dev/null ;;
      pvc) cat "$FAKE/pvs" 2>/dev/null ;;
      pv) echo Retain ;;
      secret) printf 's3cret' | base64 ;;
    esac ;;
  scale) echo "${args##*--replicas=}" > "$FAKE/replicas" ;;
  wait)
    case "$*" in
      *--for=delete*pod/*)
        pod=${args#*pod/}; pod=${pod%% *}; ordinal=${pod##*-}
        [ "$ordinal" -ge "$(cat "$FAKE/replicas")" ] || { echo "timed out waiting for $pod" >&2; exit 1; } ;;
    esac ;;
  apply) n=$(grep -c '^kind:' || true); printf 'applied %s objects\n' "$n" >> "$FAKE/calls" ;;
  port-forward) exec sleep 0 ;;
esac
exit 0
"#;

const FAKE_CURL: &str = r#"#!/usr/bin/env bash
printf 'curl %s\n' "$*" >> "$FAKE/calls"
case "$*" in
  *rest/sql*-d*|*-d*rest/sql*) echo '{"code":0,"column_meta":[["name","VARCHAR",64]],"data":[["information_schema"]],"rows":1}' ;;
esac
exit 0
"#;

/// A fake cluster: `dnodes` rows (id, ordinal, status) and the ordinals holding mnodes.
fn cluster(name: &str, rows: &[(u32, u32, &str)], mnodes: &[u32]) -> Sandbox {
    let sandbox = Sandbox::new(
        &format!("runbook-{name}"),
        &[("kubectl", FAKE_KUBECTL), ("curl", FAKE_CURL)],
    );
    set_dnodes(&sandbox, rows, mnodes);
    sandbox
}

fn set_dnodes(sandbox: &Sandbox, rows: &[(u32, u32, &str)], mnodes: &[u32]) {
    let ep = |o: u32| format!("tdengine-{o}.taosd.ns.svc.cluster.local:6030");
    sandbox.write(
        "dnodes",
        &rows
            .iter()
            .map(|(id, o, st)| format!("{id} {} {st}\n", ep(*o)))
            .collect::<String>(),
    );
    let mnode_rows: String = mnodes
        .iter()
        .filter_map(|o| rows.iter().find(|r| r.1 == *o))
        .map(|(id, o, _)| format!("{id} {} ready\n", ep(*o)))
        .collect();
    sandbox.write("mnodes", &mnode_rows);
    sandbox.write("replicas", &rows.len().to_string());
    sandbox.write("databases", "log 1\nmetrics 3\n");
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

/// The calls that change the cluster, in order.
fn changes(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| {
            c.starts_with("sql drop")
                || c.starts_with("sql create")
                || c.starts_with("kubectl scale")
                || c.starts_with("kubectl delete")
                || c.starts_with("kubectl wait --for=delete")
                || c.starts_with("applied")
        })
        .cloned()
        .collect()
}

fn five_dnodes() -> tdgen::ValidSpec {
    valid("spec: {dnodes: 5, mnodes: 3, storage: {logs: {size: 1Gi}}}")
}

#[test]
fn scale_in_drops_before_scaling_and_deletes_pvcs_after_the_pod_is_gone() {
    let cluster = cluster("scale-in", &FIVE, &[0, 1, 2]);
    let script = plan(&five_dnodes(), PlanKind::Scale { to: 3 }).expect("plan").script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        changes(&calls),
        [
            "sql drop dnode 6",
            "kubectl scale statefulset tdengine -n ns --replicas=4",
            "kubectl wait --for=delete pod/tdengine-4 -n ns --timeout=600s",
            "kubectl delete pvc taosdata-tdengine-4 -n ns --ignore-not-found --wait=false",
            "kubectl delete pvc taoslog-tdengine-4 -n ns --ignore-not-found --wait=false",
            "sql drop dnode 5",
            "kubectl scale statefulset tdengine -n ns --replicas=3",
            "kubectl wait --for=delete pod/tdengine-3 -n ns --timeout=600s",
            "kubectl delete pvc taosdata-tdengine-3 -n ns --ignore-not-found --wait=false",
            "kubectl delete pvc taoslog-tdengine-3 -n ns --ignore-not-found --wait=false",
        ],
        "ids come from endpoints (6 and 5, not 4 and 3)"
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.starts_with("kubectl "))
            .all(|c| c.contains(" -n ns")),
        "namespace on every call"
    );
}

#[test]
fn scale_in_refuses_when_a_database_needs_more_dnodes_or_an_mnode_would_go() {
    let cluster = cluster(
        "refuse",
        &[(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready"), (4, 3, "ready")],
        &[0, 1, 2],
    );
    cluster.write("databases", "metrics 3\nwide 4\n");
    let spec = valid("spec: {dnodes: 4, mnodes: 3}");
    let script = plan(&spec, PlanKind::Scale { to: 3 }).expect("plan").script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("these databases have more replicas than 3 dnodes: wide"),
        "{log}"
    );
    assert!(changes(&calls).is_empty(), "nothing changed: {calls:?}");

    set_dnodes(
        &cluster,
        &[(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready"), (4, 3, "ready")],
        &[0, 1, 3],
    );
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("dnode 4 (tdengine-3.taosd.ns.svc.cluster.local:6030) holds an mnode"),
        "{log}"
    );
    assert!(changes(&calls).is_empty(), "nothing changed: {calls:?}");
}

#[test]
fn scale_in_finishes_after_a_failure_midway_without_repeating_work() {
    let cluster = cluster("rerun", &FIVE, &[0, 1, 2]);
    cluster.write("fail-drop-5", "");
    let script = plan(&five_dnodes(), PlanKind::Scale { to: 3 }).expect("plan").script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 1, "{log}");
    assert!(changes(&calls).contains(&"kubectl scale statefulset tdengine -n ns --replicas=4".to_owned()));
    assert!(
        !changes(&calls).iter().any(|c| c.contains("--replicas=3")),
        "no scale past the failed drop"
    );
    std::fs::remove_file(cluster.dir.join("fail-drop-5")).expect("clear");
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    let again = changes(&calls);
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

#[test]
fn dry_run_changes_nothing() {
    let cluster = cluster("dry", &FIVE, &[0, 1, 2]);
    let script = plan(&five_dnodes(), PlanKind::Scale { to: 3 }).expect("plan").script;
    let (code, log, calls) = cluster.run(&script, &[("NAMESPACE", "ns"), ("DRY_RUN", "1")]);
    assert_eq!(code, 0, "{log}");
    assert!(changes(&calls).is_empty(), "{calls:?}");
    assert!(log.contains("DRY_RUN: taos_sql drop\\ dnode\\ 6"), "{log}");
    assert!(
        log.contains("DRY_RUN: kubectl scale statefulset tdengine -n ns --replicas=4"),
        "{log}"
    );
}

#[test]
fn scale_out_waits_for_each_new_dnode() {
    let cluster = cluster(
        "scale-out",
        &[(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready"), (4, 3, "ready")],
        &[0, 1, 2],
    );
    cluster.write("replicas", "3");
    let script = plan(&valid("spec: {dnodes: 3}"), PlanKind::Scale { to: 4 })
        .expect("plan")
        .script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert!(calls.contains(&"kubectl scale statefulset tdengine -n ns --replicas=4".to_owned()));
    assert!(calls.contains(&"kubectl wait --for=condition=Ready pod/tdengine-3 -n ns --timeout=1800s".to_owned()));
    assert!(
        log.contains("dnode tdengine-3.taosd.ns.svc.cluster.local:6030 is ready (id 4)"),
        "{log}"
    );
}

#[test]
fn mnodes_plan_creates_by_endpoint() {
    let cluster = cluster(
        "mnodes",
        &[(1, 0, "ready"), (2, 1, "offline"), (5, 2, "ready"), (6, 3, "ready")],
        &[0],
    );
    let script = plan(&valid("spec: {dnodes: 4, mnodes: 3}"), PlanKind::Mnodes)
        .expect("plan")
        .script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        changes(&calls),
        ["sql create mnode on dnode 5", "sql create mnode on dnode 6"],
        "the offline dnode is skipped"
    );
}

#[test]
fn teardown_keeps_the_data_unless_confirmed() {
    let cluster = cluster("teardown", &[(1, 0, "ready")], &[0]);
    cluster.write("pvs", "pvc-123\n");
    let script = plan(&valid("spec: {dnodes: 3}"), PlanKind::Teardown)
        .expect("plan")
        .script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("PV pvc-123: reclaim policy Retain"), "{log}");
    assert!(!calls.iter().any(|c| c.starts_with("kubectl delete pvc")), "{calls:?}");
    assert!(calls.contains(&"kubectl delete statefulset tdengine -n ns --ignore-not-found".to_owned()));
    assert!(calls.contains(&"kubectl delete service taosd -n ns --ignore-not-found".to_owned()));
    let (code, log, calls) = cluster.run(&script, &[("NAMESPACE", "ns"), ("CONFIRM", "tdengine")]);
    assert_eq!(code, 0, "{log}");
    assert!(
        calls.contains(&"kubectl delete pvc -n ns -l app=tdengine --ignore-not-found".to_owned()),
        "{calls:?}"
    );
}

#[test]
fn verify_checks_counts_and_rest() {
    let cluster = cluster(
        "verify",
        &[(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready")],
        &[0, 1, 2],
    );
    let spec = valid("spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}}");
    let script = plan(&spec, PlanKind::Verify).expect("plan").script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("curl ") && c.contains("-u root:s3cret") && c.contains("/rest/sql")),
        "{calls:?}"
    );
    set_dnodes(
        &cluster,
        &[(1, 0, "ready"), (2, 1, "offline"), (3, 2, "ready")],
        &[0, 1, 2],
    );
    let (code, log, _) = cluster.run(&script, &NS);
    assert_eq!(code, 1);
    assert!(log.contains("2 of 3 dnodes are ready"), "{log}");
}

#[test]
fn adopt_recreates_only_the_service_when_identity_matches() {
    let cluster = cluster("adopt", &[(1, 0, "ready"), (2, 1, "ready"), (3, 2, "ready")], &[0]);
    cluster.write("cluster-ip", "10.0.0.12");
    cluster.write(
        "sts",
        "{.spec.selector.matchLabels}\t{\"app\":\"tdengine\"}\n{.spec.serviceName}\ttaosd\n{.spec.podManagementPolicy}\tOrderedReady\n{.spec.volumeClaimTemplates[*].metadata.name}\ttaosdata\n{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}\t5Gi\n{.spec.volumeClaimTemplates[0].spec.storageClassName}\tstandard\n",
    );
    let seed = tdgen::check(&Request {
        preset: Some("seed".into()),
        ..Request::default()
    })
    .expect("seed")
    .valid;
    let script = plan(&seed, PlanKind::Adopt).expect("plan").script;
    let (code, log, calls) = cluster.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    let changed = changes(&calls);
    assert_eq!(changed[0], "kubectl delete service taosd -n ns", "{changed:?}");
    assert!(changed[1].starts_with("applied"), "{changed:?}");
    assert!(
        !calls.iter().any(|c| c.contains("--cascade=orphan")),
        "identity matches: no re-create"
    );
    let rendered = render_preset("seed").objects().len();
    assert_eq!(changed[1], format!("applied {rendered} objects"));
}
