//! The interactive path, driven in a pseudo-terminal as a person would: arrow keys, space,
//! typing, and a rejected answer that is asked again.

mod common;

use rexpect::session::spawn_command;

const DOWN: &str = "\x1b[B";

/// Sends keys after a pause: the prompt library switches the terminal to raw mode for each
/// key it reads and discards input typed before that, so a script must not type ahead.
fn press(p: &mut rexpect::session::PtySession, keys: &str) {
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send(keys).unwrap();
    p.flush().unwrap();
}

#[test]
fn prompts_ask_for_what_flags_did_not_give_then_print_next_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = common::bin();
    cmd.args(["new", "tty-app", "--arch", "x86_64"])
        .current_dir(tmp.path());
    let mut p = spawn_command(cmd, Some(20_000)).expect("spawn in a pty");

    // Keys go in only once a prompt has drawn its last line, as a person would wait.
    p.exp_string("one answer when generation ends").unwrap();
    // All three start checked; space unchecks the first (WebSocket), enter confirms.
    press(&mut p, " ");
    press(&mut p, "\r");
    p.exp_string("sam: AWS SAM templates").unwrap();
    press(&mut p, DOWN);
    press(&mut p, "\r");
    p.exp_string("AWS region").unwrap();
    press(&mut p, "moon-base-1\r");
    p.exp_string("not an AWS region").unwrap();
    // The bad answer stays in the line editor: clear it, then type a good one.
    press(&mut p, &"\x7f".repeat("moon-base-1".len()));
    press(&mut p, "eu-west-1\r");
    p.exp_string("Custom model id or ARN...").unwrap();
    press(&mut p, "\r");
    p.exp_string("Created").unwrap();
    p.exp_string("cd tty-app").unwrap();
    p.exp_string("make test").unwrap();
    p.exp_eof().unwrap();

    let record: toml::Table =
        std::fs::read_to_string(tmp.path().join("tty-app/.genai-scaffold.toml"))
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(record["strategies"]["websocket"].as_bool(), Some(false));
    assert_eq!(record["strategies"]["sse"].as_bool(), Some(true));
    assert_eq!(record["iac"].as_str(), Some("sam"));
    assert_eq!(record["region"].as_str(), Some("eu-west-1"));
    assert_eq!(
        record["model_id"].as_str(),
        Some("eu.amazon.nova-micro-v1:0")
    );
    assert_eq!(
        record["arch"].as_str(),
        Some("x86_64"),
        "the flag was not asked again"
    );
}
