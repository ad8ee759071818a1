//! README.md's measured section is rendered, never typed: it must be exactly the rendering of
//! the kept run (`dev/bench/reference.json`) with the price table (`dev/bench/prices.toml`),
//! and the kept run must have priced each strategy this project has as its service declares
//! it (memory, writes per answer). `make bench-readme` measures again and renders.

use bench::cost::{Prices, Usage};
use bench::readme::{self, Reference};

fn root() -> std::path::PathBuf {
    local::project_root().expect("the test runs inside the project")
}

#[test]
fn the_readmes_measured_section_is_the_rendering_of_the_kept_run() {
    let root = root();
    let reference = Reference::read(&root).expect("the kept run");
    let prices = Prices::read(&root).expect("the price table");
    let text = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let current =
        readme::current(&text).expect("README.md has the bench:begin and bench:end lines");
    assert_eq!(
        current,
        readme::render(&reference, &prices),
        "README.md's measured section is not the rendering of {} with {}: render it with \
         `cargo run --release -p bench -- --render-readme` (or measure again: make bench-readme)",
        readme::REFERENCE,
        bench::cost::PRICES
    );
}

#[test]
fn the_kept_run_priced_each_strategy_as_its_service_declares_it() {
    let root = root();
    let reference = Reference::read(&root).expect("the kept run");
    let services = local::discover::services(&root).expect("services");
    assert!(!reference.rows.is_empty(), "the kept run has rows");
    for row in &reference.rows {
        // A strategy this project lacks keeps its row: the README is the same in every project.
        let Some(service) = services.iter().find(|s| s.strategy == row.strategy) else {
            continue;
        };
        let now = Usage::of(service, row.total_ms, row.frames);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
        let (a, b) = (serde_json::to_value(now), serde_json::to_value(row.usage));
        let (a, b) = (a.expect("JSON"), b.expect("JSON"));
        for (key, value) in a.as_object().expect("an object") {
            let (x, y) = (value.as_f64(), b[key].as_f64());
            assert!(
                matches!((x, y), (Some(x), Some(y)) if close(x, y)),
                "{}: {key} is {x:?} as {} declares it now, {y:?} in {}: measure again \
                 (make bench-readme)",
                row.strategy,
                service.name,
                readme::REFERENCE
            );
        }
    }
}
