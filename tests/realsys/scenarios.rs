//! The scenarios: each builds a real cluster from a tdgen render, writes its data, runs a
//! runbook (or a Job) as an operator would, breaks something midway where it says so, and
//! asserts the real end state: `show dnodes`, `show mnodes`, and the row counts of the REPLICA 1
//! and REPLICA 3 databases written before the run.

use crate::cluster::{Cluster, Env, Outcome};
use crate::ensure;

/// One scenario: its name and what it does on slot `usize`.
pub struct Scenario {
    /// How `cargo test --test realsys -- FILTER` finds it.
    pub name: &'static str,
    /// The scenario.
    pub run: fn(&Env, usize) -> Outcome,
}

/// Every scenario, the slowest first.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "scale-production-3.3.6.13",
            run: |env, slot| scale(env, slot, "scale-production-3.3.6.13", PRODUCTION, Some(PASSWORD)),
        },
        Scenario {
            name: "scale-default-3.0.7.1",
            run: |env, slot| scale(env, slot, "scale-default-3.0.7.1", DEFAULT, None),
        },
        Scenario {
            name: "bootstrap-production-3.3.6.13",
            run: bootstrap_production,
        },
        Scenario {
            name: "scale-in-refused-3.0.7.1",
            run: scale_in_refused,
        },
        Scenario {
            name: "mnodes-3.0.7.1",
            run: mnodes,
        },
        Scenario {
            name: "replace-dnode-4-production-3.3.6.13",
            run: |env, slot| replace_dnode(env, slot, "replace-dnode-4-production-3.3.6.13", 4),
        },
        Scenario {
            name: "replace-dnode-3-spare-production-3.3.6.13",
            run: |env, slot| replace_dnode(env, slot, "replace-dnode-3-spare-production-3.3.6.13", 3),
        },
        Scenario {
            name: "replace-dnode-3-refused-3.0.7.1",
            run: replace_dnode_refused,
        },
        Scenario {
            name: "upgrade-offline-3.0.7.1-to-3.3.6.13",
            run: upgrade_offline,
        },
        Scenario {
            name: "upgrade-rolling-mechanics-3.3.6.13",
            run: upgrade_rolling,
        },
        Scenario {
            name: "config-production-3.3.6.13",
            run: |env, slot| config(env, slot, "config-production-3.3.6.13", PRODUCTION, Some(PASSWORD)),
        },
        Scenario {
            name: "config-default-3.0.7.1",
            run: |env, slot| config(env, slot, "config-default-3.0.7.1", DEFAULT, None),
        },
        Scenario {
            name: "password-production-3.3.6.13",
            run: password,
        },
        Scenario {
            name: "backup-restore-production-3.3.6.13",
            run: backup_restore,
        },
        Scenario {
            name: "adopt-doc-3.0.7.1",
            run: adopt,
        },
        Scenario {
            name: "verify-backup-teardown-3.0.7.1",
            run: verify_backup_teardown,
        },
        Scenario {
            name: "teardown-monitored-production-3.3.6.13",
            run: teardown_monitored,
        },
        Scenario {
            name: "alter-catalog-3.3.6.13",
            run: |env, slot| alter_catalog(env, slot, "3.3.6.13"),
        },
        Scenario {
            name: "alter-catalog-3.0.7.1",
            run: |env, slot| alter_catalog(env, slot, "3.0.7.1"),
        },
        Scenario {
            name: "fake-taos-3.3.6.13",
            run: |env, slot| fake_taos(env, slot, "3.3.6.13"),
        },
        Scenario {
            name: "fake-taos-3.0.7.1",
            run: |env, slot| fake_taos(env, slot, "3.0.7.1"),
        },
    ]
}

/// The production preset on 3.3.6.13 with its root password in a Secret.
const PRODUCTION: &str = "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {name: tdengine, namespace: tdengine}\nspec: {preset: production}\n";
/// The default render: TDengine 3.0.7.1, as the doc deploys it, with 3 mnodes.
const DEFAULT: &str =
    "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {name: tdengine, namespace: tdengine}\nspec: {}\n";
/// A password 3.3.6.13 takes (8+ characters, 3 kinds).
const PASSWORD: &str = "Realsys-2026-root";

/// Apply the render, with the root password's Secret first when the spec names one.
fn install(cluster: &mut Cluster, sets: &[&str], password: Option<&str>) -> Outcome {
    if let Some(password) = password {
        cluster.secret("tdengine-root", "password", password)?;
    }
    let yaml = cluster.render(sets)?;
    cluster.apply(&yaml)
}

/// A cluster from `spec` (with `sets`), running, with its mnodes in place (the bootstrap Job
/// done when the render has one), and `r1`/`r3` written.
fn running(
    env: &Env,
    slot: usize,
    scenario: &str,
    spec: &str,
    sets: &[&str],
    password: Option<&str>,
) -> Result<Cluster, String> {
    let mut cluster = Cluster::new(env, scenario, slot, spec, &[])?;
    install(&mut cluster, sets, password)?;
    if let Some(password) = password {
        cluster.password = password.into();
    }
    let rendered = cluster.render(sets)?;
    let dnodes = rendered
        .split("\n---\n")
        .find(|d| d.contains("kind: StatefulSet"))
        .and_then(|d| d.lines().find_map(|l| l.strip_prefix("  replicas: ")))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .ok_or("no replicas in the render")?;
    cluster.wait_dnodes(dnodes, 300)?;
    let mnodes = if rendered.contains("mnode-bootstrap") { 3 } else { 1 };
    cluster.until(&format!("{mnodes} ready mnode(s)"), 300, |c| {
        c.ready_mnodes_are(mnodes, dnodes)
    })?;
    cluster.seed("r1", 1, 2)?;
    if dnodes >= 3 {
        cluster.seed("r3", 3, 2)?;
    }
    let counts = cluster.counts()?;
    ensure!(counts.values().all(|n| *n == 100), "seeding wrote {counts:?}");
    Ok(cluster)
}

/// Scale out 3 → 5 and in 5 → 3 with data written before. During the scale-in, taosd of a
/// staying dnode (pod 1) is killed; the runbook is run again until it finishes. Nothing is lost,
/// the claims of the staying pods are never touched, the leaving pods' claims are deleted.
fn scale(env: &Env, slot: usize, scenario: &str, spec: &str, password: Option<&str>) -> Outcome {
    let mut cluster = running(env, slot, scenario, spec, &[], password)?;
    let out = cluster.plan(&["scale", "--to", "5"], &[])?;
    cluster.run(&out, &[])?.ok()?;
    ensure!(cluster.ready_dnodes_are(5), "after scale-out: {:?}", cluster.dnodes());
    // Data on the new dnodes too, so that the scale-in moves vnodes.
    cluster.seed("r3wide", 3, 1)?;
    let (held, room) = cluster.vnodes(3)?;
    if room < 40 {
        // Few vnodes fit on 3 dnodes here (3.0.7.1 on a small machine): more than fit is refused
        // before anything changes.
        let over = room - held + 1;
        cluster.exec_sql(&format!("create database full replica 1 vgroups {over}"))?;
        let script = cluster.plan(&["scale", "--to", "3"], &["spec.dnodes=5"])?;
        cluster
            .run(&script, &[])?
            .stopped_with(&format!("the 3 dnodes that stay hold at most {room}"))?;
        ensure!(cluster.ready_dnodes_are(5), "dnodes changed: {:?}", cluster.dnodes());
        cluster.exec_sql("drop database full")?;
    }
    let before = cluster.counts()?;
    let in_ = cluster.plan(&["scale", "--to", "3"], &["spec.dnodes=5"])?;
    let (mut child, log) = cluster.start(&in_, &[])?;
    cluster.when_log_says(&mut child, &log, "SQL: drop dnode", 300)?;
    cluster.td(None, &["kill-taosd", "1"])?;
    cluster.note("killed taosd of pod 1 during the first drop");
    let first = cluster.finish(child, &log)?;
    if first.status != Some(0) {
        // The killed dnode itself must be back: the other dnodes may already count 3 ready.
        cluster.until("pod 1's dnode back after its liveness restart", 300, |c| {
            c.dnodes()
                .iter()
                .any(|d| d.endpoint.starts_with("tdengine-1.") && d.status == "ready")
        })?;
        cluster.run(&in_, &[])?.ok()?;
    }
    cluster.wait_dnodes(3, 180)?;
    cluster.until("3 ready mnodes", 120, |c| c.ready_mnodes_are(3, 3))?;
    ensure!(
        cluster.counts()? == before,
        "rows before {before:?}, after {:?}",
        cluster.counts()?
    );
    cluster.claims_gone(&[3, 4], 60)?;
    let events = cluster.state().events;
    for ordinal in 0..3 {
        let made = events
            .iter()
            .filter(|e| e.contains(&format!("claim taosdata-tdengine-{ordinal} created")))
            .count();
        ensure!(made == 1, "the claim of staying pod {ordinal} was made {made} times");
    }
    Ok(())
}

/// Scaling 3 → 2 with a REPLICA 3 database is refused before anything changes.
fn scale_in_refused(env: &Env, slot: usize) -> Outcome {
    let name = "scale-in-refused-3.0.7.1";
    let mut cluster = running(env, slot, name, DEFAULT, &["spec.mnodes=1"], None)?;
    let claims = cluster.claims();
    let script = cluster.plan(&["scale", "--to", "2"], &["spec.mnodes=1"])?;
    cluster
        .run(&script, &[])?
        .stopped_with("these databases have more replicas than 2 dnodes: r3")?;
    ensure!(cluster.ready_dnodes_are(3), "dnodes changed: {:?}", cluster.dnodes());
    ensure!(cluster.claims() == claims, "claims changed: {:?}", cluster.claims());
    ensure!(
        cluster.counts()?.values().all(|n| *n == 100),
        "rows changed: {:?}",
        cluster.counts()
    );
    Ok(())
}

/// The bootstrap Job of the production preset: Parallel pods, a password set by the image's
/// entrypoint, the Job's script in a pod of its own taking the cluster from 1 mnode to 3; taosd
/// of pod 2 killed while the Job adds mnodes, and the Job still finishing.
fn bootstrap_production(env: &Env, slot: usize) -> Outcome {
    let mut cluster = Cluster::new(env, "bootstrap-production-3.3.6.13", slot, PRODUCTION, &[])?;
    install(&mut cluster, &[], Some(PASSWORD))?;
    cluster.password = PASSWORD.into();
    cluster.wait_dnodes(3, 240)?;
    // The kubelet's expansion of the rendered env gives each pod the FQDN td-cluster gives it.
    let td_run = cluster.td_env["TD_RUN"].clone();
    for ordinal in 0..3 {
        let env = std::fs::read_to_string(format!("{td_run}/env/{ordinal}")).map_err(|e| e.to_string())?;
        let fqdn = cluster.endpoint(ordinal);
        let fqdn = fqdn.rsplit_once(':').map_or(fqdn.as_str(), |(h, _)| h);
        ensure!(
            env.contains(&format!("TAOS_FQDN={fqdn}\n")),
            "pod {ordinal}'s TAOS_FQDN is not {fqdn}:\n{env}"
        );
    }
    let job = cluster
        .state()
        .jobs
        .keys()
        .find(|j| j.contains("mnode-bootstrap"))
        .cloned()
        .ok_or("the render has no bootstrap Job")?;
    // taosd of dnode 2 dies while the Job adds the mnodes; the Job must still get there.
    let job_log = cluster.state().jobs[&job].log.clone();
    cluster.until("the bootstrap Job to start adding mnodes", 120, |_| {
        std::fs::read_to_string(&job_log)
            .unwrap_or_default()
            .contains("mnodes: 1 of 3")
    })?;
    cluster.td(None, &["kill-taosd", "2"])?;
    cluster.note("killed taosd of pod 2 while the bootstrap Job ran");
    cluster.until("the bootstrap Job to complete", 600, |c| {
        c.state().jobs.get(&job).is_some_and(|j| j.complete || j.gave_up)
    })?;
    ensure!(
        cluster.state().jobs[&job].complete,
        "the bootstrap Job failed:\n{}",
        std::fs::read_to_string(&cluster.state().jobs[&job].log).unwrap_or_default()
    );
    cluster.until("3 ready mnodes on dnodes 0-2", 60, |c| c.ready_mnodes_are(3, 3))?;
    // The image set the Secret's password, and logged it (tdgen warns about that).
    let old = std::mem::replace(&mut cluster.password, "taosdata".into());
    ensure!(
        cluster.rows(tdgen::tdengine::sql::SHOW_USERS).is_err(),
        "the default password still logs in"
    );
    cluster.password = old;
    let entrypoint = std::fs::read_to_string(format!("{td_run}/dnode0/entrypoint.log")).unwrap_or_default();
    ensure!(
        entrypoint.contains(PASSWORD),
        "the entrypoint's log does not show the password; tdgen's root-password-in-pod-logs warning would be wrong"
    );
    Ok(())
}

/// The id of the dnode at pod `ordinal`.
fn dnode_id(cluster: &Cluster, ordinal: u32) -> Result<String, String> {
    let endpoint = cluster.endpoint(ordinal);
    cluster
        .dnodes()
        .into_iter()
        .find(|d| d.endpoint == endpoint)
        .map(|d| d.id)
        .ok_or_else(|| format!("no dnode at {endpoint}"))
}

/// Lose the node of the highest pod for good, then replace its dnode with `tdgen plan
/// replace-dnode`: first without confirmation (nothing changes), then confirmed, with taosd of
/// pod 1 killed while the lost dnode is dropped, and again until it finishes. With 3 dnodes the
/// REPLICA 3 database has no room for the lost replicas, and a spare dnode carries them meanwhile.
fn replace_dnode(env: &Env, slot: usize, scenario: &str, dnodes: u32) -> Outcome {
    let dnodes_set = format!("spec.dnodes={dnodes}");
    let sets = [dnodes_set.as_str()];
    let mut cluster = running(env, slot, scenario, PRODUCTION, &sets, Some(PASSWORD))?;
    let lost = dnodes - 1;
    let id = dnode_id(&cluster, lost)?;
    cluster.td(None, &["kill", &lost.to_string()])?;
    cluster.note(&format!("pod {lost} (dnode {id}) lost with its node"));
    cluster.until("the lost dnode to be offline", 60, |c| {
        c.dnodes().iter().any(|d| d.id == id && d.status == "offline")
    })?;
    let claims = cluster.claims();
    let script = cluster.plan(&["replace-dnode", "--ordinal", &lost.to_string()], &sets)?;
    cluster
        .run(&script, &[])?
        .stopped_with(&format!("run again with CONFIRM={id}"))?;
    ensure!(cluster.claims() == claims, "claims changed before confirmation");
    let confirm = [("CONFIRM", id.as_str()), ("FORCE_POD", "1")];
    let (mut child, log) = cluster.start(&script, &confirm)?;
    cluster.when_log_says(&mut child, &log, &format!("SQL: drop dnode {id} force"), 300)?;
    cluster.td(None, &["kill-taosd", "1"])?;
    cluster.note("killed taosd of pod 1 while the lost dnode was dropped");
    let mut run = cluster.finish(child, &log)?;
    for _ in 0..3 {
        if run.status == Some(0) {
            break;
        }
        if run.log.contains("UNSAFE=1") {
            // The REPLICA 1 vgroup on the lost disk is gone anyway: the runbook says how to go on.
            run = cluster.run(
                &script,
                &[("CONFIRM", id.as_str()), ("FORCE_POD", "1"), ("UNSAFE", "1")],
            )?;
        } else {
            cluster.until("dnode 1 ready again", 240, |c| {
                let ep = c.endpoint(1);
                c.dnodes().iter().any(|d| d.endpoint == ep && d.status == "ready")
            })?;
            run = cluster.run(&script, &confirm)?;
        }
    }
    run.ok()?;
    cluster.wait_dnodes(dnodes, 120)?;
    ensure!(
        dnode_id(&cluster, lost)? != id,
        "pod {lost} still has the dnode id {id}"
    );
    cluster.until("3 ready mnodes", 120, |c| c.ready_mnodes_are(3, dnodes))?;
    let counts = cluster.counts()?;
    ensure!(counts.get("r3") == Some(&100), "REPLICA 3 rows lost: {counts:?}");
    ensure!(counts.get("r1").is_some_and(|n| *n <= 100), "{counts:?}");
    let events = cluster.state().events;
    ensure!(
        !events
            .iter()
            .any(|e| e.contains(&format!("tdengine-{}", dnodes)) && e.contains("created"))
            || dnodes == 3,
        "a spare was started at {dnodes} dnodes"
    );
    if dnodes == 3 {
        ensure!(
            events.iter().any(|e| e.contains("pod tdengine-3 created"))
                && events.iter().any(|e| e.contains("pod tdengine-3 deleted")),
            "no spare dnode came and went: {events:#?}"
        );
        cluster.claims_gone(&[3], 60)?;
    }
    Ok(())
}

/// At 3 dnodes with OrderedReady pods (the default render), the spare cannot start while the
/// lost pod is not Ready: the runbook refuses before any change and says what to do.
fn replace_dnode_refused(env: &Env, slot: usize) -> Outcome {
    let mut cluster = running(env, slot, "replace-dnode-3-refused-3.0.7.1", DEFAULT, &[], None)?;
    let id = dnode_id(&cluster, 2)?;
    cluster.td(None, &["kill", "2"])?;
    cluster.until("the lost dnode to be offline", 60, |c| {
        c.dnodes().iter().any(|d| d.id == id && d.status == "offline")
    })?;
    let claims = cluster.claims();
    let script = cluster.plan(&["replace-dnode", "--ordinal", "2"], &[])?;
    cluster
        .run(&script, &[("CONFIRM", id.as_str()), ("FORCE_POD", "1")])?
        .stopped_with("starts no new pod while tdengine-2 is not Ready")?;
    ensure!(cluster.claims() == claims, "claims changed");
    ensure!(
        cluster.dnodes().iter().any(|d| d.id == id),
        "the lost dnode was dropped"
    );
    let pods = cluster.state().pods;
    ensure!(
        pods.values().filter(|p| p.ordinal.is_some()).count() == 3,
        "pods changed: {:?}",
        pods.keys()
    );
    Ok(())
}

/// Where taosd reports a parameter: `dnode_id → value` of `name`.
fn parameter(cluster: &Cluster, name: &str) -> Result<Vec<String>, String> {
    Ok(cluster
        .rows(&format!(
            "select dnode_id, name, `value` from information_schema.ins_dnode_variables where name = '{name}'\\G"
        ))?
        .into_iter()
        .filter_map(|r| r.get("value").cloned())
        .collect())
}

/// `tdgen plan config`: one parameter taosd changes at once (mDebugFlag, set by ALTER ALL DNODES
/// and read back from every dnode) and one it takes at a restart (numOfCommitThreads: ALTER, then
/// the new render's rollout; on 3.0.7.1, which refuses its ALTER, the rollout alone), then verified with APPLIED=1. taosd of pod 0 is killed during
/// the rollout. Every dnode reports both values, and no row is lost.
fn config(env: &Env, slot: usize, scenario: &str, spec: &str, password: Option<&str>) -> Outcome {
    let mut cluster = running(env, slot, scenario, spec, &[], password)?;
    let before = cluster.counts()?;
    let previous = cluster.dir.join("previous.yaml");
    std::fs::write(&previous, cluster.render(&[])?).map_err(|e| e.to_string())?;
    let sets = ["spec.config.mDebugFlag=135", "spec.config.numOfCommitThreads=5"];
    let previous_arg = previous.display().to_string();
    let script = cluster.plan(&["config", "--previous", &previous_arg], &sets)?;
    let first = cluster.run(&script, &[])?;
    ensure!(
        first.status == Some(3),
        "the first run should stop for the rollout (exit 3):\n{}",
        first.log
    );
    let live = parameter(&cluster, "mDebugFlag")?;
    ensure!(
        live.len() == 3 && live.iter().all(|v| v == "135"),
        "mDebugFlag is not 135 on every dnode after the live change: {live:?}"
    );
    let next = cluster.render(&sets)?;
    cluster.apply(&next)?;
    cluster.until("the rollout to replace pod 2", 180, |c| {
        c.state()
            .events
            .iter()
            .any(|e| e.contains("pod tdengine-2 replaced by the rolling update"))
    })?;
    cluster.td(None, &["kill-taosd", "0"])?;
    cluster.note("killed taosd of pod 0 during the rollout");
    let mut run = cluster.run(&script, &[("APPLIED", "1")])?;
    if run.status != Some(0) {
        cluster.wait_dnodes(3, 300)?;
        run = cluster.run(&script, &[("APPLIED", "1")])?;
    }
    run.ok()?;
    for (name, value) in [("mDebugFlag", "135"), ("numOfCommitThreads", "5")] {
        let values = parameter(&cluster, name)?;
        ensure!(
            values.len() == 3 && values.iter().all(|v| v == value),
            "{name}: {values:?}"
        );
    }
    cluster.wait_dnodes(3, 120)?;
    ensure!(cluster.counts()? == before, "rows changed: {:?}", cluster.counts());
    Ok(())
}

/// `tdgen plan password`: a weak new password is refused before anything changes; a strong one
/// replaces the old (which no longer logs in), the pods roll to the new Secret, and taosd of
/// pod 2 is killed during that rollout; a re-run finishes without changing it twice.
fn password(env: &Env, slot: usize) -> Outcome {
    let mut cluster = running(
        env,
        slot,
        "password-production-3.3.6.13",
        PRODUCTION,
        &[],
        Some(PASSWORD),
    )?;
    cluster.secret("tdengine-weak", "password", "secret")?;
    let weak = cluster.plan(&["password", "--secret", "tdengine-weak:password"], &[])?;
    cluster
        .run(&weak, &[])?
        .stopped_with("is shorter than 8 characters, which taosd refuses")?;
    ensure!(
        cluster.rows(tdgen::tdengine::sql::SHOW_USERS).is_ok(),
        "the old password stopped working"
    );
    let rotated = "Rotated-2026-pass";
    cluster.secret("tdengine-root-2", "password", rotated)?;
    let script = cluster.plan(&["password", "--secret", "tdengine-root-2:password"], &[])?;
    let (mut child, log) = cluster.start(&script, &[])?;
    cluster.when_log_says(&mut child, &log, "serverside-applied", 300)?;
    cluster.td(None, &["kill-taosd", "2"])?;
    cluster.note("killed taosd of pod 2 during the rollout");
    let mut run = cluster.finish(child, &log)?;
    cluster.password = rotated.into();
    if run.status != Some(0) {
        cluster.wait_dnodes(3, 300)?;
        run = cluster.run(&script, &[])?;
        run.said("the new password logs in already: not changed again")?;
    }
    run.ok()?;
    ensure!(
        cluster.rows(tdgen::tdengine::sql::SHOW_USERS).is_ok(),
        "the new password does not log in"
    );
    let new = std::mem::replace(&mut cluster.password, PASSWORD.into());
    ensure!(
        cluster.rows(tdgen::tdengine::sql::SHOW_USERS).is_err(),
        "the old password still logs in"
    );
    cluster.password = new;
    let td_run = cluster.td_env["TD_RUN"].clone();
    for ordinal in 0..3 {
        let env = std::fs::read_to_string(format!("{td_run}/env/{ordinal}")).unwrap_or_default();
        ensure!(
            env.contains(&format!("TAOS_ROOT_PASSWORD={rotated}\n")),
            "pod {ordinal} did not roll to the new Secret"
        );
    }
    cluster.wait_dnodes(3, 120)?;
    cluster.until("3 ready mnodes", 60, |c| c.ready_mnodes_are(3, 3))?;
    Ok(())
}

/// A backup Job run from the CronJob (taosdump in a pod with a read-only root filesystem), and
/// `tdgen plan restore` into a fresh cluster on the same backup volume: the same rows. The
/// restore's first import is interrupted by killing taosd of dnode 0; the Job imports again
/// once the dnode is back, and the runbook finishes without help.
fn backup_restore(env: &Env, slot: usize) -> Outcome {
    let sets = ["spec.backup.keep=2"];
    let scenario = "backup-restore-production-3.3.6.13";
    let (counts, saved) = {
        let mut cluster = running(env, slot, scenario, PRODUCTION, &sets, Some(PASSWORD))?;
        let counts = cluster.counts()?;
        let (job, log) = cluster.backup_now()?;
        let state = cluster.state();
        ensure!(job.complete, "the backup Job failed:\n{log}");
        let claim = state.claims.get("tdengine-backup").ok_or("no backup claim")?;
        let saved = env.work.join(format!("{scenario}.backup"));
        let _ = std::fs::remove_dir_all(&saved);
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(&claim.dir)
            .arg(&saved)
            .status();
        ensure!(status.is_ok_and(|s| s.success()), "copying the backup volume failed");
        (counts, saved)
    };
    let stamp = std::fs::read_dir(&saved)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.len() == 16 && n.ends_with('Z'))
        .ok_or("no backup directory on the volume")?;
    ensure!(saved.join(&stamp).join("dbs.sql").exists(), "the backup has no dbs.sql");
    // A fresh cluster: nothing written, the backup volume bound again (as a retained volume is).
    let mut fresh = Cluster::new(env, &format!("{scenario}-fresh"), slot, PRODUCTION, &[])?;
    install(&mut fresh, &sets, Some(PASSWORD))?;
    fresh.password = PASSWORD.into();
    fresh.wait_dnodes(3, 300)?;
    fresh.until("3 ready mnodes", 300, |c| c.ready_mnodes_are(3, 3))?;
    let claim = fresh
        .state()
        .claims
        .get("tdengine-backup")
        .cloned()
        .ok_or("no backup claim")?;
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(saved.join(&stamp))
        .arg(&claim.dir)
        .status();
    ensure!(status.is_ok_and(|s| s.success()), "restoring the volume's files failed");
    let script = fresh.plan(&["restore", "--from", &stamp], &sets)?;
    fresh
        .run(&script, &[])?
        .stopped_with("run again with CONFIRM=tdengine")?;
    let (mut child, log) = fresh.start(&script, &[("CONFIRM", "tdengine")])?;
    fresh.when_log_says(&mut child, &log, "serverside-applied", 300)?;
    fresh.td(None, &["kill-taosd", "0"])?;
    fresh.note("killed taosd of dnode 0 as the restore Job started");
    // The Job repeats the import itself once taosd is back: the runbook finishes on its own.
    let run = fresh.finish(child, &log)?;
    run.ok()?;
    let done = run.log.lines().find(|l| l.contains("complete (attempt"));
    fresh.note(&format!("the restore Job said: {}", done.unwrap_or("nothing")));
    ensure!(
        fresh.counts()? == counts,
        "restored {:?}, backed up {counts:?}",
        fresh.counts()
    );
    let cron = fresh
        .state()
        .object("CronJob", "tdengine-backup")
        .cloned()
        .unwrap_or_default();
    ensure!(
        cron["spec"]["suspend"] == serde_json::json!(false),
        "the backups stay suspended"
    );
    Ok(())
}

/// The doc's YAML (a ClusterIP `taosd` Service, the doc's StatefulSet) running 3.0.7.1 with
/// data, taken over by `tdgen plan adopt`: the same dnodes and rows afterwards, every pod on
/// tdgen's template. A spec naming 3.3.6.13 is refused before anything changes.
fn adopt(env: &Env, slot: usize) -> Outcome {
    let doc = std::fs::read_to_string(env.root.join("../shared/reference/000_ea4452c3e6a9ad2d.txt"))
        .map_err(|e| e.to_string())?;
    let blocks: Vec<&str> = doc
        .split("```YAML")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    ensure!(blocks.len() == 2, "the doc has {} YAML blocks", blocks.len());
    let spec =
        "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {name: tdengine, namespace: tdengine-test}\nspec: {}\n";
    let mut cluster = Cluster::new(env, "adopt-doc-3.0.7.1", slot, spec, &[])?;
    cluster.apply(&blocks.join("\n---\n"))?;
    cluster.wait_dnodes(3, 300)?;
    cluster.seed("r1", 1, 2)?;
    cluster.seed("r3", 3, 2)?;
    let before = cluster.counts()?;
    let ids: Vec<String> = (0..3).map(|o| dnode_id(&cluster, o)).collect::<Result<_, _>>()?;
    let refused = cluster.plan(&["adopt"], &["spec.image.tag=3.3.6.13"])?;
    cluster
        .run(&refused, &[])?
        .stopped_with("the cluster runs TDengine 3.0.7.1 and the spec names 3.3.6.13; nothing was changed")?;
    ensure!(
        cluster.state().object("Service", "taosd").is_some(),
        "the refused adopt changed the Service"
    );
    let script = cluster.plan(&["adopt"], &[])?;
    cluster.run(&script, &[])?.ok()?;
    cluster.wait_dnodes(3, 120)?;
    let after: Vec<String> = (0..3).map(|o| dnode_id(&cluster, o)).collect::<Result<_, _>>()?;
    ensure!(after == ids, "dnode ids changed: {ids:?} → {after:?}");
    ensure!(cluster.counts()? == before, "rows changed: {:?}", cluster.counts());
    let state = cluster.state();
    let service = state.object("Service", "taosd").cloned().unwrap_or_default();
    ensure!(
        service["spec"]["clusterIP"] == "None",
        "taosd is not headless: {service}"
    );
    let (_, sts) = state.statefulset().ok_or("no StatefulSet")?;
    let revision = crate::pods::revision(sts);
    ensure!(
        state
            .pods
            .values()
            .filter(|p| p.ordinal.is_some())
            .all(|p| p.revision == revision),
        "a pod is not on tdgen's template"
    );
    Ok(())
}

/// `tdgen plan verify` on a whole cluster and on one with a dnode down; the backup Job of an
/// image without taosdump fails with what to do; `tdgen plan teardown` keeps the claims without
/// CONFIRM and deletes them with it.
fn verify_backup_teardown(env: &Env, slot: usize) -> Outcome {
    let sets = ["spec.components.adapter.enabled=false", "spec.backup.keep=1"];
    let mut cluster = running(env, slot, "verify-backup-teardown-3.0.7.1", DEFAULT, &sets, None)?;
    let verify = cluster.plan(&["verify"], &sets)?;
    cluster.run(&verify, &[])?.ok()?;
    let (job, log) = cluster.backup_now()?;
    ensure!(
        job.gave_up && log.contains("this image has no taosdump"),
        "the backup Job of a 3.0.7.1 image without taosdump: {job:?}\n{log}"
    );
    cluster.td(None, &["kill", "2"])?;
    cluster.until("dnode 2 offline", 60, |c| {
        c.dnodes().iter().any(|d| d.status == "offline")
    })?;
    cluster.run(&verify, &[])?.stopped_with("2 of 3 dnodes are ready")?;
    cluster.td(None, &["up", "2"])?;
    cluster.wait_dnodes(3, 120)?;
    let teardown = teardown_keeps_claims(&mut cluster, &sets)?;
    cluster.run(&teardown, &[("CONFIRM", "tdengine")])?.ok()?;
    let left = cluster.claims();
    ensure!(
        left == ["tdengine-backup"],
        "claims after teardown with CONFIRM: {left:?} (only the backups stay)"
    );
    Ok(())
}

/// `tdgen plan teardown` without CONFIRM: it says the claims are kept and keeps them, every pod
/// stops, and no object tdgen rendered is left (the claims and the user's Secrets stay). The
/// teardown script, for a run with CONFIRM.
fn teardown_keeps_claims(cluster: &mut Cluster, sets: &[&str]) -> Result<std::path::PathBuf, String> {
    let teardown = cluster.plan(&["teardown"], sets)?;
    let claims = cluster.claims();
    cluster.run(&teardown, &[])?.said("PVCs kept")?;
    ensure!(cluster.claims() == claims, "claims deleted without CONFIRM");
    ensure!(
        cluster.running().is_empty(),
        "pods still run after teardown: {:?}",
        cluster.running()
    );
    let left: Vec<String> = cluster
        .state()
        .objects
        .keys()
        .filter(|k| !k.starts_with("PersistentVolumeClaim/") && !k.starts_with("Secret/"))
        .cloned()
        .collect();
    ensure!(left.is_empty(), "objects remain after teardown: {left:?}");
    Ok(teardown)
}

/// `tdgen plan teardown` of the production preset, which monitors: the PodMonitor, the
/// PrometheusRule and the dashboard go with every other object it rendered, the claims stay
/// without CONFIRM, and the render applied again brings back the same dnodes with every row
/// written before.
fn teardown_monitored(env: &Env, slot: usize) -> Outcome {
    let scenario = "teardown-monitored-production-3.3.6.13";
    let mut cluster = running(env, slot, scenario, PRODUCTION, &[], Some(PASSWORD))?;
    let monitoring = [
        "PodMonitor/tdengine",
        "PrometheusRule/tdengine",
        "ConfigMap/tdengine-dashboard",
    ];
    let objects: Vec<String> = cluster.state().objects.keys().cloned().collect();
    ensure!(
        monitoring.iter().all(|m| objects.iter().any(|o| o == m)),
        "the production render's monitoring objects are not applied: {objects:?}"
    );
    let before = cluster.counts()?;
    let ids: Vec<String> = (0..3).map(|o| dnode_id(&cluster, o)).collect::<Result<_, _>>()?;
    teardown_keeps_claims(&mut cluster, &[])?;
    // The same render on the kept claims: the same cluster, every row.
    let yaml = cluster.render(&[])?;
    cluster.apply(&yaml)?;
    cluster.wait_dnodes(3, 300)?;
    let after_ids: Vec<String> = (0..3).map(|o| dnode_id(&cluster, o)).collect::<Result<_, _>>()?;
    ensure!(after_ids == ids, "dnode ids {ids:?} became {after_ids:?}");
    let after = cluster.counts()?;
    ensure!(after == before, "rows {before:?} became {after:?}");
    Ok(())
}

/// `tdgen plan upgrade` from 3.0.7.1 to 3.3.6.13 (a Feature release: every dnode stopped, then
/// started together on the new image), with data written before: the same dnodes, mnodes and
/// rows after, and taosd reporting 3.3.6.13.
fn upgrade_offline(env: &Env, slot: usize) -> Outcome {
    let mut cluster = running(env, slot, "upgrade-offline-3.0.7.1-to-3.3.6.13", DEFAULT, &[], None)?;
    let before = cluster.counts()?;
    let ids: Vec<String> = (0..3).map(|o| dnode_id(&cluster, o)).collect::<Result<_, _>>()?;
    let script = cluster.plan(&["upgrade", "--to", "3.3.6.13"], &[])?;
    cluster
        .run(&script, &[])?
        .stopped_with("Run again with CONFIRM=tdengine")?;
    cluster.run(&script, &[("CONFIRM", "tdengine")])?.ok()?;
    cluster.wait_dnodes(3, 120)?;
    cluster.until("3 ready mnodes", 120, |c| c.ready_mnodes_are(3, 3))?;
    let version = cluster.rows(tdgen::tdengine::sql::READ_VERSION)?;
    ensure!(
        version
            .first()
            .and_then(|r| r.get("version"))
            .is_some_and(|v| v.starts_with("3.3.6.13")),
        "taosd reports {version:?}"
    );
    let after: Vec<String> = (0..3).map(|o| dnode_id(&cluster, o)).collect::<Result<_, _>>()?;
    ensure!(after == ids, "dnode ids changed: {ids:?} → {after:?}");
    ensure!(cluster.counts()? == before, "rows changed: {:?}", cluster.counts());
    Ok(())
}

/// The rolling mechanics of `tdgen plan upgrade` on the one 3.3.6 build here: the image tag
/// 3.3.6.14 is run by the 3.3.6.13 build. The pods roll highest first, one at a time, each
/// after the cluster is whole again; the runbook then finds taosd still reporting 3.3.6.13 and
/// says so (which is right: the binary did not change).
fn upgrade_rolling(env: &Env, slot: usize) -> Outcome {
    let mut cluster = Cluster::new(
        env,
        "upgrade-rolling-mechanics-3.3.6.13",
        slot,
        PRODUCTION,
        &[("3.3.6.14", "3.3.6.13")],
    )?;
    install(&mut cluster, &[], Some(PASSWORD))?;
    cluster.password = PASSWORD.into();
    cluster.wait_dnodes(3, 300)?;
    cluster.until("3 ready mnodes", 300, |c| c.ready_mnodes_are(3, 3))?;
    cluster.seed("r3", 3, 2)?;
    let before = cluster.counts()?;
    let script = cluster.plan(&["upgrade", "--to", "3.3.6.14"], &[])?;
    cluster
        .run(&script, &[])?
        .stopped_with("taosd reports 3.3.6.13.alpha after the upgrade, not 3.3.6.14")?;
    let events = cluster.state().events;
    let order: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("replaced by the rolling update"))
        .collect();
    ensure!(
        order.len() == 3
            && order[0].contains("tdengine-2")
            && order[1].contains("tdengine-1")
            && order[2].contains("tdengine-0"),
        "the pods did not roll 2, 1, 0: {order:#?}"
    );
    ensure!(
        cluster
            .state()
            .pods
            .values()
            .filter(|p| p.ordinal.is_some())
            .all(|p| p.image.ends_with(":3.3.6.14")),
        "a pod is not on the new image"
    );
    cluster.wait_dnodes(3, 120)?;
    ensure!(cluster.counts()? == before, "rows changed");
    Ok(())
}

/// Every parameter the taosd reference lists as changeable by ALTER, altered to the value the
/// dnode reports on a real build: the ones refused are exactly those `data/taosd-alter-refused.tsv`
/// records for that build (which tdgen's `plan config` and `diff` then treat as not changeable).
fn alter_catalog(env: &Env, slot: usize, version: &str) -> Outcome {
    use tdgen::tdengine::catalog::{self, Live, Lookup};
    let spec = format!(
        "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {{name: tdengine, namespace: tdengine}}\nspec: {{dnodes: 1, mnodes: 1, image: {{tag: \"{version}\"}}}}\n"
    );
    let mut cluster = Cluster::new(env, &format!("alter-catalog-{version}"), slot, &spec, &[])?;
    install(&mut cluster, &[], None)?;
    cluster.wait_dnodes(1, 120)?;
    let reported: std::collections::BTreeMap<String, String> = cluster
        .rows(r"select name, `value` from information_schema.ins_dnode_variables where dnode_id = 1\G")?
        .into_iter()
        .filter_map(|r| Some((r.get("name")?.to_ascii_lowercase(), r.get("value")?.clone())))
        .collect();
    let mut refused = std::collections::BTreeSet::new();
    let mut tried = 0;
    for name in catalog::names() {
        let Lookup::Known(parameter) = catalog::lookup(name) else {
            continue;
        };
        if matches!(parameter.live, Live::Never | Live::Undocumented) {
            continue;
        }
        // An empty value cannot be written back as it is: such parameters are not tried.
        let Some(value) = reported.get(&name.to_ascii_lowercase()).filter(|v| !v.is_empty()) else {
            continue;
        };
        tried += 1;
        let (_, err) = cluster.taos(&format!("alter all dnodes '{name}' '{value}'"))?;
        if err.contains("Invalid config option") || err.contains("Config not found") {
            refused.insert(name.to_owned());
        }
    }
    let recorded: std::collections::BTreeSet<String> = catalog::measured_refusals()
        .filter(|(build, _, _)| *build == version)
        .map(|(_, name, _)| name.to_owned())
        .collect();
    ensure!(tried > 10, "only {tried} parameters could be tried");
    ensure!(
        refused == recorded,
        "TDengine {version} refuses ALTER of {:?} beyond the record, and takes {:?} the record says it refuses",
        refused.difference(&recorded).collect::<Vec<_>>(),
        recorded.difference(&refused).collect::<Vec<_>>()
    );
    cluster.note(&format!(
        "{tried} parameters tried, {} refused as recorded",
        refused.len()
    ));
    Ok(())
}

/// What a shell printed, with what differs between two runs of the same statement (elapsed
/// times, timestamps) replaced.
fn normalized(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text).into_owned();
    let mut out = String::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        // (0.001234s)
        if bytes[i] == '(' {
            let end = bytes[i + 1..].iter().position(|c| *c == ')').map(|p| p + i + 1);
            if let Some(end) = end {
                let inner: String = bytes[i + 1..end].iter().collect();
                if inner.ends_with('s') && inner[..inner.len() - 1].parse::<f64>().is_ok() {
                    out.push_str("(Ts)");
                    i = end + 1;
                    continue;
                }
            }
        }
        // 2026-12-04 12:39:47.284
        if i + 23 <= bytes.len() {
            let candidate: String = bytes[i..i + 23].iter().collect();
            let shape = candidate
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect::<String>();
            if shape == "9999-99-99 99:99:99.999" {
                out.push_str("TIMESTAMP");
                i += 23;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The fake `taos` of tests/fakes answers what the real shell of `version` answers, byte for
/// byte (times and timestamps aside), for every statement the scripts send that the fake can
/// answer, given the real cluster's state: the reads, the refusals, and a refused login.
/// (`ins_dnode_variables` is left out: the fake holds a few parameters, taosd a few hundred.)
fn fake_taos(env: &Env, slot: usize, version: &str) -> Outcome {
    use tdgen::tdengine::sql;
    let spec = format!(
        "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {{name: tdengine, namespace: ns}}\nspec: {{dnodes: 3, image: {{tag: \"{version}\"}}}}\n"
    );
    let mut cluster = Cluster::new(env, &format!("fake-taos-{version}"), slot, &spec, &[])?;
    install(&mut cluster, &[], None)?;
    cluster.wait_dnodes(3, 300)?;
    cluster.until("3 ready mnodes", 300, |c| c.ready_mnodes_are(3, 3))?;
    cluster.seed("r3", 3, 2)?;
    // The fake's state, read off the real cluster.
    let fake = cluster.dir.join("fake");
    std::fs::create_dir_all(&fake).map_err(|e| e.to_string())?;
    let write = |name: &str, text: String| std::fs::write(fake.join(name), text).map_err(|e| e.to_string());
    let dnodes = cluster.rows(sql::SHOW_DNODES)?;
    write(
        "dnodes",
        dnodes
            .iter()
            .map(|r| format!("{} {} {} {}\n", r["id"], r["endpoint"], r["status"], r["vnodes"]))
            .collect(),
    )?;
    write("support-vnodes", dnodes[0]["support_vnodes"].clone())?;
    let mnodes = cluster.rows(sql::SHOW_MNODES)?;
    write(
        "mnodes",
        mnodes
            .iter()
            .map(|r| format!("{} {} {}\n", r["id"], r["role"], r["status"]))
            .collect(),
    )?;
    let databases = cluster.rows(sql::READ_REPLICAS)?;
    write(
        "databases",
        databases
            .iter()
            .map(|r| format!("{} {}\n", r["name"], r["replica"]))
            .collect(),
    )?;
    let vgroups = cluster.rows(sql::READ_VGROUPS)?;
    write(
        "vgroups",
        vgroups
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} {}\n",
                    r["vgroup_id"], r["db_name"], r["v1_dnode"], r["v2_dnode"], r["v3_dnode"]
                )
            })
            .collect(),
    )?;
    let server = cluster.rows(sql::READ_VERSION)?;
    write("version", server[0]["version"].clone())?;
    write("streams", String::new())?;
    let fqdn = cluster.endpoint(0);
    let fqdn = fqdn.rsplit_once(':').map_or(fqdn.clone(), |(h, _)| h.to_owned());
    let statements: Vec<(String, &str)> = sql::READS
        .iter()
        .filter(|s| **s != sql::READ_VARIABLES)
        .map(|s| ((*s).to_owned(), "taosdata"))
        .chain([
            (format!("{} 1", sql::CREATE_MNODE), "taosdata"),
            (format!("{} 99", sql::DROP_DNODE), "taosdata"),
            (sql::SHOW_DNODES.to_owned(), "wrong-password"),
        ])
        .collect();
    let mut differences = Vec::new();
    for (statement, password) in &statements {
        let real = std::process::Command::new(env.realsys.join("td-cluster"))
            .envs(&cluster.td_env)
            .env("REALSYS_HOME", &env.home)
            .env("TD_VERSION", version)
            .args([
                "exec",
                "0",
                "--",
                "bash",
                "-c",
                r#"taos -p -h "$1" -P 6030 -s "$2" <<<"$3""#,
                "_",
                &fqdn,
                statement,
                password,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(env.root.join("tests/fakes/taos"))
            .env("FAKE", &fake)
            .args(["-p", "-h", &fqdn, "-P", "6030", "-s", statement])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            let _ = writeln!(stdin, "{password}");
        }
        let faked = child.wait_with_output().map_err(|e| e.to_string())?;
        for (what, r, f) in [
            ("stdout", &real.stdout, &faked.stdout),
            ("stderr", &real.stderr, &faked.stderr),
        ] {
            let (r, f) = (normalized(r), normalized(f));
            if r != f {
                differences.push(format!("{statement} ({what}):\nreal: {r:?}\nfake: {f:?}"));
            }
        }
        if real.status.code() != faked.status.code() {
            differences.push(format!(
                "{statement}: real exit {:?}, fake exit {:?}",
                real.status.code(),
                faked.status.code()
            ));
        }
    }
    ensure!(
        differences.is_empty(),
        "the fake differs from the real shell:\n{}",
        differences.join("\n\n")
    );
    cluster.note(&format!("{} statements answered alike", statements.len()));
    Ok(())
}

/// `tdgen plan mnodes` from 1 mnode to 3 (taosd of pod 1 killed after the first is created; the
/// runbook run again until done) and back to 1: the leader stays, ids are found by endpoint.
fn mnodes(env: &Env, slot: usize) -> Outcome {
    let one = ["spec.mnodes=1"];
    let mut cluster = running(env, slot, "mnodes-3.0.7.1", DEFAULT, &one, None)?;
    let up = cluster.plan(&["mnodes"], &[])?;
    let (mut child, log) = cluster.start(&up, &[])?;
    cluster.when_log_says(&mut child, &log, "SQL: create mnode on dnode", 120)?;
    cluster.td(None, &["kill-taosd", "1"])?;
    cluster.note("killed taosd of pod 1 after the first create mnode");
    let mut run = cluster.finish(child, &log)?;
    for _ in 0..2 {
        if run.status == Some(0) {
            break;
        }
        cluster.wait_dnodes(3, 300)?;
        run = cluster.run(&up, &[])?;
    }
    run.ok()?;
    cluster.until("3 ready mnodes", 120, |c| c.ready_mnodes_are(3, 3))?;
    let down = cluster.plan(&["mnodes"], &one)?;
    cluster.run(&down, &[])?.ok()?;
    cluster.until("1 ready mnode", 120, |c| c.ready_mnodes_are(1, 3))?;
    cluster.wait_dnodes(3, 60)?;
    ensure!(
        cluster.counts()?.values().all(|n| *n == 100),
        "rows changed: {:?}",
        cluster.counts()
    );
    Ok(())
}
