//! Fleets: 10, 100 and 1,000 generated specs, read, checked, rendered and written to a tree,
//! on one thread (the goal: 1,000 in at most a second, the cost linear in the number of specs)
//! and on every core.

use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// `count` specs under `dir/clusters`: a mix of presets over 20 namespaces.
fn generate(dir: &Path, count: usize) -> PathBuf {
    let clusters = dir.join("clusters");
    let _ = std::fs::remove_dir_all(dir);
    for i in 0..count {
        let namespace = format!("team{:02}", i % 20);
        let preset = ["dev", "ha", "seed", "production"][i % 4];
        let folder = clusters.join(&namespace);
        std::fs::create_dir_all(&folder).expect("a folder");
        let mut text = format!(
            "apiVersion: tdgen/v1\nkind: TDengineCluster\nmetadata: {{name: c{i:04}, namespace: {namespace}}}\nspec:\n  preset: {preset}\n  timezone: UTC\n"
        );
        if preset == "production" {
            text.push_str("  image: {tag: \"3.3.6.13\"}\n  rootPassword: {secretName: root}\n");
        }
        std::fs::write(folder.join(format!("c{i:04}.yaml")), text).expect("a spec");
    }
    clusters
}

/// Read, check and render the fleet in `specs` and write it to `out`.
fn render_tree(specs: &Path, out: &Path, threads: usize) -> tdgen::fleet::FleetWritten {
    let files = tdgen::fleet::discover(specs).expect("specs");
    let requests = tdgen::fleet::read(&files, &tdgen::Request::default()).expect("read");
    let fleet = tdgen::fleet::check_fleet(&requests, threads);
    assert!(!fleet.has_errors());
    fleet.write_dir(out).expect("written")
}

fn fleet(c: &mut Criterion) {
    // FLEET_BENCH_DIR picks the filesystem (writing thousands of new files costs what the
    // filesystem makes it cost: report which one was used).
    let base = std::env::var_os("FLEET_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let work = base.join(format!("tdgen-fleet-bench-{}", std::process::id()));
    let mut group = c.benchmark_group("fleet to a tree");
    group.sample_size(10);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for count in [10, 100, 1000] {
        let specs = generate(&work.join(count.to_string()), count);
        let out = work.join(format!("{count}-out"));
        for threads in [1, cores] {
            // A fresh tree: every file created.
            let id = BenchmarkId::new(format!("new tree, {threads} thread(s)"), count);
            group.bench_with_input(id, &count, |b, _| {
                b.iter_batched(
                    || {
                        let _ = std::fs::remove_dir_all(&out);
                    },
                    |()| render_tree(&specs, &out, threads),
                    criterion::BatchSize::PerIteration,
                )
            });
            // The tree again, as a GitOps loop renders it: every file already as rendered.
            render_tree(&specs, &out, threads);
            let id = BenchmarkId::new(format!("unchanged tree, {threads} thread(s)"), count);
            group.bench_with_input(id, &count, |b, _| b.iter(|| render_tree(&specs, &out, threads)));
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&work);
}

criterion_group!(benches, fleet);
criterion_main!(benches);
