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
        cluster.until("dnode 1 back after its liveness restart", 300, |c| {
            c.dnodes().iter().filter(|d| d.status == "ready").count() >= 3
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
    let claims = cluster.claims();
    ensure!(
        claims.iter().all(|c| !c.ends_with("-3") && !c.ends_with("-4")),
        "the leaving pods' claims remain: {claims:?}"
    );
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
/// of dnode 1 killed while the Job waits, and the Job still finishing.
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
    cluster.until("the bootstrap Job to complete", 300, |c| {
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
        ensure!(
            !cluster.claims().iter().any(|c| c.ends_with("-3")),
            "the spare's claims remain"
        );
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
