//! Emission: typed objects to deterministic bytes — a YAML stream, a JSON `List`, or a
//! directory of files with a `kustomization.yaml`.

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use serde::Serialize;

use crate::error::Error;
use crate::yaml;

/// One rendered Kubernetes object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
// A render holds a handful of objects; boxing them would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
pub enum Manifest {
    /// A Service.
    Service(Service),
    /// The dnode StatefulSet.
    StatefulSet(StatefulSet),
}

impl Manifest {
    /// The object's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Manifest::Service(_) => "Service",
            Manifest::StatefulSet(_) => "StatefulSet",
        }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        let meta = match self {
            Manifest::Service(o) => &o.metadata,
            Manifest::StatefulSet(o) => &o.metadata,
        };
        meta.name.as_deref().unwrap_or_default()
    }

    /// Apply order: objects others depend on come first (a StatefulSet's governing Service
    /// must exist before it).
    fn rank(&self) -> u8 {
        match self {
            Manifest::Service(_) => 4,
            Manifest::StatefulSet(_) => 5,
        }
    }
}

/// Every object for one cluster, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    objects: Vec<Manifest>,
    service_file: String,
    statefulset_file: String,
}

impl Manifests {
    pub(crate) fn new(mut objects: Vec<Manifest>) -> Self {
        // A stable sort keeps the builder's order within a kind (headless Service first).
        objects.sort_by_key(Manifest::rank);
        let name_of = |kind: &str| {
            objects
                .iter()
                .find(|o| o.kind() == kind)
                .map(|o| o.name().to_owned())
                .unwrap_or_default()
        };
        let service_file = format!("{}-service.yaml", name_of("Service"));
        let statefulset_file = format!("{}.yaml", name_of("StatefulSet"));
        Manifests {
            objects,
            service_file,
            statefulset_file,
        }
    }

    /// The objects, in apply order.
    pub fn objects(&self) -> &[Manifest] {
        &self.objects
    }

    /// The first Service (the headless governing one).
    pub fn headless_service(&self) -> Option<&Service> {
        self.objects.iter().find_map(|o| match o {
            Manifest::Service(s) => Some(s),
            _ => None,
        })
    }

    /// The StatefulSet.
    pub fn statefulset(&self) -> Option<&StatefulSet> {
        self.objects.iter().find_map(|o| match o {
            Manifest::StatefulSet(s) => Some(s),
            _ => None,
        })
    }

    /// A multi-document YAML stream for `kubectl apply -f -`.
    pub fn to_yaml(&self) -> Result<String, Error> {
        yaml::to_stream(&self.objects).map_err(|message| Error::Serialize {
            what: "manifests".into(),
            message,
        })
    }

    /// A JSON `List` (what `kubectl get -o json` prints for several objects).
    pub fn to_json(&self) -> Result<String, Error> {
        let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": self.objects });
        let mut text = serde_json::to_string_pretty(&list).map_err(|e| Error::Serialize {
            what: "manifests".into(),
            message: e.to_string(),
        })?;
        text.push('\n');
        Ok(text)
    }

    /// The files of an `--output-dir`: `<service>-service.yaml` (both Services), `<name>.yaml`
    /// (the StatefulSet), one file per other kind, and a `kustomization.yaml` listing them.
    pub fn files(&self) -> Result<Vec<(String, String)>, Error> {
        let mut groups: Vec<(String, Vec<&Manifest>)> = Vec::new();
        for object in &self.objects {
            let file = match object {
                Manifest::Service(_) => self.service_file.clone(),
                Manifest::StatefulSet(_) => self.statefulset_file.clone(),
            };
            match groups.iter_mut().find(|(name, _)| *name == file) {
                Some((_, members)) => members.push(object),
                None => groups.push((file, vec![object])),
            }
        }
        let mut files = Vec::new();
        for (name, members) in groups {
            let text = yaml::to_stream(&members).map_err(|message| Error::Serialize {
                what: name.clone(),
                message,
            })?;
            files.push((name, text));
        }
        let kustomization = Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: files.iter().map(|(name, _)| name.clone()).collect(),
        };
        let text = yaml::to_string(&kustomization).map_err(|message| Error::Serialize {
            what: "kustomization.yaml".into(),
            message,
        })?;
        files.push(("kustomization.yaml".into(), text));
        Ok(files)
    }

    /// Write [`Manifests::files`] into `dir` (created if missing). Returns the paths written.
    pub fn write_dir(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut written = Vec::new();
        for (name, text) in self.files()? {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
}
