//! Emission: typed objects to deterministic bytes — a YAML stream, a JSON `List`, or a
//! directory of files with a kustomization (`Kustomization`) (written safely by [`dir`]).

pub mod dir;

use std::path::Path;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use crate::error::Error;
use crate::prometheus::{PodMonitor, PrometheusRule};
use crate::yaml;

/// The kustomization's file name in an `--output-dir` (and at the top of a fleet tree). Not
/// `kustomization.yaml`: `kubectl apply -f DIR` (and `--recursive`) reads every `.yaml`, `.yml`
/// and `.json` file and refuses a Kustomization (`no matches for kind "Kustomization"`), while
/// kustomize, `kubectl apply -k`, Argo CD and Flux all recognise `Kustomization` as well
/// (kustomize's recognised names: `kustomization.yaml`, `kustomization.yml`, `Kustomization`).
pub(crate) const KUSTOMIZATION: &str = "Kustomization";
/// What older tdgen called it; still read, and removed by the next render.
pub(crate) const LEGACY_KUSTOMIZATION: &str = "kustomization.yaml";

/// One rendered Kubernetes object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
// A render holds a handful of objects; boxing them would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
pub enum Manifest {
    /// The pods' ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// taos.cfg, or a script (bootstrap, backup).
    ConfigMap(ConfigMap),
    /// The backup volume.
    PersistentVolumeClaim(PersistentVolumeClaim),
    /// The disruption budget.
    PodDisruptionBudget(PodDisruptionBudget),
    /// The network policy.
    NetworkPolicy(NetworkPolicy),
    /// A Service.
    Service(Service),
    /// The dnode StatefulSet.
    StatefulSet(StatefulSet),
    /// The mnode bootstrap Job.
    Job(Job),
    /// The backup CronJob.
    CronJob(CronJob),
    /// What Prometheus scrapes (Prometheus Operator).
    PodMonitor(PodMonitor),
    /// The alerts (Prometheus Operator).
    PrometheusRule(PrometheusRule),
}

/// Apply each arm to the object inside, whatever its kind.
macro_rules! each {
    ($manifest:expr, $object:ident => $body:expr) => {
        match $manifest {
            Manifest::ServiceAccount($object) => $body,
            Manifest::ConfigMap($object) => $body,
            Manifest::PersistentVolumeClaim($object) => $body,
            Manifest::PodDisruptionBudget($object) => $body,
            Manifest::NetworkPolicy($object) => $body,
            Manifest::Service($object) => $body,
            Manifest::StatefulSet($object) => $body,
            Manifest::Job($object) => $body,
            Manifest::CronJob($object) => $body,
            Manifest::PodMonitor($object) => $body,
            Manifest::PrometheusRule($object) => $body,
        }
    };
}

impl Manifest {
    /// The object's kind.
    pub fn kind(&self) -> &'static str {
        fn kind_of<T: k8s_openapi::Resource>(_: &T) -> &'static str {
            T::KIND
        }
        each!(self, object => kind_of(object))
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        each!(self, object => &object.metadata)
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// Apply order: what others depend on first (the governing Service before the
    /// StatefulSet, the ServiceAccount and ConfigMaps before the pods that use them).
    fn rank(&self) -> u8 {
        match self {
            Manifest::ServiceAccount(_) => 0,
            Manifest::ConfigMap(_) => 1,
            Manifest::PersistentVolumeClaim(_) => 2,
            Manifest::PodDisruptionBudget(_) => 3,
            Manifest::NetworkPolicy(_) => 4,
            Manifest::Service(_) => 5,
            Manifest::StatefulSet(_) => 6,
            Manifest::Job(_) => 7,
            Manifest::CronJob(_) => 8,
            // Custom resources last: without their CRDs only they fail to apply.
            Manifest::PodMonitor(_) => 9,
            Manifest::PrometheusRule(_) => 10,
        }
    }
}

/// Every object for one cluster, in apply order.
///
/// Built by [`crate::render`], or from any objects with [`Manifests::new`]; the objects can be
/// changed in place ([`Manifests::objects_mut`], [`Manifests::statefulset_mut`]) before they are
/// written, and every writer ([`Manifests::to_yaml`], [`Manifests::files`]) reads them as they
/// are then.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    objects: Vec<Manifest>,
}

impl Manifests {
    /// The objects, sorted into apply order (what others depend on first; the order within a
    /// kind is kept).
    pub fn new(mut objects: Vec<Manifest>) -> Self {
        objects.sort_by_key(Manifest::rank);
        Manifests { objects }
    }

    /// Add an object in its place in apply order.
    pub fn push(&mut self, object: Manifest) {
        let at = self.objects.partition_point(|o| o.rank() <= object.rank());
        self.objects.insert(at, object);
    }

    /// The objects, to change in place (their order is kept; [`Manifests::push`] adds one).
    pub fn objects_mut(&mut self) -> &mut [Manifest] {
        &mut self.objects
    }

    /// The StatefulSet, to change in place.
    pub fn statefulset_mut(&mut self) -> Option<&mut StatefulSet> {
        self.objects.iter_mut().find_map(|o| match o {
            Manifest::StatefulSet(s) => Some(s),
            _ => None,
        })
    }

    /// The objects, taken out.
    pub fn into_objects(self) -> Vec<Manifest> {
        self.objects
    }

    /// The name of the first object of `kind`.
    fn name_of(&self, kind: &str) -> String {
        self.of_kind(kind)
            .next()
            .map(|o| o.name().to_owned())
            .unwrap_or_default()
    }

    /// The objects, in apply order.
    pub fn objects(&self) -> &[Manifest] {
        &self.objects
    }

    /// The objects of one kind (`"ConfigMap"`, `"Service"`, …), in apply order.
    pub fn of_kind(&self, kind: &str) -> impl Iterator<Item = &Manifest> {
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    /// The mnode bootstrap Job, when there is one.
    pub fn job(&self) -> Option<&Job> {
        self.objects.iter().find_map(|o| match o {
            Manifest::Job(j) => Some(j),
            _ => None,
        })
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
        Ok(framed(&to_yaml_stream(&self.objects)?, self.objects.len()))
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
    /// (the StatefulSet), one file per other kind, and a kustomization, `Kustomization`, listing them.
    /// Every file starts with a comment line saying tdgen generated it. Two groups that would share a file name are an
    /// error (`metadata.name: kustomization` would overwrite the kustomization).
    pub fn files(&self) -> Result<Vec<(String, String)>, Error> {
        let groups = self.groups();
        let mut files: Vec<(String, String)> = Vec::new();
        let mut owners: Vec<(String, &'static str)> = Vec::new();
        for (name, group, members) in groups {
            let members: Vec<&Manifest> = members.iter().filter_map(|&i| self.objects.get(i)).collect();
            files.push((name.clone(), file_text(&name, &members)?));
            owners.push((name, group));
        }
        let kustomization = Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: files.iter().map(|(name, _)| name.clone()).collect(),
        };
        let text = yaml::to_string(&kustomization).map_err(|message| Error::Serialize {
            what: KUSTOMIZATION.into(),
            message,
        })?;
        owners.push((KUSTOMIZATION.into(), "the kustomization"));
        // kustomize refuses a directory with two of its file names.
        owners.push((LEGACY_KUSTOMIZATION.into(), "the kustomization"));
        owners.push(("kustomization.yml".into(), "the kustomization"));
        let record = dir::record(&files);
        files.push((
            KUSTOMIZATION.into(),
            format!("{}\n{record}{KUSTOMIZE_NOTES}{text}", dir::MARKER),
        ));
        for (i, (name, group)) in owners.iter().enumerate() {
            if let Some((_, other)) = owners[..i].iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(Error::FileCollision {
                    file: name.clone(),
                    first: (*other).to_owned(),
                    second: (*group).to_owned(),
                });
            }
        }
        Ok(files)
    }

    /// How [`Manifests::files`] groups the objects: each file's name, what it holds (for an
    /// error), and the indices of its objects in [`Manifests::objects`].
    pub(crate) fn groups(&self) -> Vec<(String, &'static str, Vec<usize>)> {
        let instance = self.name_of("StatefulSet");
        let service_file = format!("{}-service.yaml", self.name_of("Service"));
        let statefulset_file = format!("{instance}.yaml");
        let mut groups: Vec<(String, &'static str, Vec<usize>)> = Vec::new();
        for (index, object) in self.objects.iter().enumerate() {
            let (file, group) = match object {
                Manifest::Service(_) => (service_file.clone(), "the Services"),
                Manifest::StatefulSet(_) => (statefulset_file.clone(), "the StatefulSet"),
                other => (
                    format!("{instance}-{}.yaml", other.kind().to_ascii_lowercase()),
                    other.kind(),
                ),
            };
            match groups.iter_mut().find(|(name, _, _)| *name == file) {
                Some((_, _, members)) => members.push(index),
                None => groups.push((file, group, vec![index])),
            }
        }
        groups
    }

    /// Write [`Manifests::files`] into `dir`, created if missing: every file is written aside
    /// first and renamed into place, so a failure before the renames leaves `dir` as it was;
    /// the kustomization, which records every file's SHA-256, goes last.
    pub fn write_dir(&self, dir: &Path) -> Result<dir::Written, Error> {
        dir::write(dir, &self.files()?)
    }
}

/// The text of the `--output-dir` file `name` holding `members`.
pub(crate) fn file_text(name: &str, members: &[&Manifest]) -> Result<String, Error> {
    let text = yaml::to_stream(members).map_err(|message| Error::Serialize {
        what: name.to_owned(),
        message,
    })?;
    Ok(format!("{}\n{text}", dir::MARKER))
}

/// The last line of a rendered stream: its object count. `tdgen diff` refuses a stream that
/// starts with tdgen's marker and lacks it (a stream cut short, however it was cut).
const END: &str = "# End of the render: ";

/// A rendered stream of `count` objects between tdgen's marker line and its end line.
pub(crate) fn framed(stream: &str, count: usize) -> String {
    format!("{}\n{stream}{}", dir::MARKER, stream_end(count))
}

/// The line that ends a stream of `count` objects.
pub(crate) fn stream_end(count: usize) -> String {
    format!("{END}{count} objects.\n")
}

/// Whether a YAML stream tdgen wrote to stdout (starts with its marker) is whole: `Ok(None)`
/// when it is not such a stream, `Ok(Some(n))` with the count its end line states, `Err` when
/// the end line is missing.
pub(crate) fn stream_count(text: &str) -> Result<Option<usize>, String> {
    if !text.starts_with(&format!("{}\n", dir::MARKER)) {
        return Ok(None);
    }
    let last = text.trim_end_matches('\n').rsplit('\n').next().unwrap_or_default();
    last.strip_prefix(END)
        .and_then(|rest| rest.strip_suffix(" objects."))
        .and_then(|n| n.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            format!("it starts with tdgen's marker but does not end with tdgen's `{END}N objects.` line: the stream was cut short (or it is one file of an --output-dir: pass the directory)")
        })
}

/// Any object as one YAML document, written the way tdgen writes its manifests: YAML 1.1
/// scalars (`on`, `no`, `y`, `1_000`, `0x1F`) are quoted, so kubectl decodes them as strings.
pub fn to_yaml_string<T: Serialize>(object: &T) -> Result<String, Error> {
    yaml::to_string(object).map_err(|message| Error::Serialize {
        what: "an object".into(),
        message,
    })
}

/// Objects as a multi-document YAML stream (`---` between documents), written as
/// [`to_yaml_string`] writes one.
pub fn to_yaml_stream<T: Serialize>(objects: &[T]) -> Result<String, Error> {
    yaml::to_stream(objects).map_err(|message| Error::Serialize {
        what: "manifests".into(),
        message,
    })
}

/// What an overlay on these files may and may not do, said where overlays are written.
const KUSTOMIZE_NOTES: &str = "\
# Overlays on this base:
# - namespace: safe; each dnode reads its namespace from the pod, so its FQDN follows.
# - namePrefix / nameSuffix: break the cluster. They rename the StatefulSet and the Services, but
#   not STS_NAME and SERVICE_NAME, from which every dnode builds its FQDN. Rename the cluster in
#   the spec (metadata.name, spec.service.name) instead; `tdgen diff` detects a renamed render.
# - commonLabels / labels with includeSelectors: change the StatefulSet's selector, which
#   Kubernetes refuses to change on a running cluster. Use `labels:` without includeSelectors, or
#   metadata.labels in the spec. (DNS egress selects with matchExpressions, which they leave be.)
# - images: keep the tag equal to spec.image.tag, or version checks and `tdgen diff` go blind.
";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
}
