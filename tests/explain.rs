//! `tdgen explain`: the summary names every dnode, the mnodes, the tolerance and the clients.

fn explain(spec: &str) -> String {
    let checked = tdgen::check(&crate::support::request(spec)).expect("valid");
    tdgen::explain::explain(&checked.valid).expect("explains")
}

#[test]
fn explains_fqdns_mnodes_tolerance_storage_and_clients() {
    let text = explain(
        "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 4, mnodes: 3, storage: {data: {size: 10Gi}, logs: {size: 1Gi}}}",
    );
    for expected in [
        "dnode 3  td-3.td.tsdb.svc.cluster.local:6030\n",
        "dnode 2  td-2.td.tsdb.svc.cluster.local:6030  mnode",
        "First endpoint (TAOS_FIRST_EP): td-0.td.tsdb.svc.cluster.local:6030",
        "REPLICA 3 databases: 1 dnode",
        "Storage requested: 44Gi (4 × (10Gi data on standard + 1Gi logs on the cluster's default StorageClass))",
        "taos -h td-0.td.tsdb.svc.cluster.local -P 6030",
        "http://td-client.tsdb.svc.cluster.local:6041/rest/sql",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn each_volume_is_said_with_its_own_storage_class() {
    let text = explain("spec: {preset: production, storage: {data: {storageClassName: fast}}}");
    assert!(
        text.contains("(3 × (100Gi data on fast + 10Gi logs on the cluster's default StorageClass))"),
        "the log claim names no class, so it gets the default: {text}"
    );
    let same = explain("spec: {storage: {data: {storageClassName: fast}, logs: {size: 1Gi, storageClassName: fast}}}");
    assert!(same.contains("logs), fast)"), "{same}");
}

#[test]
fn small_clusters_say_what_they_cannot_survive() {
    let text = explain("spec: {dnodes: 1}");
    assert!(
        text.contains("REPLICA 3 databases: cannot be created with 1 dnode(s)"),
        "{text}"
    );
    assert!(text.contains("the single mnode is on dnode 0"), "{text}");
    assert!(
        text.contains("<namespace>"),
        "an unpinned namespace is a placeholder:\n{text}"
    );
}

fn diagram(spec: &str, format: tdgen::explain::DiagramFormat) -> String {
    let checked = tdgen::check(&crate::support::request(spec)).expect("valid");
    tdgen::explain::diagram(&checked.valid, format)
}

/// The ids a Mermaid flowchart declares (`id[…]`, `id(…)`, `id>…]`) and the ids its edges use.
fn mermaid_ids(text: &str) -> (Vec<String>, Vec<String>) {
    let mut declared = Vec::new();
    let mut used = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("flowchart") || line == "end" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("subgraph ") {
            declared.push(rest.split('[').next().unwrap().to_owned());
        } else if line.contains("-->") || line.contains("-.->") {
            let from = line.split_whitespace().next().unwrap().to_owned();
            let to = line.rsplit_once("| ").unwrap().1.to_owned();
            used.extend([from, to]);
        } else {
            let id: String = line.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            declared.push(id);
        }
    }
    (declared, used)
}

#[test]
fn the_mermaid_picture_draws_every_dnode_volume_and_client_path() {
    use tdgen::explain::DiagramFormat;
    let spec = "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 4, mnodes: 3, storage: {logs: {size: 1Gi}}}";
    let text = diagram(spec, DiagramFormat::Mermaid);
    assert!(text.starts_with("flowchart LR\n"), "{text}");
    let (declared, used) = mermaid_ids(&text);
    let mut unique = declared.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), declared.len(), "every id once: {declared:?}");
    for id in &used {
        assert!(declared.contains(id), "edge to undeclared `{id}` in:\n{text}");
    }
    for expected in [
        "dnode3[\"td-3: dnode<br/>td-3.td.tsdb.svc.cluster.local:6030\"]",
        "dnode2[\"td-2: dnode + mnode<br/>",
        "pvc3[(\"PVC taosdata-td-3<br/>5Gi\")]",
        "logs0[(\"PVC taoslog-td-0<br/>1Gi\")]",
        "rest -->|\"6041\"| client",
        "native -->|\"6030\"| dnode3",
        "dnode3 -.->|\"joins through TAOS_FIRST_EP\"| dnode0",
        "job -->|\"create mnode (SQL)\"| dnode0",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    let quoted = diagram("metadata: {name: td}\nspec: {dnodes: 1}", DiagramFormat::Mermaid);
    assert!(
        quoted.contains("subgraph ns[\"namespace #lt;namespace#gt;\"]"),
        "{quoted}"
    );
    assert!(!quoted.contains("job"), "one mnode: no bootstrap Job");
}

#[test]
fn the_dot_picture_is_the_same_graph() {
    use tdgen::explain::DiagramFormat;
    let spec = "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 3, clientService: {type: LoadBalancer}}";
    let text = diagram(spec, DiagramFormat::Dot);
    assert!(
        text.starts_with("digraph tdengine {\n") && text.ends_with("}\n"),
        "{text}"
    );
    assert_eq!(text.matches('{').count(), text.matches('}').count(), "balanced: {text}");
    let mermaid = diagram(spec, DiagramFormat::Mermaid);
    let edges = |t: &str, arrow: &str| t.lines().filter(|l| l.contains(arrow)).count();
    assert_eq!(edges(&text, " -> "), edges(&mermaid, "->|"), "the same edges in both");
    assert!(
        text.contains("client [label=\"Service td-client\\nLoadBalancer\""),
        "{text}"
    );
    assert!(text.contains("dnode0 -> pvc0 [label=\"/var/lib/taos\"]"), "{text}");
}

#[test]
fn backups_are_explained_with_their_schedule_volume_and_restore() {
    let text = explain(
        "spec: {dnodes: 3, backup: {schedule: '0 1 * * *', keep: 4, storage: {size: 30Gi, storageClassName: archive}}}",
    );
    assert!(
        text.contains("Backups: CronJob tdengine-backup at `0 1 * * *` dumps every database"),
        "{text}"
    );
    assert!(text.contains("(30Gi, archive) and keeps the newest 4"), "{text}");
    assert!(text.contains("tdgen plan restore --from <backup>"), "{text}");
    assert!(!explain("spec: {dnodes: 3}").contains("Backups:"));
}

#[test]
fn the_picture_shows_the_backups_when_there_are_some() {
    use tdgen::explain::DiagramFormat;
    let spec = "metadata: {name: td, namespace: tsdb}\nspec: {dnodes: 3, backup: {keep: 4}}";
    let text = diagram(spec, DiagramFormat::Mermaid);
    let (declared, used) = mermaid_ids(&text);
    for id in &used {
        assert!(declared.contains(id), "edge to undeclared `{id}` in:\n{text}");
    }
    for expected in [
        "backup(\"CronJob td-backup<br/>taosdump at 0 3 * * *\")",
        "backups[(\"PVC td-backup<br/>20Gi, keeps 4\")]",
        "backup -->|\"dumps (native)\"| dnode0",
        "backup -->|\"/backup\"| backups",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(!diagram("spec: {dnodes: 3}", DiagramFormat::Mermaid).contains("CronJob"));
}
