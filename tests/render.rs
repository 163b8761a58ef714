//! Rendering: golden snapshots for every preset and fixture, parse-back into k8s-openapi types,
//! determinism, and the wiring properties that must hold by construction.

use std::path::Path;

use tdgen::Request;

use crate::support::*;

#[test]
fn presets_match_their_snapshots() {
    for preset in tdgen::Preset::all() {
        let yaml = render_preset(preset.name).to_yaml().expect("yaml");
        insta::assert_snapshot!(format!("preset-{}", preset.name), yaml);
    }
}

/// `tdgen init`'s starter specs: every value JSON-escaped (valid YAML whatever it holds).
#[test]
fn starter_specs_match_their_snapshots() {
    for preset in tdgen::Preset::all() {
        let text = tdgen::starter_spec(preset.name).expect("a starter spec");
        insta::assert_snapshot!(format!("init-{}", preset.name), text);
    }
}

#[test]
fn fixtures_match_their_snapshots() {
    insta::glob!("fixtures/specs", "*.yaml", |path| {
        let yaml = render_file(path).to_yaml().expect("yaml");
        insta::assert_snapshot!("spec", yaml);
    });
}

#[test]
fn every_document_parses_back_exactly() {
    for (name, manifests) in all_inputs() {
        let yaml = manifests.to_yaml().expect("yaml");
        assert_parses_back(&manifests, &yaml);
        let json: serde_json::Value = serde_json::from_str(&manifests.to_json().expect("json")).expect("json parses");
        assert_eq!(json["kind"], "List", "{name}");
        let items = json["items"].as_array().expect("items");
        assert_eq!(items, &yaml_documents(&yaml), "{name}: JSON and YAML disagree");
    }
}

#[test]
fn rendering_is_deterministic() {
    for (name, manifests) in all_inputs() {
        let again = all_inputs()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m)
            .expect("same input");
        assert_eq!(manifests.to_yaml().unwrap(), again.to_yaml().unwrap(), "{name}");
        assert_eq!(manifests.files().unwrap(), again.files().unwrap(), "{name}");
    }
}

#[test]
fn the_governing_service_is_headless_and_publishes_not_ready_pods() {
    for (name, manifests) in all_inputs() {
        let sts = manifests.statefulset().expect("sts");
        let governing = sts
            .spec
            .as_ref()
            .and_then(|s| s.service_name.clone())
            .expect("serviceName");
        let services = services(&manifests);
        let spec = services[&governing].spec.clone().expect("spec");
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"), "{name}");
        assert_eq!(spec.publish_not_ready_addresses, Some(true), "{name}");
        let client = services
            .values()
            .find(|s| s.metadata.name.as_deref() != Some(&governing))
            .expect("client");
        assert_ne!(
            client.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()),
            Some("None"),
            "{name}"
        );
    }
}

#[test]
fn selectors_match_the_pod_labels_and_stay_out_of_mutable_labels() {
    for (name, manifests) in all_inputs() {
        let sts = manifests.statefulset().expect("sts").spec.clone().expect("spec");
        let selector = sts.selector.match_labels.clone().expect("matchLabels");
        let pod_labels = sts
            .template
            .metadata
            .clone()
            .and_then(|m| m.labels)
            .expect("pod labels");
        assert!(
            selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)),
            "{name}: selector not on pods"
        );
        assert!(
            !selector.contains_key("app.kubernetes.io/version"),
            "{name}: version in selector"
        );
        for service in services(&manifests).values() {
            assert_eq!(
                service.spec.as_ref().and_then(|s| s.selector.clone()).as_ref(),
                Some(&selector),
                "{name}"
            );
        }
        for claim in sts.volume_claim_templates.unwrap_or_default() {
            assert!(
                claim.metadata.labels.is_none(),
                "{name}: labels on a claim template are immutable"
            );
        }
        let pod = sts.template.spec.expect("pod");
        assert_eq!(
            pod.enable_service_links,
            Some(false),
            "{name}: service links poison TAOS_* config"
        );
    }
}

#[test]
fn kubelet_expansion_yields_every_pods_fqdn_and_the_first_endpoint() {
    let path = Path::new(crate::support::ROOT).join("tests/fixtures/specs/custom-everything.yaml");
    let manifests = render_file(&path);
    let env = container_env(&manifests);
    for ordinal in 0..5 {
        let pod = format!("tsdb-{ordinal}");
        let resolved = kubelet_env(&env, &pod, "metrics-prod");
        assert_eq!(
            resolved["TAOS_FQDN"],
            format!("tsdb-{ordinal}.td-peers.metrics-prod.svc.k8s.example.internal")
        );
        assert_eq!(
            resolved["TAOS_FIRST_EP"],
            "tsdb-0.td-peers.metrics-prod.svc.k8s.example.internal:7030"
        );
        assert_eq!(resolved["TAOS_SERVER_PORT"], "7030");
        assert!(
            resolved.values().all(|v| !v.contains("$(")),
            "unexpanded reference in {resolved:?}"
        );
    }
    // Namespace-free output learns the namespace at run time, whatever `kubectl apply -n` says.
    let manifests = render_request(&request("metadata: {name: td}\nspec: {dnodes: 2}\n"));
    let resolved = kubelet_env(&container_env(&manifests), "td-1", "anywhere");
    assert_eq!(resolved["TAOS_FQDN"], "td-1.td.anywhere.svc.cluster.local");
    assert_eq!(resolved["TAOS_FIRST_EP"], "td-0.td.anywhere.svc.cluster.local:6030");
}

#[test]
fn config_becomes_taos_variables_after_the_derived_ones() {
    let path = Path::new(crate::support::ROOT).join("tests/fixtures/specs/custom-everything.yaml");
    let names: Vec<String> = container_env(&render_file(&path)).into_iter().map(|v| v.name).collect();
    assert_eq!(
        names,
        [
            "POD_NAME",
            "SERVICE_NAME",
            "STS_NAME",
            "STS_NAMESPACE",
            "TZ",
            "TAOS_SERVER_PORT",
            "TAOS_FIRST_EP",
            "TAOS_FQDN",
            "TAOS_DISABLE_KEEPER",
            "TAOS_DISABLE_EXPLORER",
            "TAOS_DEBUG_FLAG",
            "TAOS_MINIMAL_DATA_DIR_G_B",
            "TAOS_SUPPORT_VNODES",
        ]
    );
}

#[test]
fn hostile_config_values_reach_taosd_exactly() {
    let path = Path::new(crate::support::ROOT).join("tests/fixtures/specs/hostile-config.yaml");
    let manifests = render_file(&path);
    let expected = [
        ("TAOS_MONITOR", "on"),
        ("TAOS_TELEMETRY_REPORTING", "NO"),
        ("TAOS_CRASH_REPORTING", "y"),
        ("TAOS_NUM_OF_RPC_SESSIONS", "1_000"),
        ("TAOS_LOG_DIR", ": x"),
        ("TAOS_TEMP_DIR", "{{ not a template }}"),
        ("TAOS_AUDIT", "$(POD_NAME)"),
        ("TAOS_LOCALE", "line one\nline two"),
        ("TAOS_CHARSET", "1.50"),
    ];
    // Through the YAML stream, as kubectl would read it, and then through the kubelet.
    let yaml = manifests.to_yaml().expect("yaml");
    let document = yaml_documents(&yaml).pop().expect("sts");
    let sts: k8s_openapi::api::apps::v1::StatefulSet = strict_parse(&document);
    let env = sts.spec.and_then(|s| s.template.spec).expect("pod").containers[0]
        .env
        .clone()
        .expect("env");
    let resolved = kubelet_env(&env, "hostile-0", "ns");
    for (name, value) in expected {
        assert_eq!(resolved[name], value, "{name}");
    }
}

#[test]
fn output_dir_files_are_the_docs_names_plus_a_kustomization() {
    let files = render_preset("seed").files().expect("files");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let expected = [
        "tdengine-configmap.yaml",
        "tdengine-poddisruptionbudget.yaml",
        "taosd-service.yaml",
        "tdengine.yaml",
        "tdengine-job.yaml",
        "Kustomization",
    ];
    assert_eq!(names, expected);
    let (_, kustomization) = files.last().expect("kustomization");
    let listed: Vec<String> = expected[..5].iter().map(|n| format!("- {n}\n")).collect();
    let (notes, body) = kustomization
        .split_once("apiVersion:")
        .expect("the kustomization follows its notes");
    assert!(notes.starts_with("# Generated by tdgen"), "{notes}");
    assert!(
        notes.lines().all(|l| l.starts_with('#')),
        "only comments above the kustomization: {notes}"
    );
    assert!(notes.contains("namePrefix"), "the notes warn about renaming overlays");
    assert_eq!(
        body,
        format!(
            " kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}",
            listed.concat()
        )
    );
    let services = &files
        .iter()
        .find(|(n, _)| n == "taosd-service.yaml")
        .expect("service file")
        .1;
    assert_eq!(yaml_documents(services).len(), 2, "both Services in the service file");
}

#[test]
fn the_seed_keeps_the_docs_immutable_identity() {
    let sts = render_preset("seed")
        .statefulset()
        .expect("sts")
        .spec
        .clone()
        .expect("spec");
    assert_eq!(sts.service_name.as_deref(), Some("taosd"));
    assert_eq!(sts.pod_management_policy.as_deref(), Some("OrderedReady"));
    assert_eq!(
        sts.selector.match_labels,
        Some([("app".to_owned(), "tdengine".to_owned())].into())
    );
    let claim = &sts.volume_claim_templates.expect("claims")[0];
    assert_eq!(claim.metadata.name.as_deref(), Some("taosdata"));
    let spec = claim.spec.clone().expect("claim spec");
    assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
    assert_eq!(spec.access_modes, Some(vec!["ReadWriteOnce".to_owned()]));
    assert_eq!(
        spec.resources.and_then(|r| r.requests).expect("requests")["storage"].0,
        "5Gi"
    );
}

#[test]
fn a_pinned_namespace_is_on_every_object_and_absent_otherwise() {
    let mut inputs: Vec<(String, Request)> = tdgen::Preset::all()
        .iter()
        .map(|p| {
            (
                format!("preset {}", p.name),
                Request {
                    preset: Some(p.name.into()),
                    ..Request::default()
                },
            )
        })
        .collect();
    let dir = Path::new(crate::support::ROOT).join("tests/fixtures/specs");
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("fixture");
        inputs.push((path.display().to_string(), Request::from_text("f.yaml", text)));
    }
    inputs.push((
        "-n".into(),
        Request {
            namespace: Some("flagged".into()),
            ..Request::default()
        },
    ));
    let (mut pinned, mut free) = (0, 0);
    for (name, request) in inputs {
        let checked = tdgen::check(&request).expect("valid");
        let expected = checked.valid.namespace.clone();
        if expected.is_some() {
            pinned += 1
        } else {
            free += 1
        }
        // spec.monitoring.namespace: the monitoring objects go where the Prometheus reads.
        let monitoring = serde_saphyr::from_str::<serde_json::Value>(
            request.file.as_ref().map(|f| f.text.as_ref()).unwrap_or_default(),
        )
        .ok()
        .and_then(|spec| spec["spec"]["monitoring"]["namespace"].as_str().map(str::to_owned));
        for document in yaml_documents(&tdgen::render(&checked.valid).to_yaml().unwrap()) {
            let kind = document["kind"].as_str().unwrap_or_default();
            let in_monitoring = matches!(kind, "PodMonitor" | "PrometheusRule")
                || document["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-dashboard"));
            let expected = if in_monitoring && monitoring.is_some() {
                monitoring.as_deref()
            } else {
                expected.as_deref()
            };
            assert_eq!(
                document["metadata"]["namespace"].as_str(),
                expected,
                "{name}: {} {}",
                document["kind"],
                document["metadata"]["name"]
            );
        }
    }
    assert!(
        pinned > 0 && free > 0,
        "both cases are exercised ({pinned} pinned, {free} free)"
    );
}

#[test]
fn null_storage_class_means_the_clusters_default_and_empty_means_none() {
    let class = |body: &str| {
        let manifests = render_request(&request(body));
        let claim = manifests
            .statefulset()
            .and_then(|s| s.spec.clone())
            .expect("spec")
            .volume_claim_templates
            .expect("claims")[0]
            .clone();
        claim.spec.expect("claim spec").storage_class_name
    };
    assert_eq!(class("spec: {}"), Some("standard".into()), "the seed preset's class");
    assert_eq!(
        class("spec: {storage: {data: {storageClassName: null}}}"),
        None,
        "null overrides the preset"
    );
    assert_eq!(
        class("spec: {storage: {data: {storageClassName: ''}}}"),
        Some(String::new()),
        "\"\" is no dynamic provisioning"
    );
    assert_eq!(
        class("spec: {storage: {data: {storageClassName: fast}}}"),
        Some("fast".into())
    );
}

#[test]
fn two_clusters_in_one_namespace_share_no_object_name() {
    let names = |body: &str| -> std::collections::BTreeSet<(String, String)> {
        render_request(&request(body))
            .objects()
            .iter()
            .map(|o| (o.kind().to_owned(), o.name().to_owned()))
            .collect()
    };
    let production = "spec: {preset: production, dnodes: 3}\n";
    for (a, b) in [
        (
            "metadata: {name: alpha, namespace: db}\n",
            "metadata: {name: beta, namespace: db}\n",
        ),
        (
            "metadata: {name: tdengine, namespace: db}\n",
            "metadata: {name: beta, namespace: db}\n",
        ),
    ] {
        for extra in ["", production] {
            let (left, right) = (names(&format!("{a}{extra}")), names(&format!("{b}{extra}")));
            let shared: Vec<_> = left.intersection(&right).collect();
            assert!(shared.is_empty(), "{a} and {b} share {shared:?}");
        }
    }
    let doc = names("metadata: {name: tdengine}\n");
    assert!(
        doc.contains(&("Service".to_owned(), "taosd".to_owned())),
        "the doc's cluster keeps its names"
    );
}
