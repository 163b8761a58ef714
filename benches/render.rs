//! Rendering speed in process: the whole pipeline (parse, merge, validate, plan, build, emit)
//! for the default preset and for the production spec, and each stage alone, so that a
//! regression shows where it is. (Whole-process timing against a hello-world binary and
//! `helm template` is `benches/whole-process`; fleets are `benches/fleet.rs`.)

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn production() -> tdgen::Request {
    tdgen::Request::from_text(
        "production.yaml",
        tdgen::starter_spec("production").expect("the production starter spec"),
    )
}

fn whole_pipeline(c: &mut Criterion) {
    for (name, request) in [
        ("default preset", tdgen::Request::default()),
        ("production spec", production()),
    ] {
        c.bench_function(&format!("pipeline: {name} to YAML"), |b| {
            b.iter(|| {
                let checked = tdgen::check(black_box(&request)).expect("valid");
                tdgen::render(&checked.valid).to_yaml().expect("yaml")
            })
        });
    }
}

fn stages(c: &mut Criterion) {
    let request = tdgen::Request::default();
    c.bench_function("stage: load (parse + merge)", |b| {
        b.iter(|| tdgen::load(black_box(&request)).expect("loads"))
    });
    let loaded = tdgen::load(&request).expect("loads");
    c.bench_function("stage: validate", |b| {
        b.iter(|| tdgen::validate(black_box(&loaded.spec)))
    });
    let valid = tdgen::validate(&loaded.spec).valid.expect("valid");
    c.bench_function("stage: plan and build", |b| b.iter(|| tdgen::render(black_box(&valid))));
    let manifests = tdgen::render(&valid);
    c.bench_function("stage: emit YAML", |b| {
        b.iter(|| black_box(&manifests).to_yaml().expect("yaml"))
    });
}

criterion_group!(benches, whole_pipeline, stages);
criterion_main!(benches);
