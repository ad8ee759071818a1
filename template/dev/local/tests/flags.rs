//! `local`'s flags as `make dev` and a user meet them: `--help` lists each with its default,
//! and a value out of bounds is a usage error (exit 2) that names its flag, before anything
//! starts.

use std::process::{Command, Output};

use fake_bedrock::flags::help_entry;

fn local(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_local"))
        .args(args)
        .output()
        .expect("local runs")
}

#[test]
fn help_lists_each_flag_with_its_default() {
    let output = local(&["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    for (flag, default) in [
        ("--port <N>", Some("8080")),
        ("--bedrock <BEDROCK>", Some("fake")),
        ("--cold-start-ms <MS>", Some("0")),
        ("--bin-dir <DIR>", None),
        ("--max-instances <N>", Some("32")),
        ("--post-latency-ms <MS>", Some("0")),
        ("--invoke-latency-ms <MS>", Some("0")),
        ("--ttft-ms <MS>", Some("200")),
        ("--tokens-per-second <N>", Some("60")),
        ("--tokens <N>", Some("48")),
    ] {
        let entry = help_entry(&help, flag);
        assert!(entry.starts_with(flag), "{flag}:\n{help}");
        if let Some(default) = default {
            assert!(
                entry.contains(&format!("[default: {default}]")),
                "{flag} with its default {default}:\n{help}"
            );
        }
    }
}

#[test]
fn a_value_out_of_bounds_is_a_usage_error_naming_its_flag() {
    for (flag, value) in [
        ("--port", "65536"),
        ("--bedrock", "azure"),
        ("--cold-start-ms", "60001"),
        ("--max-instances", "0"),
        ("--post-latency-ms", "60001"),
        ("--invoke-latency-ms", "60001"),
        ("--ttft-ms", "60001"),
        ("--tokens-per-second", "0"),
        ("--tokens", "100001"),
    ] {
        let output = local(&[flag, value]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} <")),
            "{flag} {value}: {stderr}"
        );
    }
}
