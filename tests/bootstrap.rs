//! The mnode bootstrap script, run for real by bash against a fake `taos` on PATH that records
//! every call and plays back canned `show dnodes` / `show mnodes` output.

use std::path::{Path, PathBuf};
use std::process::Command;

use tdgen::Request;

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

struct Sandbox {
    dir: PathBuf,
    script: PathBuf,
}

impl Sandbox {
    /// A directory with the rendered script, a fake `taos` and a no-op `sleep` on PATH.
    fn new(name: &str, spec: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("tdgen-bootstrap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).expect("sandbox");
        let checked = tdgen::check(&Request::from_text("s.yaml", spec)).expect("valid spec");
        let manifests = tdgen::render(&checked.valid);
        let script = manifests
            .of_kind("ConfigMap")
            .find_map(|m| match m {
                tdgen::Manifest::ConfigMap(c) => c.data.as_ref()?.get("mnode-bootstrap.sh").cloned(),
                _ => None,
            })
            .expect("a bootstrap script");
        write_executable(&dir.join("bin/taos"), FAKE_TAOS);
        write_executable(&dir.join("bin/sleep"), "#!/usr/bin/env bash\nexit 0\n");
        let script_path = dir.join("mnode-bootstrap.sh");
        std::fs::write(&script_path, script).expect("script");
        Sandbox {
            dir,
            script: script_path,
        }
    }

    fn state(&self, file: &str, rows: &[(u32, &str, &str)]) {
        let text: String = rows.iter().map(|(id, ep, st)| format!("{id} {ep} {st}\n")).collect();
        std::fs::write(self.dir.join(file), text).expect("state");
    }

    fn run(&self, env: &[(&str, &str)]) -> (i32, String, Vec<String>) {
        let _ = std::fs::remove_file(self.dir.join("calls"));
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("bash")
            .arg(&self.script)
            .env("PATH", path)
            .env("FAKE", &self.dir)
            .env("POD_NAMESPACE", "ns")
            .envs(env.iter().copied())
            .output()
            .expect("bash runs");
        let calls = std::fs::read_to_string(self.dir.join("calls")).unwrap_or_default();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (
            output.status.code().unwrap_or(-1),
            log,
            calls.lines().map(str::to_owned).collect(),
        )
    }

    fn creates(calls: &[String]) -> Vec<String> {
        calls
            .iter()
            .filter_map(|c| c.split("-s ").nth(1))
            .filter(|sql| sql.starts_with("create"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn ep(ordinal: u32) -> String {
    format!("tdengine-{ordinal}.taosd.ns.svc.cluster.local:6030")
}

const THREE: &str = "spec: {dnodes: 3, mnodes: 3}\n";

#[test]
fn a_fresh_cluster_gets_mnodes_on_dnodes_2_and_3() {
    let sandbox = Sandbox::new("fresh", THREE);
    sandbox.state(
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    sandbox.state("mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        Sandbox::creates(&calls),
        ["create mnode on dnode 2", "create mnode on dnode 3"]
    );
    assert!(
        calls
            .iter()
            .all(|c| c.starts_with("-h tdengine-0.taosd.ns.svc.cluster.local -P 6030 ")),
        "{calls:?}"
    );
}

#[test]
fn a_partially_done_cluster_only_gets_the_missing_mnode() {
    let sandbox = Sandbox::new("partial", THREE);
    sandbox.state(
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    sandbox.state("mnodes", &[(1, &ep(0), "ready"), (2, &ep(1), "ready")]);
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(Sandbox::creates(&calls), ["create mnode on dnode 3"]);
}

#[test]
fn dnode_ids_are_looked_up_by_endpoint_not_ordinal() {
    let sandbox = Sandbox::new("ids", "spec: {dnodes: 4, mnodes: 3}\n");
    sandbox.state(
        "dnodes",
        &[
            (1, &ep(0), "ready"),
            (2, &ep(1), "ready"),
            (5, &ep(2), "ready"),
            (6, &ep(3), "ready"),
        ],
    );
    sandbox.state("mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        Sandbox::creates(&calls),
        ["create mnode on dnode 2", "create mnode on dnode 5"]
    );
}

#[test]
fn a_complete_cluster_is_left_alone() {
    let sandbox = Sandbox::new("done", THREE);
    sandbox.state(
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    sandbox.state(
        "mnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 0, "{log}");
    assert!(Sandbox::creates(&calls).is_empty(), "{calls:?}");
}

#[test]
fn not_enough_ready_dnodes_fails_after_a_bounded_wait() {
    let sandbox = Sandbox::new(
        "wait",
        "spec: {dnodes: 3, mnodes: 3, mnodeBootstrap: {waitSeconds: 30}}\n",
    );
    sandbox.state(
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "offline"), (3, &ep(2), "ready")],
    );
    sandbox.state("mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("gave up after 30s: 2 of 3 dnodes are ready"), "{log}");
    assert_eq!(calls.len(), 6, "30 s in 5 s steps");
    assert!(Sandbox::creates(&calls).is_empty());
}

#[test]
fn a_failure_midway_is_finished_by_the_next_run() {
    let sandbox = Sandbox::new("rerun", THREE);
    sandbox.state(
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    sandbox.state("mnodes", &[(1, &ep(0), "ready")]);
    std::fs::write(sandbox.dir.join("fail-3"), "").expect("failure switch");
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("Mnode sync timeout"), "{log}");
    assert_eq!(
        Sandbox::creates(&calls),
        ["create mnode on dnode 2", "create mnode on dnode 3"]
    );
    std::fs::remove_file(sandbox.dir.join("fail-3")).expect("clear failure");
    let (code, log, calls) = sandbox.run(&[]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        Sandbox::creates(&calls),
        ["create mnode on dnode 3"],
        "dnode 2 is not asked twice"
    );
}

#[test]
fn the_password_reaches_every_call() {
    let sandbox = Sandbox::new(
        "password",
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}}\n",
    );
    sandbox.state(
        "dnodes",
        &[(1, &ep(0), "ready"), (2, &ep(1), "ready"), (3, &ep(2), "ready")],
    );
    sandbox.state("mnodes", &[(1, &ep(0), "ready")]);
    let (code, log, calls) = sandbox.run(&[("TAOS_ROOT_PASSWORD", "s3cret")]);
    assert_eq!(code, 0, "{log}");
    assert!(calls.iter().all(|c| c.ends_with(" -ps3cret")), "{calls:?}");
}
