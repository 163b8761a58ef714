//! `tdgen diff`: every spec field has a declared class, exercised through the binary (class,
//! exit code, remedy, and every remedy command run for real); the issue's regressions; and
//! the gate failing closed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tdgen::diff::{ChangeClass, Previous, diff, read_previous};

use crate::support::{request, spec};

/// The spec every row starts from: most knobs on, so that a change to any field shows.
const BASELINE: &str = r#"
apiVersion: tdgen/v1
kind: TDengineCluster
metadata:
  name: td
  namespace: tsdb
  labels: {team: db}
  annotations: {example.com/note: x}
spec:
  image: {repository: tdengine/tdengine, tag: "3.3.6.13", pullPolicy: IfNotPresent}
  dnodes: 5
  mnodes: 3
  timezone: UTC
  clusterDomain: cluster.local
  serverPort: 6030
  service: {name: taosd}
  storage:
    data: {size: 10Gi, storageClassName: standard}
    logs: {size: 1Gi, storageClassName: standard}
    retention: {whenDeleted: Retain, whenScaled: Retain}
  probes:
    startup: {failureThreshold: 360, periodSeconds: 10, timeoutSeconds: 5}
    readiness: {initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5}
    liveness: {initialDelaySeconds: 15, periodSeconds: 20, timeoutSeconds: 5}
  podManagementPolicy: Parallel
  config: {supportVnodes: 32}
  configMode: env
  kubernetesVersion: "1.29"
  resources: {requests: {cpu: "1", memory: 2Gi}, limits: {cpu: "1", memory: 2Gi}}
  nodeSelector: {disk: ssd}
  antiAffinity: {mode: preferred}
  topologySpread: {enabled: true}
  priorityClassName: db
  terminationGracePeriodSeconds: 60
  pod: {labels: {tier: data}, annotations: {example.com/pod: x}}
  disruptionBudget: {enabled: true, maxUnavailable: 1}
  networkPolicy: {enabled: true, clients: [{podSelector: {matchLabels: {role: client}}}]}
  serviceAccount: {create: true}
  imagePullSecrets: [regcred]
  security: {profile: official-image}
  clientService: {type: ClusterIP}
  components: {adapter: {enabled: true}, keeper: {enabled: false}, explorer: {enabled: false}}
  rootPassword: {secretName: td-root, key: password}
  mnodeBootstrap: {enabled: true, waitSeconds: 600}
  backup: {schedule: "0 3 * * *", databases: [metrics], keep: 7, storage: {size: 20Gi, storageClassName: archive}, activeDeadlineSeconds: 21600}
"#;

/// What changing a field from the baseline must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The worst change has this class.
    Class(ChangeClass),
    /// The new spec is refused by validation (exit 1): there is nothing to diff.
    Invalid,
}
use Expect::{Class, Invalid};
const SAFE: Expect = Class(ChangeClass::Safe);
const UNSAFE: Expect = Class(ChangeClass::Unsafe);
const REJECTED: Expect = Class(ChangeClass::Rejected);

/// Where a row's change starts from.
#[derive(Debug, Clone, Copy)]
enum Base {
    /// The baseline.
    Baseline,
    /// The baseline with this YAML merged over it.
    Over(&'static str),
    /// Only this spec.
    Only(&'static str),
}

/// One spec field: a change (YAML merged over its base), its class, the reason, and words the
/// report must contain.
struct Row {
    path: &'static str,
    base: Base,
    change: &'static str,
    expect: Expect,
    reason: &'static str,
    says: &'static str,
}

const fn row(
    path: &'static str,
    change: &'static str,
    expect: Expect,
    reason: &'static str,
    says: &'static str,
) -> Row {
    Row {
        path,
        base: Base::Baseline,
        change,
        expect,
        reason,
        says,
    }
}

const fn on(
    path: &'static str,
    base: Base,
    change: &'static str,
    expect: Expect,
    reason: &'static str,
    says: &'static str,
) -> Row {
    Row {
        path,
        base,
        change,
        expect,
        reason,
        says,
    }
}

const ROLL: &str = "the pods roll one at a time";
const IN_PLACE: &str = "applied in place";

/// Every spec field, with its class and why.
const FIELDS: &[Row] = &[
    row(
        "apiVersion",
        "apiVersion: tdgen/v2",
        Invalid,
        "the only envelope there is",
        "unsupported apiVersion",
    ),
    row(
        "kind",
        "kind: Other",
        Invalid,
        "the only kind there is",
        "unsupported kind",
    ),
    row(
        "metadata.name",
        "metadata: {name: tsdb}",
        UNSAFE,
        "names the StatefulSet, every pod, FQDN and PVC: a new, empty cluster",
        "the cluster is renamed to tsdb",
    ),
    row(
        "metadata.namespace",
        "metadata: {namespace: other}",
        UNSAFE,
        "part of every dnode's endpoint",
        "namespace tsdb → other",
    ),
    row(
        "metadata.labels",
        "metadata: {labels: {team: ops}}",
        SAFE,
        "labels on every object, never in a selector",
        IN_PLACE,
    ),
    row(
        "metadata.annotations",
        "metadata: {annotations: {example.com/note: y}}",
        SAFE,
        "annotations change in place",
        IN_PLACE,
    ),
    on(
        "spec.preset",
        Base::Only("apiVersion: tdgen/v1\nkind: TDengineCluster\nspec: {preset: seed}"),
        "spec: {preset: ha}",
        REJECTED,
        "a layer under the file: seed → ha changes podManagementPolicy and the claim template",
        "podManagementPolicy OrderedReady → Parallel",
    ),
    row(
        "spec.image.repository",
        "spec: {image: {repository: example.com/tdengine/tdengine}}",
        SAFE,
        "a new image rolls the pods",
        ROLL,
    ),
    row(
        "spec.image.tag",
        "spec: {image: {tag: '3.3.6.14'}}",
        SAFE,
        "a Maintenance upgrade rolls the pods (a downgrade is unsafe, see below)",
        ROLL,
    ),
    row(
        "spec.image.tag",
        "spec: {image: {tag: '3.3.7.0'}}",
        UNSAFE,
        "a Feature upgrade needs every dnode stopped: `tdgen plan upgrade`",
        "changes more than the Maintenance number",
    ),
    row(
        "spec.image.tag",
        "spec: {image: {tag: '3.3.6.6'}}",
        UNSAFE,
        "a downgrade may not open newer data files",
        "is a downgrade",
    ),
    row(
        "spec.image.digest",
        "spec: {image: {digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'}}",
        SAFE,
        "pins the same tag",
        ROLL,
    ),
    row(
        "spec.image.pullPolicy",
        "spec: {image: {pullPolicy: Always}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.dnodes",
        "spec: {dnodes: 6}",
        SAFE,
        "new pods join as dnodes",
        "dnodes 5 → 6",
    ),
    row(
        "spec.dnodes",
        "spec: {dnodes: 4}",
        UNSAFE,
        "drop dnode must come first",
        "dnodes 5 → 4",
    ),
    row(
        "spec.mnodes",
        "spec: {mnodes: 1}",
        UNSAFE,
        "mnodes live in SQL",
        "mnodes 3 → 1",
    ),
    row(
        "spec.timezone",
        "spec: {timezone: Asia/Shanghai}",
        UNSAFE,
        "must match on every dnode: a rolling change is refused",
        "time zone UTC → Asia/Shanghai",
    ),
    row(
        "spec.clusterDomain",
        "spec: {clusterDomain: k.local}",
        UNSAFE,
        "part of every dnode's endpoint",
        "cluster domain cluster.local → k.local",
    ),
    row(
        "spec.serverPort",
        "spec: {serverPort: 7030}",
        UNSAFE,
        "part of every dnode's endpoint",
        "serverPort 6030 → 7030",
    ),
    row(
        "spec.service.name",
        "spec: {service: {name: peers}}",
        REJECTED,
        "serviceName is immutable, and part of every endpoint",
        "governing Service taosd → peers",
    ),
    row(
        "spec.storage.data.size",
        "spec: {storage: {data: {size: 20Gi}}}",
        REJECTED,
        "claim templates are immutable; PVCs can grow by hand",
        "size 10Gi → 20Gi",
    ),
    row(
        "spec.storage.data.storageClassName",
        "spec: {storage: {data: {storageClassName: fast}}}",
        REJECTED,
        "claim templates are immutable",
        "storageClassName standard → fast",
    ),
    row(
        "spec.storage.logs.size",
        "spec: {storage: {logs: {size: 2Gi}}}",
        REJECTED,
        "claim templates are immutable",
        "size 1Gi → 2Gi",
    ),
    row(
        "spec.storage.logs.storageClassName",
        "spec: {storage: {logs: {storageClassName: fast}}}",
        REJECTED,
        "claim templates are immutable",
        "storageClassName standard → fast",
    ),
    row(
        "spec.storage.retention.whenDeleted",
        "spec: {storage: {retention: {whenDeleted: Delete}}}",
        SAFE,
        "a mutable StatefulSet field: in place, no roll",
        "whenDeleted Retain → Delete: changed in place; the pods do not roll",
    ),
    row(
        "spec.storage.retention.whenScaled",
        "spec: {storage: {retention: {whenScaled: Delete}}}",
        SAFE,
        "a mutable StatefulSet field: in place, no roll",
        "only safe after `drop dnode`",
    ),
    row(
        "spec.probes.startup.initialDelaySeconds",
        "spec: {probes: {startup: {initialDelaySeconds: 1}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.startup.periodSeconds",
        "spec: {probes: {startup: {periodSeconds: 11}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.startup.timeoutSeconds",
        "spec: {probes: {startup: {timeoutSeconds: 6}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.startup.successThreshold",
        "spec: {probes: {startup: {successThreshold: 2}}}",
        Invalid,
        "Kubernetes accepts only 1",
        "successThreshold 1",
    ),
    row(
        "spec.probes.startup.failureThreshold",
        "spec: {probes: {startup: {failureThreshold: 400}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.startup.terminationGracePeriodSeconds",
        "spec: {probes: {startup: {terminationGracePeriodSeconds: 30}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.readiness.initialDelaySeconds",
        "spec: {probes: {readiness: {initialDelaySeconds: 6}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.readiness.periodSeconds",
        "spec: {probes: {readiness: {periodSeconds: 11}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.readiness.timeoutSeconds",
        "spec: {probes: {readiness: {timeoutSeconds: 6}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.readiness.successThreshold",
        "spec: {probes: {readiness: {successThreshold: 2}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.readiness.failureThreshold",
        "spec: {probes: {readiness: {failureThreshold: 4}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.readiness.terminationGracePeriodSeconds",
        "spec: {probes: {readiness: {terminationGracePeriodSeconds: 30}}}",
        Invalid,
        "Kubernetes refuses it on readiness probes",
        "readiness probes have no terminationGracePeriodSeconds",
    ),
    row(
        "spec.probes.liveness.initialDelaySeconds",
        "spec: {probes: {liveness: {initialDelaySeconds: 16}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.liveness.periodSeconds",
        "spec: {probes: {liveness: {periodSeconds: 21}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.liveness.timeoutSeconds",
        "spec: {probes: {liveness: {timeoutSeconds: 6}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.liveness.successThreshold",
        "spec: {probes: {liveness: {successThreshold: 2}}}",
        Invalid,
        "Kubernetes accepts only 1",
        "successThreshold 1",
    ),
    row(
        "spec.probes.liveness.failureThreshold",
        "spec: {probes: {liveness: {failureThreshold: 4}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.probes.liveness.terminationGracePeriodSeconds",
        "spec: {probes: {liveness: {terminationGracePeriodSeconds: 30}}}",
        SAFE,
        "probe timing",
        ROLL,
    ),
    row(
        "spec.podManagementPolicy",
        "spec: {podManagementPolicy: OrderedReady}",
        REJECTED,
        "immutable",
        "podManagementPolicy Parallel → OrderedReady",
    ),
    row(
        "spec.config",
        "spec: {config: {supportVnodes: 64}}",
        UNSAFE,
        "taosd 3.3.5.0+ keeps the values it started with",
        "taos.cfg supportVnodes 32 → 64",
    ),
    on(
        "spec.config",
        Base::Over("spec: {image: {tag: '3.0.7.1'}, rootPassword: null}"),
        "spec: {config: {supportVnodes: 64}}",
        SAFE,
        "before 3.3.5.0 a restart reads the new value",
        "the pods roll and read it",
    ),
    row(
        "spec.config",
        "spec: {config: {statusInterval: 2}}",
        UNSAFE,
        "cluster-wide: must match on every dnode",
        "must match on every dnode",
    ),
    row(
        "spec.configMode",
        "spec: {configMode: file}",
        SAFE,
        "the delivery changes, the values do not",
        ROLL,
    ),
    row(
        "spec.kubernetesVersion",
        "spec: {kubernetesVersion: '1.26'}",
        SAFE,
        "fields the older API server drops are left out, in place",
        "whenDeleted Retain → unset",
    ),
    row(
        "spec.resources.requests",
        "spec: {resources: {requests: {memory: 1Gi}}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.resources.limits",
        "spec: {resources: {limits: {memory: 4Gi}}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.nodeSelector",
        "spec: {nodeSelector: {disk: nvme}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.tolerations",
        "spec: {tolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}]}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.affinity",
        "spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.antiAffinity.mode",
        "spec: {antiAffinity: {mode: required}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.antiAffinity.topologyKey",
        "spec: {antiAffinity: {topologyKey: topology.kubernetes.io/zone}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.antiAffinity.weight",
        "spec: {antiAffinity: {weight: 50}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.topologySpread.enabled",
        "spec: {topologySpread: {enabled: false}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.topologySpread.topologyKey",
        "spec: {topologySpread: {topologyKey: example.com/rack}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.topologySpread.maxSkew",
        "spec: {topologySpread: {maxSkew: 2}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.topologySpread.whenUnsatisfiable",
        "spec: {topologySpread: {whenUnsatisfiable: DoNotSchedule}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.priorityClassName",
        "spec: {priorityClassName: db-critical}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.terminationGracePeriodSeconds",
        "spec: {terminationGracePeriodSeconds: 120}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.pod.labels",
        "spec: {pod: {labels: {tier: hot}}}",
        SAFE,
        "pod labels, never in the selector",
        ROLL,
    ),
    row(
        "spec.pod.annotations",
        "spec: {pod: {annotations: {example.com/pod: y}}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.disruptionBudget.enabled",
        "spec: {disruptionBudget: {enabled: false}}",
        SAFE,
        "the budget goes; nothing else",
        "no longer rendered",
    ),
    row(
        "spec.disruptionBudget.maxUnavailable",
        "spec: {disruptionBudget: {maxUnavailable: 2}}",
        SAFE,
        "policy/v1 budgets change in place",
        IN_PLACE,
    ),
    row(
        "spec.disruptionBudget.unhealthyPodEvictionPolicy",
        "spec: {disruptionBudget: {unhealthyPodEvictionPolicy: IfHealthyBudget}}",
        SAFE,
        "policy/v1 budgets change in place",
        IN_PLACE,
    ),
    row(
        "spec.networkPolicy.enabled",
        "spec: {networkPolicy: {enabled: false}}",
        SAFE,
        "the policies go; nothing else",
        "no longer rendered",
    ),
    row(
        "spec.networkPolicy.clients",
        "spec: {networkPolicy: {clients: [{podSelector: {matchLabels: {role: ingest}}}]}}",
        SAFE,
        "policies change in place",
        IN_PLACE,
    ),
    row(
        "spec.networkPolicy.dns.to",
        "spec: {networkPolicy: {dns: {to: [{ipBlock: {cidr: 169.254.20.10/32}}]}}}",
        SAFE,
        "policies change in place",
        IN_PLACE,
    ),
    row(
        "spec.networkPolicy.dns.ports",
        "spec: {networkPolicy: {dns: {ports: [{port: 5353, protocol: UDP}]}}}",
        SAFE,
        "policies change in place",
        IN_PLACE,
    ),
    row(
        "spec.serviceAccount.create",
        "spec: {serviceAccount: {create: false}}",
        SAFE,
        "the pods use the namespace's default account",
        "no longer rendered",
    ),
    row(
        "spec.serviceAccount.name",
        "spec: {serviceAccount: {name: tdengine-sa}}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.imagePullSecrets",
        "spec: {imagePullSecrets: [other]}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.security.profile",
        "spec: {security: {profile: hardened}}",
        UNSAFE,
        "the data volume's files belong to the old user",
        "taosd would run as uid 10001 instead of root",
    ),
    on(
        "spec.security.runAsUser",
        Base::Over("spec: {security: {profile: hardened}}"),
        "spec: {security: {runAsUser: 2000}}",
        UNSAFE,
        "the data volume's files belong to the old user",
        "uid 2000 instead of uid 10001",
    ),
    row(
        "spec.clientService.enabled",
        "spec: {clientService: {enabled: false}}",
        SAFE,
        "clients lose the Service; the dnodes do not",
        "no longer rendered",
    ),
    row(
        "spec.clientService.type",
        "spec: {clientService: {type: LoadBalancer}}",
        SAFE,
        "a Service type changes in place",
        IN_PLACE,
    ),
    row(
        "spec.clientService.annotations",
        "spec: {clientService: {annotations: {example.com/lb: internal}}}",
        SAFE,
        "annotations change in place",
        IN_PLACE,
    ),
    on(
        "spec.clientService.loadBalancerSourceRanges",
        Base::Over("spec: {clientService: {type: LoadBalancer}}"),
        "spec: {clientService: {loadBalancerSourceRanges: [10.0.0.0/8]}}",
        SAFE,
        "changes in place",
        IN_PLACE,
    ),
    on(
        "spec.clientService.externalTrafficPolicy",
        Base::Over("spec: {clientService: {type: LoadBalancer}}"),
        "spec: {clientService: {externalTrafficPolicy: Local}}",
        SAFE,
        "changes in place",
        IN_PLACE,
    ),
    row(
        "spec.components.adapter.enabled",
        "spec: {components: {adapter: {enabled: false}}}",
        SAFE,
        "a pod template field; ports follow",
        ROLL,
    ),
    row(
        "spec.components.keeper.enabled",
        "spec: {components: {keeper: {enabled: true}}}",
        SAFE,
        "a pod template field; ports follow",
        ROLL,
    ),
    row(
        "spec.components.explorer.enabled",
        "spec: {components: {explorer: {enabled: true}}}",
        SAFE,
        "a pod template field; ports follow",
        ROLL,
    ),
    row(
        "spec.rootPassword.secretName",
        "spec: {rootPassword: {secretName: other-root}}",
        UNSAFE,
        "taosd keeps its password; the probes would use the new one",
        "root password Secret td-root key password → Secret other-root key password",
    ),
    row(
        "spec.rootPassword.key",
        "spec: {rootPassword: {key: root}}",
        UNSAFE,
        "taosd keeps its password; the probes would use the new one",
        "→ Secret td-root key root",
    ),
    row(
        "spec.mnodeBootstrap.enabled",
        "spec: {mnodeBootstrap: {enabled: false}}",
        SAFE,
        "the Job goes; mnodes stay",
        "no longer rendered",
    ),
    row(
        "spec.mnodeBootstrap.waitSeconds",
        "spec: {mnodeBootstrap: {waitSeconds: 900}}",
        SAFE,
        "a new Job, named after its content, replaces the old one",
        "bootstrap Jobs are named after their content",
    ),
    row(
        "spec.backup.schedule",
        "spec: {backup: {schedule: '30 1 * * *'}}",
        SAFE,
        "the CronJob changes in place",
        IN_PLACE,
    ),
    row(
        "spec.backup.databases",
        "spec: {backup: {databases: [metrics, events]}}",
        SAFE,
        "the next run's script dumps them",
        IN_PLACE,
    ),
    row(
        "spec.backup.keep",
        "spec: {backup: {keep: 3}}",
        SAFE,
        "the next run keeps fewer",
        IN_PLACE,
    ),
    row(
        "spec.backup.storage.size",
        "spec: {backup: {storage: {size: 40Gi}}}",
        SAFE,
        "a PVC may grow",
        "the backup volume grows",
    ),
    on(
        "spec.backup.storage.size",
        Base::Baseline,
        "spec: {backup: {storage: {size: 10Gi}}}",
        REJECTED,
        "a PVC never shrinks",
        "can not be less than previous value",
    ),
    row(
        "spec.backup.storage.storageClassName",
        "spec: {backup: {storage: {storageClassName: cold}}}",
        REJECTED,
        "a bound PVC's class is immutable",
        "spec is immutable after creation",
    ),
    row(
        "spec.backup.activeDeadlineSeconds",
        "spec: {backup: {activeDeadlineSeconds: 3600}}",
        SAFE,
        "the CronJob changes in place",
        IN_PLACE,
    ),
    row(
        "spec.extraEnv",
        "spec: {extraEnv: [{name: HTTP_PROXY, value: 'http://proxy:3128'}]}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    row(
        "spec.extraVolumes",
        "spec: {extraVolumes: [{name: scratch, emptyDir: {}}]}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
    on(
        "spec.extraVolumeMounts",
        Base::Over("spec: {extraVolumes: [{name: scratch, emptyDir: {}}]}"),
        "spec: {extraVolumeMounts: [{name: scratch, mountPath: /scratch}]}",
        SAFE,
        "a pod template field",
        ROLL,
    ),
];

/// Every field the JSON Schema has: tdgen's own types are walked, Kubernetes types, maps and
/// lists are fields as a whole.
fn schema_fields() -> BTreeSet<String> {
    let schema = serde_json::to_value(tdgen::json_schema()).expect("schema");
    let defs = schema["$defs"].clone();
    let resolve = |mut node: Value| -> Option<Value> {
        loop {
            if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
                let name = reference.rsplit('/').next().unwrap_or_default();
                if name.starts_with("io.k8s") {
                    return None;
                }
                node = defs[name].clone();
            } else if let Some(variants) = node.get("anyOf").and_then(Value::as_array) {
                node = variants.iter().find(|v| v["type"] != "null")?.clone();
            } else {
                return Some(node);
            }
        }
    };
    fn walk(node: Value, path: String, resolve: &dyn Fn(Value) -> Option<Value>, out: &mut BTreeSet<String>) {
        match resolve(node).and_then(|n| n.get("properties").cloned()) {
            Some(Value::Object(properties)) => {
                for (key, child) in properties {
                    let child_path = if path.is_empty() { key } else { format!("{path}.{key}") };
                    walk(child, child_path, resolve, out);
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(schema, String::new(), &resolve, &mut out);
    out
}

#[test]
fn every_spec_field_has_a_row_and_every_row_a_field() {
    let fields = schema_fields();
    let rows: BTreeSet<String> = FIELDS.iter().map(|r| r.path.to_owned()).collect();
    let missing: Vec<&String> = fields.difference(&rows).collect();
    let stale: Vec<&String> = rows.difference(&fields).collect();
    assert!(missing.is_empty(), "spec fields without a diff class: {missing:?}");
    assert!(stale.is_empty(), "rows for fields the spec no longer has: {stale:?}");
    assert!(FIELDS.iter().all(|r| !r.reason.is_empty()));
}

/// Merge YAML `over` into YAML `base` (maps key by key, everything else replaced; null removes).
fn merged(base: &str, over: &str) -> String {
    fn merge(base: &mut Value, over: Value) {
        match (base, over) {
            (Value::Object(base), Value::Object(over)) => {
                for (key, value) in over {
                    if value.is_null() {
                        base.remove(&key);
                    } else {
                        merge(base.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
            (base, over) => *base = over,
        }
    }
    let mut value: Value = serde_saphyr::from_str(base).expect("base YAML");
    merge(&mut value, serde_saphyr::from_str(over).expect("overlay YAML"));
    serde_json::to_string(&value).expect("JSON is YAML")
}

fn tdgen(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tdgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tdgen runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tdgen-diffs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run a remedy command exactly as printed, with the built tdgen first on PATH.
fn run_remedy(command: &str, dir: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_tdgen")).parent().expect("bin dir");
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .output()
        .expect("sh runs")
}

/// Run a remedy command as printed. A runbook must be written (exit 0); a `tdgen diff` that
/// keeps the old value must no longer show the change it remedies as blocking.
fn remedy_fails(line: &str, change: &Value, dir: &Path) -> Option<String> {
    let ran = run_remedy(line, dir);
    let output = format!("{}{}", text(&ran.stdout), text(&ran.stderr));
    if !line.starts_with("tdgen diff ") {
        return (ran.status.code() != Some(0))
            .then(|| format!("remedy `{line}` exits {:?}: {output}", ran.status.code()));
    }
    let same = format!(
        "{} {}:",
        change["object"].as_str().unwrap_or_default(),
        change["field"].as_str().unwrap_or_default()
    );
    let still = text(&ran.stdout)
        .lines()
        .any(|l| (l.starts_with("rejected") || l.starts_with("unsafe")) && l.contains(&same));
    let ok = matches!(ran.status.code(), Some(0 | 3)) && !still;
    (!ok).then(|| {
        format!(
            "remedy `{line}` does not remove `{same}` (exit {:?}): {output}",
            ran.status.code()
        )
    })
}

#[test]
fn every_field_change_has_its_class_exit_code_and_working_remedies() {
    let dir = scratch("fields");
    let mut failures = Vec::new();
    for (i, row) in FIELDS.iter().enumerate() {
        let case = dir.join(format!("{i}"));
        std::fs::create_dir_all(&case).expect("case dir");
        let base = match row.base {
            Base::Baseline => BASELINE.to_owned(),
            Base::Over(over) => merged(BASELINE, over),
            Base::Only(spec) => spec.to_owned(),
        };
        std::fs::write(case.join("old.yaml"), &base).expect("old spec");
        std::fs::write(case.join("new.yaml"), merged(&base, row.change)).expect("new spec");
        let render = tdgen(&["render", "-f", "old.yaml", "--output-dir", "previous"], &case);
        assert_eq!(
            render.status.code(),
            Some(0),
            "{}: the base renders: {}",
            row.path,
            text(&render.stderr)
        );
        let out = tdgen(
            &["diff", "--previous", "previous", "-f", "new.yaml", "--format", "json"],
            &case,
        );
        let stdout = text(&out.stdout);
        let outcome = match row.expect {
            Invalid => {
                let said = format!("{stdout}{}", text(&out.stderr));
                if out.status.code() != Some(1) || !said.contains(row.says) {
                    failures.push(format!(
                        "{}: expected invalid with {:?}, got {:?}: {said}",
                        row.path,
                        row.says,
                        out.status.code()
                    ));
                }
                continue;
            }
            Class(class) => class,
        };
        let report: Value = match serde_json::from_str(&stdout) {
            Ok(report) => report,
            Err(e) => {
                failures.push(format!(
                    "{}: no JSON report ({e}): {stdout}{}",
                    row.path,
                    text(&out.stderr)
                ));
                continue;
            }
        };
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        let worst = changes
            .iter()
            .filter_map(|c| c["class"].as_str())
            .map(|c| match c {
                "rejected" => ChangeClass::Rejected,
                "unsafe" => ChangeClass::Unsafe,
                _ => ChangeClass::Safe,
            })
            .min();
        let expected_exit = if outcome == ChangeClass::Safe { 0 } else { 3 };
        if worst != Some(outcome) || out.status.code() != Some(expected_exit) {
            failures.push(format!(
                "{}: expected {outcome:?} (exit {expected_exit}), got {worst:?} (exit {:?}):\n{stdout}",
                row.path,
                out.status.code()
            ));
            continue;
        }
        if !stdout.contains(row.says) {
            failures.push(format!(
                "{}: the report does not say {:?}:\n{stdout}",
                row.path, row.says
            ));
        }
        for change in changes.iter().filter(|c| c["class"] != "safe") {
            if change["remedy"].as_str().is_none_or(str::is_empty) {
                failures.push(format!("{}: a blocking change without a remedy: {change}", row.path));
            }
        }
        for change in &changes {
            for command in change["commands"].as_array().into_iter().flatten() {
                let line = command["text"].as_str().unwrap_or_default();
                if let Some(failure) = remedy_fails(line, change, &case) {
                    failures.push(format!("{}: {failure}", row.path));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} row(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The library path: render `old`, read it back, diff against `new`.
fn report(old: &str, new: &str) -> tdgen::diff::DiffReport {
    let render = |spec: &str| {
        let checked = tdgen::check(&request(spec)).expect("valid");
        tdgen::render(&checked.valid)
    };
    let objects: Vec<Value> = serde_saphyr::from_multiple(&render(old).to_yaml().expect("yaml")).expect("stream");
    let previous = Previous::from_objects(objects, false).expect("a tdgen render");
    let checked = tdgen::check(&request(new)).expect("valid");
    diff(&previous, &checked.valid)
}

fn change<'a>(report: &'a tdgen::diff::DiffReport, field: &str) -> &'a tdgen::diff::Change {
    report
        .changes
        .iter()
        .find(|c| c.field == field)
        .unwrap_or_else(|| panic!("no change of {field}: {report:#?}"))
}

#[test]
fn a_renamed_cluster_is_blocking_and_its_old_objects_are_not_safe_to_prune() {
    let old = "metadata: {name: tdengine}\nspec: {dnodes: 3}\n";
    let report = report(old, "metadata: {name: tsdb}\nspec: {dnodes: 3}\n");
    assert!(report.is_blocking());
    assert_eq!(change(&report, "metadata.name").class, ChangeClass::Unsafe);
    let sts = report
        .changes
        .iter()
        .find(|c| c.object == "StatefulSet/tdengine" && c.field.is_empty())
        .expect("removed StatefulSet");
    assert_eq!(sts.class, ChangeClass::Unsafe, "removing a StatefulSet is never safe");
    let governing = report
        .changes
        .iter()
        .find(|c| c.object == "Service/taosd" && c.field.is_empty())
        .expect("the old governing Service");
    assert_eq!(
        governing.class,
        ChangeClass::Unsafe,
        "pruning it removes the dnodes' DNS names"
    );
}

#[test]
fn a_service_re_pointed_to_other_pods_is_unsafe() {
    let old = "metadata: {name: tdengine}\nspec: {dnodes: 3, service: {name: peers}}\n";
    let report = report(
        old,
        "metadata: {name: tsdb}\nspec: {dnodes: 3, service: {name: peers}}\n",
    );
    let selector = report
        .changes
        .iter()
        .find(|c| c.object == "Service/peers" && c.field == "spec.selector")
        .expect("re-pointed Service");
    assert_eq!(selector.class, ChangeClass::Unsafe);
    assert!(
        selector.message.contains("the running dnodes lose their DNS names"),
        "{}",
        selector.message
    );
}

#[test]
fn a_new_port_changes_every_endpoint_even_though_the_first_ep_text_does_not() {
    let old = "spec: {dnodes: 3}\n";
    let report = report(old, "spec: {dnodes: 3, serverPort: 7030}\n");
    let port = change(&report, "env TAOS_SERVER_PORT");
    assert_eq!(port.class, ChangeClass::Unsafe);
    assert!(
        port.message
            .contains("tdengine-0.taosd.<namespace>.svc.cluster.local:7030"),
        "{}",
        port.message
    );
}

#[test]
fn an_image_bump_replaces_the_bootstrap_job_instead_of_updating_it() {
    let old = "spec: {dnodes: 3, image: {tag: '3.3.6.13'}}\n";
    let report = report(old, "spec: {dnodes: 3, image: {tag: '3.3.6.14'}}\n");
    assert!(!report.is_blocking(), "{report:#?}");
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.object.starts_with("Job/") && c.message.contains("replaced by Job/"))
    );
    assert!(
        !report
            .changes
            .iter()
            .any(|c| c.object.starts_with("Job/") && c.field.contains("template"))
    );
}

#[test]
fn a_changed_password_reference_names_the_order_to_follow() {
    let old = "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: a}}\n";
    let report = report(
        old,
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: b}}\n",
    );
    let password = change(&report, "root password reference");
    assert_eq!(password.class, ChangeClass::Unsafe);
    assert!(
        password
            .remedy
            .as_deref()
            .unwrap_or_default()
            .contains("tdgen plan password --secret")
    );
    let plan = &password.commands[0];
    assert_eq!(plan.subcommand, ["plan", "password"]);
    assert_eq!(
        plan.args,
        [
            "--set",
            "spec.rootPassword.secretName=a",
            "--set",
            "spec.rootPassword.key=password",
            "--secret",
            "b:password"
        ],
        "the spec as it was, and the new Secret"
    );
    let added = report.changes.len();
    assert!(added > 0);
    let none = report_from_none();
    assert_eq!(
        change(&none, "root password reference").class,
        ChangeClass::Unsafe,
        "adding one is unsafe too"
    );
}

fn report_from_none() -> tdgen::diff::DiffReport {
    report(
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}}\n",
        "spec: {dnodes: 3, image: {tag: '3.3.6.13'}, rootPassword: {secretName: b}}\n",
    )
}

#[test]
fn storage_changes_say_what_changed() {
    let old = "spec: {dnodes: 3, storage: {data: {size: 5Gi, storageClassName: standard}}}\n";
    let class = report(
        old,
        "spec: {dnodes: 3, storage: {data: {size: 5Gi, storageClassName: fast}}}\n",
    );
    let message = &change(&class, "spec.volumeClaimTemplates[taosdata].storageClassName").message;
    assert!(message.contains("storageClassName standard → fast"), "{message}");
    let retention = report(
        old,
        "spec: {dnodes: 3, storage: {data: {size: 5Gi, storageClassName: standard}, retention: {whenDeleted: Delete}}}\n",
    );
    let message = &change(&retention, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted").message;
    assert!(message.contains("the pods do not roll"), "{message}");
    assert!(
        !retention
            .changes
            .iter()
            .any(|c| c.message.contains("pods roll one at a time"))
    );
}

#[test]
fn scaling_three_to_one_with_three_mnodes_lowers_the_mnodes_first() {
    let dir = scratch("three-to-one");
    std::fs::write(dir.join("old.yaml"), spec("spec: {dnodes: 3, mnodes: 3}\n")).expect("old");
    std::fs::write(dir.join("new.yaml"), spec("spec: {dnodes: 1, mnodes: 1}\n")).expect("new");
    assert_eq!(
        tdgen(&["render", "-f", "old.yaml", "--output-dir", "previous"], &dir)
            .status
            .code(),
        Some(0)
    );
    let out = tdgen(&["diff", "--previous", "previous", "-f", "new.yaml"], &dir);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    let runs: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run:"))
        .map(str::trim)
        .collect();
    assert_eq!(
        runs,
        [
            "tdgen plan mnodes -f new.yaml --set spec.dnodes=3 --set spec.mnodes=1",
            "tdgen plan scale -f new.yaml --set spec.dnodes=3 --set spec.mnodes=1 --to 1",
        ],
        "{stdout}"
    );
    for run in runs {
        let ran = run_remedy(run, &dir);
        assert_eq!(ran.status.code(), Some(0), "{run}: {}", text(&ran.stderr));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_gate_fails_closed() {
    let dir = scratch("closed");
    std::fs::write(dir.join("empty.yaml"), "").expect("empty");
    std::fs::write(dir.join("comments.yaml"), "# nothing\n").expect("comments");
    std::fs::write(
        dir.join("foreign.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .expect("foreign");
    std::fs::write(dir.join("broken.yaml"), "a: [\n").expect("broken");
    std::fs::create_dir_all(dir.join("emptydir")).expect("dir");
    for previous in [
        "/dev/null",
        "empty.yaml",
        "comments.yaml",
        "foreign.yaml",
        "broken.yaml",
        "emptydir",
        "missing.yaml",
    ] {
        let out = tdgen(&["diff", "--previous", previous], &dir);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{previous}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{previous}: nothing on stdout");
        assert!(
            text(&out.stderr).contains(previous.trim_start_matches("/dev/")),
            "{previous}: {}",
            text(&out.stderr)
        );
    }
    for previous in ["/dev/null", "empty.yaml", "foreign.yaml", "emptydir", "missing.yaml"] {
        let out = tdgen(&["diff", "--previous", previous, "--allow-new"], &dir);
        assert_eq!(
            out.status.code(),
            Some(0),
            "--allow-new {previous}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("new object"));
    }
    let out = tdgen(&["diff", "--previous", "broken.yaml", "--allow-new"], &dir);
    assert_eq!(out.status.code(), Some(2), "an unreadable file stays an error");
    assert!(matches!(
        read_previous(Path::new("/dev/null"), false),
        Err(tdgen::Error::Previous { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unchanged_renders_are_empty_and_read_from_streams_lists_and_directories() {
    let spec = "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 5, image: {tag: '3.3.6.13'}, config: {supportVnodes: 16}}\n";
    let checked = tdgen::check(&request(spec)).expect("valid");
    let manifests = tdgen::render(&checked.valid);
    let dir = scratch("forms");
    manifests.write_dir(&dir.join("tree")).expect("dir");
    std::fs::write(dir.join("all.yaml"), manifests.to_yaml().expect("yaml")).expect("yaml");
    std::fs::write(dir.join("all.json"), manifests.to_json().expect("json")).expect("json");
    for form in ["all.yaml", "all.json", "tree"] {
        let previous = read_previous(&dir.join(form), false).expect("readable");
        assert_eq!(previous.objects().len(), manifests.objects().len(), "{form}");
        let report = diff(&previous, &checked.valid);
        assert!(report.changes.is_empty(), "{form}: {report:#?}");
        assert!(!report.is_blocking());
        assert_eq!(report.render(&Default::default()), "no changes\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_docs_clusterip_service_cannot_become_headless_in_place() {
    let spec = "spec: {dnodes: 3}\n";
    let checked = tdgen::check(&request(spec)).expect("valid");
    let yaml = tdgen::render(&checked.valid).to_yaml().expect("yaml");
    let mut objects: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("stream");
    for object in &mut objects {
        if object["kind"] == "Service" && object["metadata"]["name"] == "taosd" {
            object["spec"].as_object_mut().expect("spec").remove("clusterIP");
        }
    }
    let report = diff(
        &Previous::from_objects(objects, false).expect("previous"),
        &checked.valid,
    );
    let clusterip = change(&report, "spec.clusterIP");
    assert_eq!(clusterip.class, ChangeClass::Rejected);
    assert!(
        clusterip
            .remedy
            .as_deref()
            .unwrap_or_default()
            .starts_with("kubectl delete service taosd")
    );
}

#[test]
fn a_render_renamed_by_kustomize_is_named_as_such() {
    // What `namePrefix: x-` does to a render (checked with the real kustomize in
    // scripts/conformance): objects renamed, the pods' variables not.
    let spec_text = "spec: {dnodes: 3}\n";
    let checked = tdgen::check(&request(spec_text)).expect("valid");
    let text = tdgen::render(&checked.valid).to_yaml().expect("yaml");
    let mut objects: Vec<Value> = serde_saphyr::from_multiple(&text).expect("stream");
    for object in &mut objects {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        object["metadata"]["name"] = format!("x-{name}").into();
        if object["kind"] == "StatefulSet" {
            object["spec"]["serviceName"] = "x-taosd".into();
        }
    }
    let previous = Previous::from_objects(objects, false).expect("a render");
    let renamed_report = diff(&previous, &checked.valid);
    let renamed = change(&renamed_report, "env STS_NAME");
    assert_eq!(renamed.class, ChangeClass::Unsafe);
    assert!(renamed.message.contains("namePrefix"), "{}", renamed.message);
    assert!(renamed.message.contains("tdengine-0.taosd"), "{}", renamed.message);
    let untouched = report("spec: {dnodes: 3}\n", "spec: {dnodes: 3}\n");
    assert!(
        untouched.changes.iter().all(|c| c.field != "env STS_NAME"),
        "a plain render is not flagged"
    );
}
