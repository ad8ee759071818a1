//! `fake-bedrock`'s flags as a user meets them: `--help` lists each with its default, and a
//! value out of bounds is a usage error (exit 2) that names its flag.

use std::process::{Command, Output};

use fake_bedrock::flags::help_entry;

fn fake_bedrock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fake-bedrock"))
        .args(args)
        .output()
        .expect("fake-bedrock runs")
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
            help_entry(&help, flag).contains(&format!("[default: {default}]")),
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
