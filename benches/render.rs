//! Rendering speed: the whole pipeline (parse, merge, validate, plan, build, emit) for the
//! default preset, and the emit stage alone.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn render_default(c: &mut Criterion) {
    let request = tdgen::Request::default();
    c.bench_function("render default preset to YAML", |b| {
        b.iter(|| {
            let checked = tdgen::check(black_box(&request)).expect("valid");
            tdgen::render(&checked.valid).to_yaml().expect("yaml")
        })
    });
    let manifests = tdgen::render(&tdgen::check(&request).expect("valid").valid);
    c.bench_function("emit default manifests as YAML", |b| {
        b.iter(|| black_box(&manifests).to_yaml().expect("yaml"))
    });
}

criterion_group!(benches, render_default);
criterion_main!(benches);
