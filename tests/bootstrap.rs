//! The mnode bootstrap script, run for real by bash against a fake `taos` on PATH that records
//! every call and plays back canned `show dnodes` / `show mnodes` output.

use tdgen::Request;

use crate::support::Sandbox;

const FAKE_TAOS: &str = r#"#!/usr/bin/env bash
# Fake taos: records its arguments, answers from $FAKE/dnodes and $FAKE/mnodes.
printf '%s\n' "$*" >> "$FAKE/calls"
sql=""
while [ $# -gt 0 ]; do
  case "$1" in
    -s) sql="$2"; shift 2 ;;
    *) shift ;;
  esac
done
vertical() { # file with "id endpoint status" lines → `\G` output
  n=0
  while read -r id ep st; do
    n=$((n + 1))
    printf '*************************** %d.row ***************************\n' "$n"
    printf '        id: %s\n  endpoint: %s\n    status: %s\n' "$id" "$ep" "$st"
  done < "$1"
  printf 'Query OK, %d row(s) in set (0.001s)\n' "$n"
}
case "$sql" in
  'show dnodes\G') vertical "$FAKE/dnodes" ;;
  'show mnodes\G') vertical "$FAKE/mnodes" ;;
  'create mnode on dnode '*)
    id=${sql##* }
    if [ -f "$FAKE/fail-$id" ]; then echo "DB error: Mnode sync timeout (0.5s)"; exit 0; fi
    ep=$(awk -v id="$id" '$1 == id { print $2 }' "$FAKE/dnodes")
    echo "$id $ep ready" >> "$FAKE/mnodes"
    echo "Create OK, 0 row(s) affected" ;;
  *) echo "DB error: unexpected SQL: $sql"; exit 1 ;;
esac
"#;

/// The rendered bootstrap script of `spec`, in a sandbox with the fake `taos`.
fn sandbox(name: &str, spec: &str) -> (Sandbox, String) {
    let checked = tdgen::check(&Request::from_text("s.yaml", spec)).expect("valid spec");
    let manifests = tdgen::render(&checked.valid);
    let script = manifests
        .of_kind("ConfigMap")
        .find_map(|m| match m {
            tdgen::Manifest::ConfigMap(c) => c.data.as_ref()?.get("mnode-bootstrap.sh").cloned(),
            _ => None,
        })
        .expect("a bootstrap script");
    (
        Sandbox::new(&format!("bootstrap-{name}"), &[("taos", FAKE_TAOS)]),
        script,
    )
}

fn state(sandbox: &Sandbox, file: &str, rows: &[(u32, &str, &str)]) {
    sandbox.write(
        file,
        &rows
            .iter()
            .map(|(id, ep, st)| format!("{id} {ep} {st}\n"))
            .collect::<String>(),
    );
}

fn creates(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|c| c.split("-s ").nth(1))
        .filter(|sql| sql.starts_with("create"))
        .map(str::to_owned)
        .collect()
}

const NS: [(&str, &str); 1] = [("POD_NAMESPACE", "ns")];

fn ep(ordinal: u32) -> String {
    format!("tdengine-{ordinal}.taosd.ns.svc.cluster.local:6030")
}

const THREE: &str = "spec: {dnodes: 3, mnodes: 3}\n";

#[test]
fn a_fresh_cluster_gets_mnodes_on_dnodes_2_and_3() {
    let (sandbox, script) = sandbox("fresh", THREE);
    state(
        &sandbox,
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    state(&sandbox, "mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert_eq!(creates(&calls), ["create mnode on dnode 2", "create mnode on dnode 3"]);
    assert!(
        calls
            .iter()
            .all(|c| c.starts_with("-h tdengine-0.taosd.ns.svc.cluster.local -P 6030 ")),
        "{calls:?}"
    );
}

#[test]
fn a_partially_done_cluster_only_gets_the_missing_mnode() {
    let (sandbox, script) = sandbox("partial", THREE);
    state(
        &sandbox,
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    state(&sandbox, "mnodes", &[(1, &ep(0), "ready"), (2, &ep(1), "ready")]);
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert_eq!(creates(&calls), ["create mnode on dnode 3"]);
}

#[test]
fn dnode_ids_are_looked_up_by_endpoint_not_ordinal() {
    let (sandbox, script) = sandbox("ids", "spec: {dnodes: 4, mnodes: 3}\n");
    state(
        &sandbox,
        "dnodes",
        &[
            (1, &ep(0), "ready"),
            (2, &ep(1), "ready"),
            (5, &ep(2), "ready"),
            (6, &ep(3), "ready"),
        ],
    );
    state(&sandbox, "mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert_eq!(creates(&calls), ["create mnode on dnode 2", "create mnode on dnode 5"]);
}

#[test]
fn a_complete_cluster_is_left_alone() {
    let (sandbox, script) = sandbox("done", THREE);
    state(
        &sandbox,
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    state(
        &sandbox,
        "mnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert!(creates(&calls).is_empty(), "{calls:?}");
}

#[test]
fn not_enough_ready_dnodes_fails_after_a_bounded_wait() {
    let (sandbox, script) = sandbox(
        "wait",
        "spec: {dnodes: 3, mnodes: 3, mnodeBootstrap: {waitSeconds: 30}}\n",
    );
    state(
        &sandbox,
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "offline"), (3, &ep(2), "ready")],
    );
    state(&sandbox, "mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("gave up after 30s: 2 of 3 dnodes are ready"), "{log}");
    assert_eq!(calls.len(), 6, "30 s in 5 s steps");
    assert!(creates(&calls).is_empty());
}

#[test]
fn a_failure_midway_is_finished_by_the_next_run() {
    let (sandbox, script) = sandbox("rerun", THREE);
    state(
        &sandbox,
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    state(&sandbox, "mnodes", &[(1, &ep(0), "ready")]);
    std::fs::write(sandbox.dir.join("fail-3"), "").expect("failure switch");
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("Mnode sync timeout"), "{log}");
    assert_eq!(creates(&calls), ["create mnode on dnode 2", "create mnode on dnode 3"]);
    std::fs::remove_file(sandbox.dir.join("fail-3")).expect("clear failure");
    let (code, log, calls) = sandbox.run(&script, &NS);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        creates(&calls),
        ["create mnode on dnode 3"],
        "dnode 2 is not asked twice"
    );
}

#[test]
fn the_password_reaches_every_call() {
    let (sandbox, script) = sandbox(
        "password",
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}}\n",
    );
    state(
        &sandbox,
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    state(&sandbox, "mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&script, &[("POD_NAMESPACE", "ns"), ("TAOS_ROOT_PASSWORD", "s3cret")]);
    assert_eq!(code, 0, "{log}");
    assert!(calls.iter().all(|c| c.ends_with(" -ps3cret")), "{calls:?}");
}
