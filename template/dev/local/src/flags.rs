//! The flags of a local stack, declared once for the binaries that start one (`local`,
//! `bench`): each flattens [`StackFlags`] into its own flags and picks the defaults it
//! documents with a [`StackDefaults`] type.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use fake_bedrock::Settings;
use fake_bedrock::flags::{Pacing, PacingDefaults};

use crate::gateway::Latencies;
use crate::{Bedrock, Options};

/// A binary's simulated AWS latencies (and, as a [`PacingDefaults`], its fake's pacing) when
/// no flag changes them.
pub trait StackDefaults: PacingDefaults {
    /// Milliseconds added to each `POST @connections`.
    const POST_LATENCY_MS: u64;
    /// Milliseconds added before each invocation reaches a function.
    const INVOKE_LATENCY_MS: u64;
}

/// `make dev`'s defaults: no added latency, the fake's own pacing.
#[derive(Debug, Clone, Copy)]
pub struct DevDefaults;

impl PacingDefaults for DevDefaults {
    const PACING: Settings = Settings::DEFAULT;
}

impl StackDefaults for DevDefaults {
    const POST_LATENCY_MS: u64 = 0;
    const INVOKE_LATENCY_MS: u64 = 0;
}

/// `--bin-dir`, `--max-instances`, the simulated latencies and the fake's pacing, with `D`'s
/// defaults; [`StackFlags::options`] turns them into the stack's [`Options`].
///
/// A latency is at most a minute: longer than any function waits for a post or an
/// invocation, so a larger value could only be a typo.
#[derive(Debug, Clone, clap::Args)]
pub struct StackFlags<D: StackDefaults> {
    /// Folder of the service binaries [default: this program's own folder, where cargo put
    /// the services it built with the same profile]
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Instances each function may run at once; further requests wait for one (Lambda would
    /// start more).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 32,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=1000),
    )]
    max_instances: usize,
    /// Milliseconds added to each `POST @connections`, the API Gateway Management API's
    /// latency.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = D::POST_LATENCY_MS,
        value_parser = clap::value_parser!(u64).range(0..=60_000),
    )]
    post_latency_ms: u64,
    /// Milliseconds added before each invocation reaches a function, Lambda's invoke latency.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = D::INVOKE_LATENCY_MS,
        value_parser = clap::value_parser!(u64).range(0..=60_000),
    )]
    invoke_latency_ms: u64,
    #[command(flatten)]
    pacing: Pacing<D>,
}

/// The folder of the running program: `make dev` and `make bench` build the services and
/// this program in one cargo command, so the services are next to it whatever the profile
/// (`target/dev-local`, `target/release`). Without it (a deleted executable), the project's
/// release folder, which the error for a missing service then names.
fn own_folder(root: &Path) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| crate::target_dir(root).join("release"))
}

impl<D: StackDefaults> StackFlags<D> {
    /// The options these flags give for the project at `root`: the fake Bedrock, a free port,
    /// no cold start, the functions' log level left to the environment. A binary with flags
    /// for those sets them over these.
    pub fn options(&self, root: PathBuf) -> Options {
        Options {
            bin_dir: self.bin_dir.clone().unwrap_or_else(|| own_folder(&root)),
            root,
            listen: ([127, 0, 0, 1], 0).into(),
            bedrock: Bedrock::Fake(self.pacing.settings()),
            latencies: Latencies {
                post: Duration::from_millis(self.post_latency_ms),
                invoke: Duration::from_millis(self.invoke_latency_ms),
            },
            cold_start: Duration::ZERO,
            max_instances: self.max_instances,
            log_level: None,
            function_env: Vec::new(),
            deliver_events_twice: false,
            stage: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        stack: StackFlags<DevDefaults>,
    }

    fn options(args: &[&str]) -> Result<Options, clap::Error> {
        Cli::try_parse_from(std::iter::once("local").chain(args.iter().copied()))
            .map(|cli| cli.stack.options(PathBuf::from("/project")))
    }

    #[test]
    fn no_flag_gives_the_defaults() {
        let options = options(&[]).expect("no flags");
        assert_eq!(options.bedrock, Bedrock::Fake(Settings::DEFAULT));
        assert_eq!(options.latencies, Latencies::default());
        assert_eq!(options.max_instances, 32);
        let exe = std::env::current_exe().expect("the test's own path");
        assert_eq!(Some(options.bin_dir.as_path()), exe.parent(), "{options:?}");
    }

    #[test]
    fn each_flag_sets_its_option() {
        let options = options(&[
            "--bin-dir",
            "/bins",
            "--max-instances",
            "1000",
            "--post-latency-ms",
            "20",
            "--invoke-latency-ms",
            "60000",
            "--tokens",
            "5",
        ])
        .expect("flags");
        assert_eq!(options.bin_dir, Path::new("/bins"));
        assert_eq!(options.max_instances, 1000);
        assert_eq!(
            options.latencies,
            Latencies {
                post: Duration::from_millis(20),
                invoke: Duration::from_secs(60),
            }
        );
        assert_eq!(
            options.bedrock,
            Bedrock::Fake(Settings {
                tokens: 5,
                ..Settings::DEFAULT
            })
        );
    }

    #[test]
    fn a_value_out_of_bounds_is_refused() {
        for args in [
            &["--max-instances", "0"][..],
            &["--max-instances", "1001"],
            &["--post-latency-ms", "60001"],
            &["--invoke-latency-ms", "60001"],
        ] {
            let error = options(args).expect_err("refused");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{args:?}"
            );
        }
    }
}
