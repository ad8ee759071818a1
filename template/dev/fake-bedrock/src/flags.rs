//! The fake's pacing as command-line flags, declared once for every binary that starts a fake
//! (`fake-bedrock`, `local`, `bench`): each flattens [`Pacing`] into its own flags and picks
//! the defaults it documents with a [`PacingDefaults`] type.

use std::marker::PhantomData;

use crate::Settings;

/// The pacing a binary's fake answers at when no flag changes it.
pub trait PacingDefaults {
    /// The settings before any flag.
    const PACING: Settings;
}

/// The fake's own defaults, [`Settings::DEFAULT`] (`fake-bedrock`, `make dev`).
#[derive(Debug, Clone, Copy)]
pub struct FakeDefaults;

impl PacingDefaults for FakeDefaults {
    const PACING: Settings = Settings::DEFAULT;
}

/// `--ttft-ms`, `--tokens-per-second`, `--tokens`: the fake's [`Settings`], with `D`'s defaults.
///
/// The bounds keep a typo from hanging a run: a first token within a minute, at least one
/// token per second and per answer (zero would never finish a stream, or finish it empty).
#[derive(Debug, Clone, clap::Args)]
pub struct Pacing<D: PacingDefaults> {
    /// Milliseconds from a request to the fake's first token.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = D::PACING.time_to_first_token_ms,
        value_parser = clap::value_parser!(u64).range(0..=60_000),
    )]
    pub ttft_ms: u64,
    /// Tokens the fake sends per second after the first.
    #[arg(
        long,
        value_name = "N",
        default_value_t = D::PACING.tokens_per_second,
        value_parser = clap::value_parser!(u64).range(1..=100_000),
    )]
    pub tokens_per_second: u64,
    /// Tokens in each of the fake's answers (a prompt's `[tokens=N]` overrides it).
    #[arg(
        long,
        value_name = "N",
        default_value_t = D::PACING.tokens,
        value_parser = clap::value_parser!(u32).range(1..=100_000),
    )]
    pub tokens: u32,
    #[arg(skip)]
    defaults: PhantomData<D>,
}

impl<D: PacingDefaults> Pacing<D> {
    /// The fake's settings these flags give.
    pub fn settings(&self) -> Settings {
        Settings {
            time_to_first_token_ms: self.ttft_ms,
            tokens_per_second: self.tokens_per_second,
            tokens: self.tokens,
        }
    }
}

/// A `--help` text's entry for `flag` (e.g. `--ttft-ms <MS>`): its line and the lines indented
/// under it, where clap writes the flag's doc and default; empty when `help` lacks the flag.
/// For the tests of each binary that shows these flags.
pub fn help_entry(help: &str, flag: &str) -> String {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        pacing: Pacing<FakeDefaults>,
    }

    #[test]
    fn no_flag_leaves_the_defaults_and_each_flag_sets_its_setting() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("fake").chain(args.iter().copied()))
                .map(|cli| cli.pacing.settings())
        };
        assert_eq!(parse(&[]).expect("no flags"), Settings::DEFAULT);
        assert_eq!(
            parse(&[
                "--ttft-ms",
                "0",
                "--tokens-per-second",
                "7",
                "--tokens",
                "3"
            ])
            .expect("flags"),
            Settings {
                time_to_first_token_ms: 0,
                tokens_per_second: 7,
                tokens: 3,
            }
        );
        for out_of_bounds in [
            &["--ttft-ms", "60001"][..],
            &["--tokens-per-second", "0"],
            &["--tokens", "0"],
            &["--tokens", "100001"],
        ] {
            let error = parse(out_of_bounds).expect_err("refused");
            assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        }
    }
}
