//! The `genai-scaffold` binary: parses the command line and maps errors to exit codes
//! (0 ok, 1 I/O failure or `update --check` behind, 2 usage).

use clap::Parser;

fn main() {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let cli = genai_scaffold::cli::Cli::parse();
    match genai_scaffold::run(cli) {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("{} {err}", console::style("error:").red().bold());
            std::process::exit(err.exit_code());
        }
    }
}
