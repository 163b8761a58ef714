//! Rules for the production deployment knobs, resolved into [`Deploy`]; the pod's placement,
//! its access and its container have files of their own.

use std::collections::BTreeMap;

use super::Validator;
use super::names::dns_subdomain;
use crate::model::{BackupSettings, DEFAULT_KUBERNETES, Deploy, MAX_KUBERNETES, MIN_KUBERNETES, defaults};
use crate::quantity::Quantity;
use crate::source::join_path;
use crate::spec::{self, AntiAffinityMode, ClusterSpec, ConfigMode, SecurityProfile};
use crate::suggest::did_you_mean;
use crate::tdengine::{self, MAX_MNODES, version::Version};

/// The longest CronJob name (Kubernetes docs, "CronJob": at most 52 characters, because the
/// controller appends 11 to name each Job, and a Job name may have 63).
const MAX_CRONJOB_NAME_LEN: usize = 52;

/// The node label that tells nodes apart, for one dnode per node.
const HOSTNAME_KEY: &str = "kubernetes.io/hostname";

impl Validator {
    /// Resolve and check every production knob, in the spec's order (findings keep it).
    pub(super) fn deploy(
        &mut self,
        c: &ClusterSpec,
        name: &str,
        dnodes: u32,
        mnodes: u32,
        version: Option<Version>,
    ) -> Deploy {
        let kubernetes_minor = self.kubernetes_version(c.kubernetes_version.as_deref());
        let (requests, limits) = self.resources(c.resources.clone().unwrap_or_default());
        let anti = c.anti_affinity.clone().unwrap_or_default();
        let pod = c.pod.clone().unwrap_or_default();
        let security = c.security.clone().unwrap_or_default();
        let storage = c.storage.clone().unwrap_or_default();
        let [adapter, keeper, explorer] = components_enabled(c);
        let deploy = Deploy {
            kubernetes_minor,
            config_mode: c.config_mode.unwrap_or(ConfigMode::Env),
            requests,
            limits,
            node_selector: self.label_map("spec.nodeSelector", c.node_selector.clone().unwrap_or_default(), false),
            tolerations: self.tolerations(c.tolerations.clone().unwrap_or_default()),
            affinity: c.affinity.clone(),
            anti_affinity: anti.mode.unwrap_or(AntiAffinityMode::Preferred),
            anti_affinity_topology_key: self.topology_key(
                "spec.antiAffinity.topologyKey",
                anti.topology_key,
                HOSTNAME_KEY,
            ),
            anti_affinity_weight: self.bounded("spec.antiAffinity.weight", anti.weight, 100, 1, 100),
            topology_spread: self.topology_spread(c.topology_spread.clone().unwrap_or_default()),
            priority_class_name: self.subdomain_opt("spec.priorityClassName", c.priority_class_name.clone()),
            termination_grace_period_seconds: self.grace_period(c.termination_grace_period_seconds),
            pod_labels: self.label_map("spec.pod.labels", pod.labels.unwrap_or_default(), true),
            pod_annotations: self.annotation_map("spec.pod.annotations", pod.annotations.unwrap_or_default()),
            disruption_budget: self.disruption_budget(
                c.disruption_budget.clone().unwrap_or_default(),
                dnodes,
                kubernetes_minor,
            ),
            network_policy: self.network_policy(c.network_policy.clone().unwrap_or_default()),
            service_account: self.service_account(c.service_account.clone().unwrap_or_default(), name),
            image_pull_secrets: self.names_list(
                "spec.imagePullSecrets",
                c.image_pull_secrets.clone().unwrap_or_default(),
            ),
            security_profile: security.profile.unwrap_or(SecurityProfile::OfficialImage),
            run_as_user: self
                .bounded(
                    "spec.security.runAsUser",
                    security.run_as_user,
                    10001,
                    1,
                    i64::from(i32::MAX),
                )
                .into(),
            client_service: self.client_service(c.client_service.clone().unwrap_or_default()),
            adapter,
            keeper,
            explorer,
            logs: self.log_volume(storage.logs),
            retention: self.retention(storage.retention.unwrap_or_default(), kubernetes_minor),
            root_password: self.root_password(c.root_password.clone(), version),
            mnode_bootstrap: self.mnode_bootstrap(c.mnode_bootstrap.clone().unwrap_or_default(), mnodes),
            backup: c.backup.clone().and_then(|backup| self.backup(backup, c, name, dnodes)),
            monitoring: None,
            extra_env: self.extra_env(
                c.extra_env.clone().unwrap_or_default(),
                super::container::config_variables(c),
            ),
            extra_volumes: c.extra_volumes.clone().unwrap_or_default(),
            extra_volume_mounts: c.extra_volume_mounts.clone().unwrap_or_default(),
            probe_modes: version.is_some_and(|v| tdengine::PROBE_MODE_CHECKS.in_version(v)),
        };
        self.volumes(&deploy);
        deploy
    }

    fn kubernetes_version(&mut self, text: Option<&str>) -> u32 {
        let Some(text) = text else { return DEFAULT_KUBERNETES };
        let minor = text
            .trim_start_matches('v')
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok());
        match minor {
            Some(m) if (MIN_KUBERNETES..=MAX_KUBERNETES).contains(&m) => m,
            _ => {
                self.error("kubernetes-version", "spec.kubernetesVersion", format!("`{text}` is not a Kubernetes version tdgen renders for"), format!("write `1.{MIN_KUBERNETES}` to `1.{MAX_KUBERNETES}`: the oldest API server the manifests must apply to"));
                DEFAULT_KUBERNETES
            }
        }
    }

    /// Requests and limits: known resources, canonical quantities, no request above its limit.
    fn resources(&mut self, resources: spec::Resources) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let requests = self.resource_map("requests", resources.requests.unwrap_or_default());
        let limits = self.resource_map("limits", resources.limits.unwrap_or_default());
        for (resource, (limit, limit_value)) in &limits {
            if let Some((request, request_value)) = requests.get(resource)
                && request_value > limit_value
            {
                self.error(
                    "request-exceeds-limit",
                    &join_path("spec.resources.requests", resource),
                    format!("the {resource} request {request} exceeds its limit {limit}"),
                    "Kubernetes rejects the pod; raise the limit or lower the request",
                );
            }
        }
        // Limits for both CPU and memory size the pods; requests below them (a preset's, kept
        // when only the limits were changed) make them Burstable, evicted first under pressure.
        let sized = ["cpu", "memory"].iter().all(|r| limits.contains_key(*r));
        let below: Vec<String> = ["cpu", "memory"]
            .iter()
            // A resource without a request gets its limit as the request (Kubernetes' default).
            .filter_map(|r| {
                let (request, value) = requests.get(*r)?;
                let (limit, bound) = limits.get(*r)?;
                (value != bound).then(|| format!("{r} {request} < {limit}"))
            })
            .collect();
        if sized && !below.is_empty() {
            self.note(
                "qos-burstable",
                "spec.resources",
                format!(
                    "the dnodes get the Burstable QoS class, not Guaranteed: their requests are below their limits ({})",
                    below.join(", ")
                ),
                "set spec.resources.requests equal to the limits for Guaranteed (the kubelet evicts Burstable pods first under memory pressure); a preset's requests stay when only the limits are set",
            );
        }
        let strip = |m: BTreeMap<String, (String, i128)>| m.into_iter().map(|(k, (v, _))| (k, v)).collect();
        (strip(requests), strip(limits))
    }

    /// One of `spec.resources.{requests,limits}`: each value canonical, with its milli-units.
    fn resource_map(&mut self, which: &str, map: BTreeMap<String, String>) -> BTreeMap<String, (String, i128)> {
        let mut out = BTreeMap::new();
        for (resource, text) in map {
            let path = join_path(&format!("spec.resources.{which}"), &resource);
            if !["cpu", "memory", "ephemeral-storage"].contains(&resource.as_str())
                && !resource.starts_with("hugepages-")
            {
                self.error(
                    "unknown-resource",
                    &path,
                    format!("`{resource}` is not a container resource"),
                    "use `cpu`, `memory`, `ephemeral-storage` or `hugepages-<size>`",
                );
                continue;
            }
            match Quantity::parse(&text) {
                Ok(q) => {
                    let spelled = q.canonical();
                    if spelled != text {
                        self.warn("non-canonical-quantity", &path, format!("`{text}` is not the canonical spelling of this quantity"), format!("write `{spelled}`: the API server stores `{spelled}`, so GitOps tools would show a permanent diff (tdgen renders `{spelled}`)"));
                    }
                    out.insert(resource, (spelled, q.milli_units()));
                }
                Err(e) => self.error(
                    "invalid-quantity",
                    &path,
                    e.to_string(),
                    "use a quantity such as `500m` or `2` for cpu, `8Gi` for memory",
                ),
            }
        }
        out
    }

    pub(super) fn bounded(&mut self, path: &str, value: Option<i64>, default: i64, min: i64, max: i64) -> i32 {
        let value = value.unwrap_or(default);
        if !(min..=max).contains(&value) {
            self.error(
                "out-of-range",
                path,
                format!("{value} is outside {min}..{max}"),
                format!("use a value from {min} to {max}"),
            );
            return i32::try_from(default).unwrap_or(i32::MAX);
        }
        i32::try_from(value).unwrap_or(i32::MAX)
    }

    pub(super) fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            let suggestion = did_you_mean(value, allowed.iter().copied());
            self.error(
                "invalid-choice",
                path,
                format!("`{value}` is not one of {}", allowed.join(", ")),
                format!("{suggestion}values are case-sensitive"),
            );
        }
    }

    pub(super) fn subdomain_opt(&mut self, path: &str, name: Option<String>) -> Option<String> {
        if let Some(name) = &name
            && let Err(why) = dns_subdomain(name)
        {
            self.error(
                "invalid-reference-name",
                path,
                format!("`{name}` is not a valid object name: {why}"),
                "object names are lowercase DNS subdomains",
            );
        }
        name
    }

    fn names_list(&mut self, base: &str, names: Vec<String>) -> Vec<String> {
        for (i, name) in names.iter().enumerate() {
            self.subdomain_opt(&format!("{base}[{i}]"), Some(name.clone()));
        }
        names
    }

    fn grace_period(&mut self, value: Option<i64>) -> i64 {
        let value = value.unwrap_or(60);
        if value < 1 {
            self.error(
                "grace-period",
                "spec.terminationGracePeriodSeconds",
                format!("{value} s gives taosd no time to stop"),
                "StatefulSet pods must stop gracefully (Kubernetes calls 0 unsafe); 60 or more lets taosd flush",
            );
            return 60;
        }
        value
    }

    fn log_volume(&mut self, logs: Option<spec::Volume>) -> Option<(String, Option<String>)> {
        let logs = logs?;
        let (size, _) = self.size(
            "spec.storage.logs.size",
            logs.size.as_deref().unwrap_or(defaults::LOG_SIZE),
        );
        let class = logs.storage_class_name.flatten();
        self.storage_class("spec.storage.logs.storageClassName", class.as_deref());
        Some((size, class))
    }

    fn retention(&mut self, retention: spec::RetentionPolicy, minor: u32) -> (String, String) {
        let deleted = retention.when_deleted.unwrap_or_else(|| "Retain".into());
        let scaled = retention.when_scaled.unwrap_or_else(|| "Retain".into());
        self.one_of("spec.storage.retention.whenDeleted", &deleted, &["Retain", "Delete"]);
        self.one_of("spec.storage.retention.whenScaled", &scaled, &["Retain", "Delete"]);
        if scaled == "Delete" {
            self.warn("retention-delete-on-scale", "spec.storage.retention.whenScaled", "PVCs are deleted as soon as the StatefulSet scales in".into(), "only safe after `drop dnode` moved the dnode's vnodes away; a scale-in without it loses that dnode's data (see `tdgen plan scale`)");
        }
        if minor < 27 && (deleted != "Retain" || scaled != "Retain") {
            self.error(
                "field-needs-newer-kubernetes",
                "spec.storage.retention",
                format!("PVC retention policies need Kubernetes 1.27 (the field is ignored by 1.{minor})"),
                "raise spec.kubernetesVersion, or delete PVCs by hand",
            );
        }
        (deleted, scaled)
    }

    fn backup(&mut self, backup: spec::Backup, c: &ClusterSpec, name: &str, dnodes: u32) -> Option<BackupSettings> {
        let cron_job = format!("{name}-backup");
        if cron_job.len() > MAX_CRONJOB_NAME_LEN {
            self.error(
                "backup-name-too-long",
                "spec.backup",
                format!(
                    "the backup CronJob `{cron_job}` would have {} characters; Kubernetes allows {MAX_CRONJOB_NAME_LEN} (its Jobs add a suffix to reach 63)",
                    cron_job.len()
                ),
                format!("shorten metadata.name to at most {} characters", MAX_CRONJOB_NAME_LEN - "-backup".len()),
            );
        }
        let schedule = backup.schedule.unwrap_or_else(|| defaults::BACKUP_SCHEDULE.into());
        let fields = schedule.split_whitespace().count();
        if !(fields == 5 || (fields == 1 && schedule.starts_with('@'))) {
            self.error(
                "invalid-schedule",
                "spec.backup.schedule",
                format!("`{schedule}` is not a cron schedule: five fields (minute hour day month weekday), or `@daily` and the like"),
                "for example `0 3 * * *` (every day at 03:00)",
            );
        } else if let Err(why) = crate::cron::longest_gap_minutes(&schedule) {
            self.error(
                "invalid-schedule",
                "spec.backup.schedule",
                format!("`{schedule}` is not a schedule the CronJob controller takes: {why}"),
                "minute 0-59, hour 0-23, day 1-31, month 1-12 or JAN-DEC, weekday 0-6 or SUN-SAT; each `*`, a value, a range `a-b`, a step `/n`, or a list",
            );
        }
        let mut databases: Vec<String> = Vec::new();
        for (i, database) in backup.databases.unwrap_or_default().into_iter().enumerate() {
            let path = format!("spec.backup.databases[{i}]");
            let plain = !database.is_empty()
                && database.len() <= 64
                && database.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !database.as_bytes()[0].is_ascii_digit();
            if !plain {
                self.error(
                    "invalid-database-name",
                    &path,
                    format!("`{database}` is not a plain TDengine database name"),
                    "letters, digits and `_`, not starting with a digit, at most 64 characters",
                );
            } else if databases.contains(&database) {
                self.error(
                    "duplicate-database",
                    &path,
                    format!("`{database}` is listed twice"),
                    "list each database once",
                );
            } else {
                databases.push(database);
            }
        }
        let keep = self.bounded("spec.backup.keep", backup.keep, 7, 1, 1000);
        let storage = backup.storage.unwrap_or_default();
        let (size, backup_bytes) = self.size(
            "spec.backup.storage.size",
            storage.size.as_deref().unwrap_or(defaults::BACKUP_SIZE),
        );
        if let Some(backup_bytes) = backup_bytes {
            // Pointed at the size when it is written, at the backup otherwise.
            let path = if storage.size.is_some() {
                "spec.backup.storage.size"
            } else {
                "spec.backup"
            };
            self.backup_room(path, c, dnodes, keep, backup_bytes);
        }
        let storage_class = storage.storage_class_name.flatten();
        self.storage_class("spec.backup.storage.storageClassName", storage_class.as_deref());
        let data_class = c
            .storage
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.storage_class_name.clone())
            .flatten();
        if storage_class == data_class {
            self.warn(
                "backup-same-storage",
                "spec.backup.storage.storageClassName",
                format!(
                    "the backups go to the same StorageClass as the data ({}): a failure of that storage takes both",
                    storage_class.as_deref().unwrap_or("the cluster's default")
                ),
                "put spec.backup.storage on another StorageClass, or copy the backup PVC elsewhere (VolumeSnapshots to another system, an object store)",
            );
        }
        let active_deadline_seconds = self
            .bounded(
                "spec.backup.activeDeadlineSeconds",
                backup.active_deadline_seconds,
                21_600,
                60,
                604_800,
            )
            .into();
        Some(BackupSettings {
            schedule,
            databases,
            keep: u32::try_from(keep).unwrap_or(7),
            size,
            storage_class,
            active_deadline_seconds,
        })
    }

    /// `keep` dumps must fit the backup volume: with the data volumes full and every database
    /// at the highest replica ([`tdengine::MAX_REPLICA`]), one dump is at least the data
    /// volumes together divided by it; TDengine compresses its own files, so a dump can be
    /// larger still. Below that lower bound the newest backups are the ones that fail.
    fn backup_room(&mut self, path: &str, c: &ClusterSpec, dnodes: u32, keep: i32, backup_bytes: i128) {
        let data = c
            .storage
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.size.clone());
        let Ok(data) = Quantity::parse(data.as_deref().unwrap_or(defaults::DATA_SIZE)) else {
            return;
        };
        let data_bytes = data.ceil_units().saturating_mul(i128::from(dnodes));
        let one_dump = data_bytes / i128::from(tdengine::MAX_REPLICA);
        let needed = one_dump.saturating_mul(i128::from(keep));
        if needed <= backup_bytes || data_bytes <= 0 {
            return;
        }
        const GI: i128 = 1 << 30;
        let whole_gi = |bytes: i128| Quantity::from_bytes((bytes + GI - 1) / GI * GI);
        self.warn(
            "backup-room",
            path,
            format!(
                "the backup volume ({}) is smaller than {keep} dumps of full data volumes: {dnodes} × {} is {} of data, at least {} a dump even with every database REPLICA 3",
                Quantity::from_bytes(backup_bytes),
                data.canonical(),
                Quantity::from_bytes(data_bytes),
                whole_gi(one_dump),
            ),
            format!(
                "set spec.backup.storage.size to at least {} (or lower spec.backup.keep): a dump holds every row once, uncompressed by TDengine, so it can be larger than this; a full volume fails the newest backup",
                whole_gi(needed)
            ),
        );
    }

    fn mnode_bootstrap(&mut self, bootstrap: spec::MnodeBootstrap, mnodes: u32) -> Option<i64> {
        let enabled = bootstrap.enabled.unwrap_or(mnodes == MAX_MNODES);
        if enabled && mnodes != MAX_MNODES {
            self.warn(
                "bootstrap-without-mnodes",
                "spec.mnodeBootstrap.enabled",
                "the mnode bootstrap Job has nothing to do with 1 mnode".into(),
                "set spec.mnodes: 3, or remove spec.mnodeBootstrap",
            );
            return None;
        }
        if !enabled {
            return None;
        }
        let wait = bootstrap.wait_seconds.unwrap_or(600);
        if !(30..=86_400).contains(&wait) {
            self.error(
                "out-of-range",
                "spec.mnodeBootstrap.waitSeconds",
                format!("{wait} is outside 30..86400"),
                "the Job waits this long for 3 ready dnodes before it fails and retries",
            );
        }
        Some(wait.clamp(30, 86_400))
    }
}

/// Which of the image's companions run: taosAdapter by default (clients need REST), the
/// others only when asked for.
fn components_enabled(c: &ClusterSpec) -> [bool; 3] {
    let components = c.components.clone().unwrap_or_default();
    let enabled =
        |component: Option<spec::Component>, default: bool| component.and_then(|c| c.enabled).unwrap_or(default);
    [
        enabled(components.adapter, true),
        enabled(components.keeper, false),
        enabled(components.explorer, false),
    ]
}
