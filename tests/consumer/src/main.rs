//! The README's library example, as written (between the markers), in a crate of its own.

fn main() -> anyhow::Result<()> {
    // README example begins
    let request = tdgen::Request::from_text("cluster.yaml", std::fs::read_to_string("cluster.yaml")?);
    let checked = tdgen::check(&request)?;                  // fails with a Report of every finding
    for warning in &checked.report.findings { eprintln!("{}: {}", warning.code, warning.message); }
    let mut manifests = tdgen::render(&checked.valid);       // typed k8s-openapi objects
    if let Some(sts) = manifests.statefulset_mut() {         // inspect or change them
        sts.metadata.annotations.get_or_insert_default().insert("example.com/team".into(), "tsdb".into());
    }
    std::fs::write("all.yaml", manifests.to_yaml()?)?;       // or to_json(), files(), write_dir()
    // README example ends
    Ok(())
}
