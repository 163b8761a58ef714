//! What every diff rule reads: both renders, the new blueprint, the version the cluster runs,
//! and the effective taosd parameters of a StatefulSet.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Previous;
use crate::blueprint::Blueprint;
use crate::model::volumes;
use crate::tdengine::{self, version::Version};

/// What every rule may need to know about both renders.
pub(super) struct Context<'a> {
    pub(super) previous: &'a Previous,
    pub(super) current: &'a [Value],
    pub(super) blueprint: &'a Blueprint,
    /// The version the cluster runs now (the previous image), if its tag names one.
    pub(super) running: Option<Version>,
}

impl<'a> Context<'a> {
    pub(super) fn new(previous: &'a Previous, current: &'a [Value], blueprint: &'a Blueprint) -> Self {
        let running = previous
            .statefulset()
            .and_then(|s| image_version(&container(s)["image"]));
        Context {
            previous,
            current,
            blueprint,
            running,
        }
    }

    pub(super) fn new_job(&self) -> Option<&str> {
        self.current
            .iter()
            .find(|o| o["kind"] == "Job")
            .and_then(|o| o["metadata"]["name"].as_str())
    }

    /// The effective taos.cfg parameters of a render's StatefulSet: `TAOS_*` variables of the
    /// TDengine container and the lines of the taos.cfg ConfigMap it mounts, by lower-cased
    /// name (taosd matches names case-insensitively).
    pub(super) fn config(objects: &[Value], statefulset: &Value) -> BTreeMap<String, (String, String)> {
        let mut config = BTreeMap::new();
        let volumes = statefulset["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for volume in volumes.iter().filter(|v| v["name"] == volumes::CONFIG) {
            let name = &volume["configMap"]["name"];
            let text = objects
                .iter()
                .find(|o| o["kind"] == "ConfigMap" && &o["metadata"]["name"] == name)
                .and_then(|o| o["data"]["taos.cfg"].as_str())
                .unwrap_or_default();
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                if let Some((key, value)) = line.trim().split_once(char::is_whitespace) {
                    config.insert(key.to_ascii_lowercase(), (key.to_owned(), value.trim().to_owned()));
                }
            }
        }
        for var in container(statefulset)["env"].as_array().into_iter().flatten() {
            let Some(name) = var["name"].as_str() else { continue };
            if crate::model::OWNED_ENV.contains(&name) {
                continue;
            }
            let Some(key) = tdengine::env::env_name_to_config_key(name) else {
                continue;
            };
            let value = var["value"].as_str().map_or_else(
                || format!("(from {})", compact(&var["valueFrom"])),
                |v| v.replace("$$", "$"),
            );
            config.insert(key.to_ascii_lowercase(), (key, value));
        }
        config
    }
}

pub(super) fn container(statefulset: &Value) -> Value {
    statefulset["spec"]["template"]["spec"]["containers"][0].clone()
}

pub(super) fn image_version(image: &Value) -> Option<Version> {
    let image = image.as_str()?.split('@').next()?;
    let (_, tag) = image.rsplit_once(':')?;
    Version::from_tag(tag)
}

pub(super) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(super) fn show(value: &Value) -> String {
    match value {
        Value::Null => "unset".into(),
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}
