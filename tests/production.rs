//! The production knobs: every self-referencing selector matches the dnode pods (and nothing
//! else), no secret value is ever rendered, and version-aware wiring follows the image tag.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::Value;
use tdgen::{Manifest, Request};

use crate::support::*;

fn render(spec: &str) -> tdgen::Manifests {
    render_request(&request(spec))
}

fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn every_selector_matches_the_dnode_pods_and_only_them() {
    for (name, manifests) in all_inputs() {
        let sts = manifests.statefulset().expect("sts").spec.clone().expect("spec");
        let pod_labels = sts
            .template
            .metadata
            .clone()
            .and_then(|m| m.labels)
            .expect("pod labels");
        let selector = sts.selector.match_labels.clone().expect("selector");
        let mut selectors: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        for object in manifests.objects() {
            match object {
                Manifest::Service(s) => selectors.push((
                    "Service".into(),
                    s.spec.clone().and_then(|s| s.selector).unwrap_or_default(),
                )),
                Manifest::PodDisruptionBudget(p) => {
                    let labels = p
                        .spec
                        .clone()
                        .and_then(|s| s.selector)
                        .and_then(|s| s.match_labels)
                        .unwrap_or_default();
                    selectors.push(("PodDisruptionBudget".into(), labels));
                }
                // The dnodes' policy; the bootstrap Job has its own, selecting only its pod.
                Manifest::NetworkPolicy(n)
                    if n.metadata.name == manifests.statefulset().and_then(|s| s.metadata.name.clone()) =>
                {
                    let labels = n
                        .spec
                        .clone()
                        .and_then(|s| s.pod_selector)
                        .and_then(|s| s.match_labels)
                        .unwrap_or_default();
                    selectors.push(("NetworkPolicy".into(), labels));
                }
                _ => {}
            }
        }
        let pod = sts.template.spec.clone().expect("pod spec");
        if let Some(anti) = pod.affinity.and_then(|a| a.pod_anti_affinity) {
            let terms = anti
                .required_during_scheduling_ignored_during_execution
                .unwrap_or_default()
                .into_iter();
            let preferred = anti
                .preferred_during_scheduling_ignored_during_execution
                .unwrap_or_default();
            for term in terms.chain(preferred.into_iter().map(|w| w.pod_affinity_term)) {
                selectors.push((
                    "anti-affinity".into(),
                    term.label_selector.and_then(|s| s.match_labels).unwrap_or_default(),
                ));
            }
        }
        for spread in pod.topology_spread_constraints.unwrap_or_default() {
            selectors.push((
                "topology spread".into(),
                spread.label_selector.and_then(|s| s.match_labels).unwrap_or_default(),
            ));
        }
        for (what, labels) in &selectors {
            assert_eq!(
                labels, &selector,
                "{name}: the {what} selector differs from the StatefulSet's"
            );
            assert!(
                matches(labels, &pod_labels),
                "{name}: the {what} selector misses the pods"
            );
        }
        if let Some(job) = manifests.job() {
            let job_labels = job
                .spec
                .clone()
                .and_then(|s| s.template.metadata)
                .and_then(|m| m.labels)
                .unwrap_or_default();
            assert!(
                !matches(&selector, &job_labels),
                "{name}: the bootstrap pod would count as a dnode"
            );
        }
    }
}

#[test]
fn the_production_preset_is_guaranteed_spread_and_budgeted() {
    let manifests = render_preset("production");
    let kinds: Vec<&str> = manifests.objects().iter().map(Manifest::kind).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            "ConfigMap",
            "ConfigMap",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "NetworkPolicy",
            "Service",
            "Service",
            "StatefulSet",
            "Job",
            "PodMonitor",
            "PrometheusRule"
        ]
    );
    let sts = manifests.statefulset().expect("sts").spec.clone().expect("spec");
    let pod = sts.template.spec.clone().expect("pod");
    let resources = pod.containers[0].resources.clone().expect("resources");
    assert_eq!(
        resources.requests, resources.limits,
        "Guaranteed QoS needs requests = limits"
    );
    let anti = pod.affinity.and_then(|a| a.pod_anti_affinity).expect("anti-affinity");
    assert!(anti.required_during_scheduling_ignored_during_execution.is_some());
    assert_eq!(pod.automount_service_account_token, Some(false));
    assert_eq!(pod.service_account_name.as_deref(), Some("tdengine"));
    let annotations = sts.template.metadata.and_then(|m| m.annotations).expect("annotations");
    assert!(annotations.contains_key("checksum/taos-cfg"));
    let pdb = manifests.objects().iter().find_map(|o| match o {
        Manifest::PodDisruptionBudget(p) => p.spec.clone(),
        _ => None,
    });
    let pdb = pdb.expect("a PDB");
    assert_eq!(
        pdb.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );
    assert_eq!(pdb.unhealthy_pod_eviction_policy.as_deref(), Some("AlwaysAllow"));
}

#[test]
fn a_config_change_rolls_the_pods_only_in_file_mode() {
    let checksum = |spec: &str| {
        let sts = render(spec).statefulset().cloned().expect("sts");
        sts.spec
            .and_then(|s| s.template.metadata)
            .and_then(|m| m.annotations)
            .and_then(|a| a.get("checksum/taos-cfg").cloned())
    };
    let a = checksum("spec: {configMode: file, config: {supportVnodes: 16}}");
    let b = checksum("spec: {configMode: file, config: {supportVnodes: 32}}");
    assert!(a.is_some() && a != b, "{a:?} {b:?}");
    assert_eq!(checksum("spec: {config: {supportVnodes: 16}}"), None);
}

#[test]
fn the_password_and_probes_follow_the_image_version() {
    let env_of = |spec: &str| container_env(&render(spec));
    let probe = |spec: &str| {
        let sts = render(spec).statefulset().cloned().expect("sts");
        let pod = sts.spec.and_then(|s| s.template.spec).expect("pod");
        let command = |p: Option<k8s_openapi::api::core::v1::Probe>| {
            p.and_then(|p| p.exec).and_then(|e| e.command).unwrap_or_default()
        };
        (
            command(pod.containers[0].startup_probe.clone()),
            command(pod.containers[0].readiness_probe.clone()),
        )
    };
    let old = env_of("spec: {image: {tag: '3.3.6.13'}, rootPassword: {secretName: root}}");
    let password = old
        .iter()
        .find(|v| v.name == "TAOS_ROOT_PASSWORD")
        .expect("password env");
    assert!(password.value.is_none());
    assert_eq!(
        password
            .value_from
            .clone()
            .and_then(|f| f.secret_key_ref)
            .map(|r| (r.name, r.key)),
        Some(("root".into(), "password".into()))
    );
    let new = env_of("spec: {image: {tag: '3.4.1.0'}, rootPassword: {secretName: root}}");
    let file = new
        .iter()
        .find(|v| v.name == "TAOS_ROOT_PASSWORD_FILE")
        .expect("password file env");
    assert_eq!(file.value.as_deref(), Some("/etc/taos-secret/password"));
    assert_eq!(
        probe("spec: {image: {tag: '3.4.1.0'}}"),
        (
            vec!["taos-check".into(), "startup".into()],
            vec!["taos-check".into(), "service".into()]
        )
    );
    assert_eq!(
        probe("spec: {image: {tag: '3.3.6.13'}}"),
        (vec!["taos-check".to_owned()], vec!["taos-check".to_owned()])
    );
    let report = tdgen::check(&request("spec: {rootPassword: {secretName: root}}")).unwrap_err();
    assert_eq!(
        report.findings[0].code, "root-password-unsupported",
        "3.0.7.1 has no password variable"
    );
}

#[test]
fn ports_and_services_follow_the_components() {
    let manifests =
        render("spec: {components: {adapter: {enabled: false}, keeper: {enabled: true}, explorer: {enabled: true}}}");
    let sts = manifests.statefulset().cloned().expect("sts");
    let ports: Vec<i32> = sts.spec.and_then(|s| s.template.spec).expect("pod").containers[0]
        .ports
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(ports, [6030, 6043, 6060]);
    for service in services(&manifests).values() {
        let numbers: Vec<i32> = service
            .spec
            .clone()
            .and_then(|s| s.ports)
            .unwrap_or_default()
            .iter()
            .map(|p| p.port)
            .collect();
        assert_eq!(numbers, [6030, 6043, 6060]);
    }
    let env: Vec<String> = container_env(&manifests).into_iter().map(|v| v.name).collect();
    assert!(env.contains(&"TAOS_DISABLE_ADAPTER".to_owned()) && !env.contains(&"TAOS_DISABLE_KEEPER".to_owned()));
    let names_fit = |m: &tdgen::Manifests| serde_json::to_string(&m.objects()).unwrap_or_default();
    assert!(
        !names_fit(&manifests).contains("\"name\":\"tcp6030-"),
        "port names stay within 15 characters"
    );
    let without_client = render("spec: {clientService: {enabled: false}}");
    assert_eq!(services(&without_client).len(), 1);
}

#[test]
fn newer_fields_are_left_out_for_older_kubernetes() {
    let manifests = render("spec: {kubernetesVersion: '1.25'}");
    let yaml = manifests.to_yaml().expect("yaml");
    assert!(!yaml.contains("unhealthyPodEvictionPolicy"), "{yaml}");
    assert!(!yaml.contains("persistentVolumeClaimRetentionPolicy"));
    let yaml = render("spec: {kubernetesVersion: '1.27'}").to_yaml().expect("yaml");
    assert!(yaml.contains("unhealthyPodEvictionPolicy: AlwaysAllow") && yaml.contains("whenScaled: Retain"));
}

fn secretish(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "TOKEN", "SECRET", "ACCESS"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Every env var whose name looks secret must come from a reference, never a literal, and no
/// Secret object is ever rendered.
fn assert_no_secret_values(manifests: &tdgen::Manifests) {
    for object in manifests.objects() {
        let value = serde_json::to_value(object).expect("json");
        assert_ne!(value["kind"], "Secret", "tdgen rendered a Secret");
        let mut stack = vec![&value];
        while let Some(node) = stack.pop() {
            match node {
                Value::Object(map) => {
                    if let (Some(Value::String(name)), Some(Value::String(literal))) =
                        (map.get("name"), map.get("value"))
                        && secretish(name)
                    {
                        assert!(
                            literal.starts_with("/etc/taos-secret/"),
                            "literal secret-looking env {name}={literal}"
                        );
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
}

#[test]
fn no_preset_or_fixture_renders_a_secret_value() {
    for (_, manifests) in all_inputs() {
        assert_no_secret_values(&manifests);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_spec_renders_a_secret_value(
        tag in prop::sample::select(vec!["3.3.6.6", "3.3.8.8", "3.4.1.0", "custom"]),
        secret in "[a-z]([a-z0-9-]{0,18}[a-z0-9])?",
        key in "[A-Za-z0-9_-][A-Za-z0-9._-]{0,11}",
        env_name in "APP_[A-Z_]{0,12}(PASSWORD|TOKEN|SECRET)",
        hardened in any::<bool>(),
        file_mode in any::<bool>(),
    ) {
        let spec = serde_json::json!({"apiVersion": "tdgen/v1", "kind": "TDengineCluster", "spec": {
            "image": {"tag": tag},
            "rootPassword": {"secretName": secret, "key": key},
            "security": {"profile": if hardened { "hardened" } else { "official-image" }},
            "configMode": if file_mode { "file" } else { "env" },
            "extraEnv": [{"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}],
        }});
        let text = serde_saphyr::to_string(&spec).expect("yaml");
        // Every generated spec is valid: a property that skipped refused specs would check nothing.
        let checked = tdgen::check(&Request::from_text("p.yaml", text.as_str()));
        prop_assert!(checked.is_ok(), "refused: {}", checked.err().map(|r| r.render()).unwrap_or_default());
        if let Ok(checked) = checked {
            assert_no_secret_values(&tdgen::render(&checked.valid));
        }
    }
}

#[test]
fn a_password_secret_gets_the_notes_its_version_needs() {
    let codes = |tag: &str| -> Vec<&'static str> {
        let spec = format!("spec: {{image: {{tag: '{tag}'}}, rootPassword: {{secretName: root}}}}");
        let checked = tdgen::check(&request(&spec)).expect("valid");
        checked.report.findings.iter().map(|f| f.code).collect()
    };
    let newest = codes("3.3.6.13");
    assert!(newest.contains(&"root-password-strength"), "{newest:?}");
    assert!(newest.contains(&"root-password-in-pod-logs"), "{newest:?}");
    assert!(
        codes("latest").iter().all(|c| !c.starts_with("root-password")),
        "unknown version: no notes"
    );
}
