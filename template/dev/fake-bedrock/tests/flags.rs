//! `fake-bedrock`'s flags as a user meets them: `--help` lists each with its default, and a
//! value out of bounds is a usage error (exit 2) that names its flag.

use std::process::{Command, Output};

fn fake_bedrock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fake-bedrock"))
        .args(args)
        .output()
        .expect("fake-bedrock runs")
}

/// `help`'s entry for `flag`: its line and the lines indented under it.
fn entry(help: &str, flag: &str) -> String {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut lines = help
        .lines()
        .skip_while(|line| !line.trim_start().starts_with(flag));
    let Some(first) = lines.next() else {
        return String::new();
    };
    let under = lines.take_while(|line| line.is_empty() || indent(line) > indent(first));
    std::iter::once(first.trim_start())
        .chain(under)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn help_lists_each_flag_with_its_default() {
    let output = fake_bedrock(&["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    for (flag, default) in [
        ("--port <N>", "4010"),
        ("--ttft-ms <MS>", "200"),
        ("--tokens-per-second <N>", "60"),
        ("--tokens <N>", "48"),
    ] {
        assert!(
            entry(&help, flag).contains(&format!("[default: {default}]")),
            "{flag} with its default {default}:\n{help}"
        );
    }
}

#[test]
fn a_value_out_of_bounds_is_a_usage_error_naming_its_flag() {
    for (flag, value) in [
        ("--port", "65536"),
        ("--ttft-ms", "60001"),
        ("--tokens-per-second", "0"),
        ("--tokens", "0"),
    ] {
        let output = fake_bedrock(&[flag, value]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} <")),
            "{flag} {value}: {stderr}"
        );
    }
}
