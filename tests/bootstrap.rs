//! The mnode bootstrap Job's script, run for real by bash against the fake `taos` of
//! `tests/fakes/taos` (the real shell's bytes: `\r\n` lines, `DB error` on stderr with exit 0,
//! 255 on a refused connection), under both the current and the pre-rewrite shell.

use crate::support::{FakeCluster, Run, SHELLS, Shell, THREE_MNODES, THREE_READY, request};

/// The rendered bootstrap script of `spec`.
fn script(spec: &str) -> String {
    let checked = tdgen::check(&request(spec)).expect("valid spec");
    crate::support::rendered_script(&checked.valid, "mnode-bootstrap.sh")
}

const THREE: &str = "spec: {dnodes: 3, mnodes: 3}\n";
const NS: [(&str, &str); 1] = [("POD_NAMESPACE", "ns")];

fn run(cluster: &FakeCluster, spec: &str) -> Run {
    cluster.run(&script(spec), &NS)
}

/// A cluster of three ready dnodes with ids 1..3 and the first mnode.
fn fresh(test: &str, shell: Shell) -> FakeCluster {
    let cluster = FakeCluster::new(test, shell);
    cluster.dnodes(&THREE_READY).mnodes(&[(1, "leader")]);
    cluster
}

fn assert_no_password_on_a_command_line(run: &Run) {
    assert!(
        run.calls.iter().all(|c| !c.contains("password=argv")),
        "{:?}",
        run.calls
    );
}

#[test]
fn dnode_ids_are_looked_up_by_endpoint_not_ordinal() {
    for shell in SHELLS {
        let cluster = FakeCluster::new("bootstrap-ids", shell);
        cluster
            .dnodes(&[(1, 0, "ready"), (2, 1, "ready"), (5, 2, "ready"), (6, 3, "ready")])
            .mnodes(&[(1, "leader")]);
        let run = run(&cluster, "spec: {dnodes: 4, mnodes: 3}\n");
        run.assert_exit(0);
        assert_eq!(
            run.sql_changes(),
            ["create mnode on dnode 2", "create mnode on dnode 5"]
        );
    }
}

#[test]
fn a_dnode_registered_again_under_a_new_id_is_found_by_its_endpoint() {
    for shell in SHELLS {
        let cluster = FakeCluster::new("bootstrap-reregistered", shell);
        // Ordinal 1's PVC was re-created: it registered as dnode 7.
        cluster
            .dnodes(&[(1, 0, "ready"), (7, 1, "ready"), (3, 2, "ready")])
            .mnodes(&[(1, "leader")]);
        let run = run(&cluster, THREE);
        run.assert_exit(0);
        assert_eq!(
            run.sql_changes(),
            ["create mnode on dnode 7", "create mnode on dnode 3"]
        );
    }
}

#[test]
fn a_complete_cluster_is_left_alone_and_a_partial_one_finished() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-done", shell);
        cluster.mnodes(&THREE_MNODES);
        let run = run(&cluster, THREE);
        run.assert_exit(0);
        assert!(run.sql_changes().is_empty(), "{:?}", run.calls);

        cluster.mnodes(&[(1, "leader"), (2, "follower")]);
        let run = self::run(&cluster, THREE);
        run.assert_exit(0);
        assert_eq!(run.sql_changes(), ["create mnode on dnode 3"]);
    }
}

#[test]
fn not_enough_ready_dnodes_fails_after_a_bounded_wait() {
    for shell in SHELLS {
        let cluster = FakeCluster::new("bootstrap-wait", shell);
        cluster
            .dnodes(&[(1, 0, "ready"), (2, 1, "offline"), (3, 2, "ready")])
            .mnodes(&[(1, "leader")]);
        let run = run(
            &cluster,
            "spec: {dnodes: 3, mnodes: 3, mnodeBootstrap: {waitSeconds: 30}}\n",
        );
        run.assert_stopped(1, "gave up waiting for 3 ready dnodes (30s): 2 of 3 dnodes are ready");
        assert_eq!(run.calls.len(), 6, "30 s in 5 s steps: {:?}", run.calls);
        assert!(run.sql_changes().is_empty());
    }
}

#[test]
fn a_refused_or_lost_connection_is_waited_out_not_fatal() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-connection", shell);
        cluster
            .fault("show dnodes*", "connect")
            .fault("show dnodes*", "connect")
            .fault("create mnode on dnode 3", "connect")
            .fault("show mnodes*", "garble");
        let run = run(&cluster, THREE);
        run.assert_exit(0);
        assert!(
            run.log
                .contains("failed to connect to server, reason: Unable to establish connection"),
            "{}",
            run.log
        );
        assert_eq!(
            run.sql_changes(),
            [
                "create mnode on dnode 2",
                "create mnode on dnode 3",
                "create mnode on dnode 3"
            ],
            "the lost statement is asked again after the mnodes were read"
        );
    }
}

#[test]
fn a_hung_client_is_cut_off_by_the_statement_timeout() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-hang", shell);
        cluster.fault("show dnodes*", "hang");
        let started = std::time::Instant::now();
        let run = cluster.run(&script(THREE), &[("POD_NAMESPACE", "ns"), ("TAOS_TIMEOUT", "1")]);
        run.assert_exit(0);
        run.assert_said("no answer within 1s");
        assert!(started.elapsed().as_secs() < 30, "the hang was not cut off");
    }
}

#[test]
fn a_refused_create_stops_the_run_and_the_next_run_finishes() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-refused", shell);
        cluster.fault("create mnode on dnode 3", "error Mnode didn't catch the leader");
        let run = run(&cluster, THREE);
        run.assert_stopped(
            1,
            "create mnode on dnode 3 was refused: Mnode didn't catch the leader; the Job runs this again",
        );
        assert_eq!(
            run.sql_changes(),
            ["create mnode on dnode 2", "create mnode on dnode 3"]
        );
        let run = self::run(&cluster, THREE);
        run.assert_exit(0);
        assert_eq!(
            run.sql_changes(),
            ["create mnode on dnode 3"],
            "dnode 2 is not asked twice"
        );
    }
}

#[test]
fn an_existing_mnode_reported_by_taosd_counts_as_created() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-exists", shell);
        // The first read misses the mnode (a garbled answer): taosd then says it exists.
        cluster.mnodes(&[(1, "leader"), (2, "follower")]);
        cluster.fault("show mnodes*", "garble").fault("show mnodes*", "garble");
        let run = run(&cluster, THREE);
        run.assert_exit(0);
        assert!(!run.sql_changes().contains(&"create mnode on dnode 2".to_owned()));
    }
}

#[test]
fn the_password_reaches_taos_on_stdin_from_the_variable_or_the_file() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-password", shell);
        cluster.sandbox.write("password", "s3cret");
        let spec = "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}}\n";
        let run = cluster.run(
            &script(spec),
            &[("POD_NAMESPACE", "ns"), ("TAOS_ROOT_PASSWORD", "s3cret")],
        );
        run.assert_exit(0);
        assert!(
            run.calls.iter().all(|c| c.contains("password=stdin")),
            "{:?}",
            run.calls
        );
        assert!(!run.log.contains("s3cret"));

        cluster.mnodes(&[(1, "leader")]);
        cluster.sandbox.write("secret-file", "s3cret\n");
        let file = cluster.sandbox.dir.join("secret-file").display().to_string();
        let run = cluster.run(
            &script(spec),
            &[("POD_NAMESPACE", "ns"), ("TAOS_ROOT_PASSWORD_FILE", file.as_str())],
        );
        run.assert_exit(0);
        assert_no_password_on_a_command_line(&run);
    }
}

#[test]
fn a_wrong_password_is_reported_not_mistaken_for_an_empty_cluster() {
    for shell in SHELLS {
        let cluster = fresh("bootstrap-wrong-password", shell);
        cluster.sandbox.write("password", "s3cret");
        let spec = "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}, mnodeBootstrap: {waitSeconds: 30}}\n";
        let run = cluster.run(&script(spec), &[("POD_NAMESPACE", "ns"), ("TAOS_ROOT_PASSWORD", "old")]);
        run.assert_stopped(1, "failed to connect to server, reason: Authentication failure");
        assert!(run.sql_changes().is_empty());
    }
}

#[test]
fn the_job_is_bounded_and_named_after_its_content() {
    let job_of = |spec: &str| {
        let checked = tdgen::check(&request(spec)).expect("valid spec");
        tdgen::render(&checked.valid).job().cloned().expect("a Job")
    };
    let job = job_of(THREE);
    let spec = job.spec.as_ref().expect("spec");
    assert_eq!(spec.backoff_limit, Some(3));
    assert_eq!(
        spec.active_deadline_seconds,
        Some(4 * (600 + 600)),
        "every attempt's wait plus the mnode work"
    );
    assert_eq!(
        spec.ttl_seconds_after_finished, None,
        "a GitOps tool would re-create it"
    );
    let name = job.metadata.name.clone().expect("name");
    assert!(name.starts_with("tdengine-mnode-bootstrap-"), "{name}");
    assert_eq!(
        job_of(THREE).metadata.name,
        Some(name.clone()),
        "stable for the same spec"
    );
    let bumped = job_of("spec: {dnodes: 3, mnodes: 3, image: {tag: '3.3.6.13'}}\n");
    assert_ne!(bumped.metadata.name, Some(name), "a new template is a new Job");
    let long = job_of(&format!(
        "metadata: {{name: {}}}\nspec: {{dnodes: 3}}\n",
        "a".repeat(52)
    ));
    assert!(long.metadata.name.expect("name").len() <= 63);
    let annotations = job.metadata.annotations.unwrap_or_default();
    assert!(
        !annotations
            .keys()
            .any(|k| k.starts_with("argocd.argoproj.io") || k.contains("fluxcd")),
        "no Replace/force needed: {annotations:?}"
    );
}
