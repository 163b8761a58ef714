//! The library as another crate uses it: errors that work with `?`, manifests that can be
//! built, changed and written, and tdgen's YAML writer for any object.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tdgen::{Manifest, Manifests, Request};

use crate::support::{render_preset, spec};

fn invalid() -> Request {
    Request::from_text("cluster.yaml", spec("metadata: {name: td}\nspec: {dnodes: 0}\n"))
}

#[test]
fn a_report_is_an_error_that_lists_every_finding() {
    fn checked() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        tdgen::check(&invalid())?;
        Ok(())
    }
    let message = checked().expect_err("dnodes: 0 is refused").to_string();
    assert!(message.contains("error[dnodes-range]"), "{message}");
    assert!(
        message.contains("cluster.yaml:"),
        "the message points into the file: {message}"
    );
}

#[test]
fn an_invalid_spec_error_prints_its_findings() {
    let error = tdgen::render_str(&spec("spec: {dnodes: 0, mnodes: 2}\n")).expect_err("refused");
    let message = error.to_string();
    assert!(message.starts_with("the spec is invalid (2 errors):"), "{message}");
    assert!(
        message.contains("dnodes-range") && message.contains("mnodes-count"),
        "{message}"
    );
}

/// `fn main() -> Result<(), Box<dyn Error>>` prints its error with `{:?}`: a bad spec must show
/// its findings there, not a struct dump; `{:#?}` still shows the structure.
#[test]
fn debug_output_is_the_findings_and_alternate_debug_the_structure() {
    let report = tdgen::check(&invalid()).expect_err("dnodes: 0 is refused");
    let boxed: Box<dyn std::error::Error> = Box::new(report.clone());
    for (what, debug) in [
        ("a Report", format!("{report:?}")),
        ("a boxed Report", format!("{boxed:?}")),
        ("Error::Invalid", format!("{:?}", tdgen::Error::from(report.clone()))),
    ] {
        assert!(
            debug.contains("error[dnodes-range]") && debug.contains("cluster.yaml:"),
            "{what}: {debug}"
        );
        assert!(
            !debug.contains("findings:") && !debug.contains("Finding {"),
            "{what}: {debug}"
        );
    }
    let alternate = format!("{report:#?}");
    assert!(
        alternate.starts_with("Report {") && alternate.contains("findings:"),
        "{alternate}"
    );
    let alternate = format!("{:#?}", tdgen::Error::from(report));
    assert!(
        alternate.starts_with("Invalid(") && alternate.contains("Report {"),
        "{alternate}"
    );
}

#[test]
fn manifests_can_be_changed_before_they_are_written() {
    let mut manifests = render_preset("seed");
    let sts = manifests.statefulset_mut().expect("a StatefulSet");
    sts.metadata
        .annotations
        .get_or_insert_default()
        .insert("example.com/team".into(), "tsdb".into());
    let yaml = manifests.to_yaml().expect("yaml");
    assert!(yaml.contains("example.com/team: tsdb"), "{yaml}");
    let files = manifests.files().expect("files");
    let (_, statefulset) = files
        .iter()
        .find(|(name, _)| name == "tdengine.yaml")
        .expect("tdengine.yaml");
    assert!(statefulset.contains("example.com/team: tsdb"));
}

#[test]
fn manifests_keep_apply_order_however_they_are_built() {
    let extra = |name: &str| {
        Manifest::ConfigMap(ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        })
    };
    let mut objects = render_preset("seed").into_objects();
    objects.reverse();
    let mut manifests = Manifests::new(objects);
    manifests.push(extra("extra"));
    let kinds: Vec<&str> = manifests.objects().iter().map(Manifest::kind).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "ConfigMap",
            "PodDisruptionBudget",
            "Service",
            "Service",
            "StatefulSet",
            "Job"
        ]
    );
    assert_eq!(
        manifests.objects()[1].name(),
        "extra",
        "pushed after the ConfigMaps already there"
    );
    // Renamed objects are written under their new names.
    for object in manifests.objects_mut() {
        if let Manifest::StatefulSet(sts) = object {
            sts.metadata.name = Some("renamed".into());
        }
    }
    let files = manifests.files().expect("files");
    assert!(
        files.iter().any(|(name, _)| name == "renamed.yaml"),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}

#[test]
fn the_yaml_writer_quotes_what_kubectl_would_misread() {
    let object = serde_json::json!({ "mode": "on", "answer": "no", "size": "1_000", "hex": "0x1F" });
    let yaml = tdgen::to_yaml_string(&object).expect("yaml");
    for word in [r#""on""#, r#""no""#, r#""1_000""#, r#""0x1F""#] {
        assert!(yaml.contains(word), "{word} is not quoted in:\n{yaml}");
    }
    let stream = tdgen::to_yaml_stream(&[&object, &object]).expect("stream");
    assert_eq!(stream.matches("---").count(), 1, "{stream}");
}
