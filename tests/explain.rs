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
        "Storage requested: 44Gi (4 × (10Gi data + 1Gi logs)",
        "taos -h td-0.td.tsdb.svc.cluster.local -P 6030",
        "http://td-client.tsdb.svc.cluster.local:6041/rest/sql",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
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
