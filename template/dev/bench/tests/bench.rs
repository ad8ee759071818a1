//! `bench` as `make bench` runs it, with a small count: the table, the JSON samples (one per
//! request, usage as the fake Bedrock reported it) and an SVG that parses as an image.

use std::path::{Path, PathBuf};
use std::process::Command;

use fake_bedrock::flags::help_entry;
use serde_json::Value;

fn root() -> PathBuf {
    local::project_root().expect("the test runs inside the project")
}

/// The service binaries of this test's profile (built here if `cargo test` did not).
fn bin_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--workspace", "--bins"])
        .current_dir(root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the service binaries failed");
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

#[test]
fn a_small_bench_prints_the_table_and_writes_samples_and_a_chart() {
    const REQUESTS: usize = 3;
    const TOKENS: u64 = 12;
    let out = std::env::temp_dir().join(format!("bench-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--requests", &REQUESTS.to_string(), "--concurrency", "2"])
        .args([
            "--tokens",
            &TOKENS.to_string(),
            "--ttft-ms",
            "20",
            "--tokens-per-second",
            "400",
        ])
        .args(["--post-latency-ms", "2", "--invoke-latency-ms", "1"])
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--out")
        .arg(&out)
        .env("RUST_LOG", "off")
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let strategies = local::discover::services(&root())
        .expect("services")
        .into_iter()
        .map(|s| s.strategy)
        .collect::<Vec<_>>();
    for strategy in &strategies {
        assert!(
            stdout.contains(&format!("\n{strategy} ")),
            "a row for {strategy}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("winners (Sequential, p50): firstChunk: "),
        "{stdout}"
    );

    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("bench-samples.json")).expect("JSON written"),
    )
    .expect("valid JSON");
    let samples = document["samples"].as_array().expect("samples");
    // One sample per request: each strategy, one by one and concurrently.
    assert_eq!(samples.len(), strategies.len() * REQUESTS * 2);
    for sample in samples {
        assert_eq!(sample["error"], Value::Null, "{sample}");
        // The model's usage, as the fake counted it, not a string length.
        assert_eq!(sample["completionTokens"], TOKENS, "{sample}");
        assert!(sample["promptTokens"].as_u64() > Some(0), "{sample}");
        let first = sample["firstChunkMs"].as_f64().expect("first chunk time");
        let total = sample["totalMs"].as_f64().expect("total time");
        assert!(first > 0.0 && first <= total, "{sample}");
    }
    assert_eq!(
        document["summary"].as_array().map(Vec::len),
        Some(strategies.len() * 2)
    );

    let svg = std::fs::read_to_string(out.join("bench.svg")).expect("SVG written");
    let tree = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    let root_element = tree.root_element();
    assert_eq!(root_element.tag_name().name(), "svg");
    assert!(
        root_element.attribute("width").is_some() && root_element.attribute("height").is_some()
    );
    for strategy in &strategies {
        assert!(
            tree.descendants()
                .any(|n| n.text().map(str::trim) == Some(strategy.as_str())),
            "the legend names {strategy}"
        );
    }
    std::fs::remove_dir_all(&out).expect("cleanup");
}

/// `--frame-floors` runs each service that declares a floor once per floor, on a stack of its
/// own, beside the others once; `--reference` keeps the rows README.md is rendered from, each
/// with its frames per answer and usage, and the frames fall with the floor.
#[test]
fn frame_floors_are_measured_side_by_side_and_kept_for_the_readme() {
    let out = std::env::temp_dir().join(format!("bench-floors-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("mkdir");
    let reference = out.join("reference.json");
    // 60 tokens at 300/s: a 0.2 s answer, a token every 3 ms against 2 ms posts.
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--requests", "2", "--modes", "sequential", "--tokens", "60"])
        .args(["--ttft-ms", "20", "--tokens-per-second", "300"])
        .args(["--post-latency-ms", "2", "--invoke-latency-ms", "1"])
        .args(["--frame-floors", "off,100"])
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--out")
        .arg(&out)
        .arg("--reference")
        .arg(&reference)
        .env("RUST_LOG", "off")
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("cost per million answers"), "{stdout}");
    let kept: bench::readme::Reference =
        serde_json::from_str(&std::fs::read_to_string(&reference).expect("kept")).expect("JSON");
    assert_eq!((kept.run.tokens, kept.run.requests), (60, 2));
    for service in local::discover::services(&root()).expect("services") {
        let rows: Vec<&bench::readme::Row> = kept
            .rows
            .iter()
            .filter(|r| r.strategy == service.strategy)
            .collect();
        for row in &rows {
            assert!(row.frames >= 1.0 && row.total_ms > 0.0, "{row:?}");
            assert!(row.usage.lambda_gb_seconds > 0.0, "{row:?}");
        }
        if service.frames.is_none() {
            assert_eq!(rows.len(), 1, "{}: measured once", service.strategy);
            continue;
        }
        let floors: Vec<Option<u64>> = rows.iter().map(|r| r.floor_ms).collect();
        assert_eq!(floors, [Some(0), Some(100)], "{}", service.strategy);
        let (off, floored) = (rows[0], rows[1]);
        assert!(
            floored.frames <= floored.total_ms / 100.0 + 2.0,
            "{floored:?}: over the floor's bound"
        );
        assert!(floored.frames < off.frames, "{off:?} against {floored:?}");
        assert!(
            stdout.contains(&format!("{}@100 ", service.strategy)),
            "{stdout}"
        );
    }
    std::fs::remove_dir_all(&out).expect("cleanup");
}

#[test]
fn help_lists_each_flag_with_its_default() {
    for (binary, flags) in [
        (
            env!("CARGO_BIN_EXE_bench"),
            &[
                ("--url <URL>", None),
                ("--requests <N>", Some("20")),
                ("--concurrency <N>", Some("8")),
                ("--out <DIR>", None),
                ("--modes <MODES>", Some("sequential,concurrent")),
                ("--max-seconds <N>", Some("600")),
                ("--timeout-seconds <N>", Some("60")),
                ("--prompt <TEXT>", Some("\"Write a short story")),
                ("--max-tokens <N>", Some("512")),
                ("--log-level <LEVEL>", Some("error")),
                ("--bin-dir <DIR>", None),
                ("--max-instances <N>", Some("32")),
                // The bench's own simulation of AWS, not make dev's defaults.
                ("--post-latency-ms <MS>", Some("20")),
                ("--invoke-latency-ms <MS>", Some("10")),
                ("--ttft-ms <MS>", Some("300")),
                ("--tokens-per-second <N>", Some("80")),
                ("--tokens <N>", Some("64")),
                ("--frame-floors <FLOORS>", Some("default")),
                ("--reference <FILE>", None),
                ("--render-readme", None),
            ][..],
        ),
        (
            env!("CARGO_BIN_EXE_smoke"),
            &[("--url <URL>", None), ("--skip-long", None)],
        ),
    ] {
        let output = Command::new(binary).arg("--help").output().expect("runs");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{help}");
        for (flag, default) in flags {
            let entry = help_entry(&help, flag);
            assert!(entry.starts_with(flag), "{flag}:\n{help}");
            if let Some(default) = default {
                assert!(
                    entry.contains(&format!("[default: {default}")),
                    "{flag} with its default {default}:\n{help}"
                );
            }
        }
    }
}

/// Runs `binary` with `args`, which it must refuse as a usage error (exit 2): its message.
fn refused(binary: &str, args: &[&str]) -> String {
    let output = Command::new(binary).args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    stderr
}

#[test]
fn a_value_out_of_bounds_is_a_usage_error_naming_its_flag() {
    let bench = env!("CARGO_BIN_EXE_bench");
    let smoke = env!("CARGO_BIN_EXE_smoke");
    for (binary, flag, value) in [
        (bench, "--requests", "0"),
        (bench, "--requests", "10001"),
        (bench, "--concurrency", "501"),
        (bench, "--url", "ftp://x"),
        (bench, "--modes", "fast"),
        (bench, "--max-seconds", "86401"),
        (bench, "--timeout-seconds", "0"),
        (bench, "--max-tokens", "100001"),
        (bench, "--log-level", "loud"),
        (bench, "--max-instances", "1001"),
        (bench, "--post-latency-ms", "60001"),
        (bench, "--invoke-latency-ms", "60001"),
        (bench, "--ttft-ms", "60001"),
        (bench, "--tokens-per-second", "0"),
        (bench, "--tokens", "0"),
        (bench, "--frame-floors", "60001"),
        (bench, "--frame-floors", "fast"),
        (smoke, "--url", "ftp://x"),
    ] {
        let stderr = refused(binary, &[flag, value]);
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} <")),
            "{flag} {value}: {stderr}"
        );
    }
}

#[test]
fn an_unknown_flag_or_a_missing_url_is_a_usage_error() {
    let stderr = refused(env!("CARGO_BIN_EXE_bench"), &["--bogus", "1"]);
    assert!(
        stderr.contains("'--bogus'") && stderr.contains("Usage: bench"),
        "{stderr}"
    );
    let stderr = refused(env!("CARGO_BIN_EXE_smoke"), &["--skip-long"]);
    assert!(stderr.contains("--url <URL>"), "{stderr}");
}

/// `--url` measures whatever stage serves `/config.json` there; here a local stack stands in
/// for a deployed one, so the run must not start a stack of its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_given_url_is_measured_through_its_config() {
    let stack = local::Stack::start(local::Options {
        root: root(),
        bin_dir: bin_dir(),
        listen: ([127, 0, 0, 1], 0).into(),
        bedrock: local::Bedrock::Fake(fake_bedrock::Settings {
            time_to_first_token_ms: 10,
            tokens_per_second: 500,
            tokens: 7,
        }),
        latencies: local::gateway::Latencies::default(),
        cold_start: std::time::Duration::ZERO,
        max_instances: 4,
        log_level: Some("error".into()),
        function_env: Vec::new(),
        deliver_events_twice: false,
        stage: None,
    })
    .await
    .expect("stack");
    let out = std::env::temp_dir().join(format!("bench-url-{}", std::process::id()));
    let url = stack.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_bench"))
            .args(["--url", &url, "--requests", "2", "--modes", "sequential"])
            .arg("--out")
            .arg(&out)
            .output()
            .expect("bench runs")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("deployed stage against {}", stack.url)),
        "{stdout}"
    );
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(std::env::temp_dir().join(format!(
            "bench-url-{}/bench-samples.json",
            std::process::id()
        )))
        .expect("JSON written"),
    )
    .expect("valid JSON");
    let samples = document["samples"].as_array().expect("samples");
    assert!(!samples.is_empty());
    assert!(
        samples
            .iter()
            .all(|s| s["completionTokens"] == 7 && s["error"].is_null()),
        "{samples:?}"
    );
    stack.stop().await;
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("bench-url-{}", std::process::id())),
    );
}
