//! The manual's library example, as written (everything below this comment), in a crate of its own.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let request = tdgen::Request::from_text("cluster.yaml", std::fs::read_to_string("cluster.yaml")?);
    let checked = tdgen::check(&request)?; // a bad spec: every finding, as `tdgen validate` prints them
    for warning in &checked.report.findings {
        eprintln!("{}: {}", warning.code, warning.message);
    }
    let mut manifests = tdgen::render(&checked.valid); // typed k8s-openapi objects
    if let Some(sts) = manifests.statefulset_mut() {
        // inspect or change them
        sts.metadata.annotations.get_or_insert_default().insert("example.com/team".into(), "tsdb".into());
    }
    std::fs::write("all.yaml", manifests.to_yaml()?)?; // or to_json(), files(), write_dir()
    Ok(())
}
