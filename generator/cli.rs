//! Command-line interface: the flags and subcommands, as clap parses them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::answers::{Arch, Iac, Strategy};

/// Writes a deployable serverless GenAI application: Rust Lambda services that stream Amazon
/// Bedrock over WebSocket, SSE and REST, a web app that compares them, and CDK or SAM
/// infrastructure.
#[derive(Debug, Parser)]
#[command(name = "genai-scaffold", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a new project (asks for what the flags do not give, when run in a terminal).
    New(NewArgs),
    /// Add strategies to a project genai-scaffold generated: writes exactly the files a new
    /// project with them would have, and updates .genai-scaffold.toml.
    Add(ChangeArgs),
    /// Remove strategies from a project genai-scaffold generated: deletes their files, only
    /// those unchanged since generation unless --force.
    Remove {
        /// What to remove, and where.
        #[command(flatten)]
        change: ChangeArgs,
        /// Delete the strategy's files even where they were changed since generation.
        #[arg(long)]
        force: bool,
    },
    /// Show the strategies, models (with ids and regions) and IaC flavors to choose from.
    List,
    /// Print a shell completion script, e.g. `genai-scaffold completions bash > /etc/bash_completion.d/genai-scaffold`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// Flags of `genai-scaffold new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Folder to create; its last component is the project name (kebab-case).
    pub path: Option<PathBuf>,

    /// Project name, when it should differ from the folder name.
    #[arg(long)]
    pub name: Option<String>,

    /// Strategies to include, comma separated.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub strategies: Option<Vec<Strategy>>,

    /// Model: a key from `genai-scaffold list`, or a Bedrock model id or ARN.
    #[arg(long)]
    pub model: Option<String>,

    /// Infrastructure-as-code flavor.
    #[arg(long, value_enum)]
    pub iac: Option<Iac>,

    /// AWS region to deploy to (default us-east-1).
    #[arg(long)]
    pub region: Option<String>,

    /// Lambda CPU architecture (default arm64).
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,

    /// TOML file with any of the answers; flags override it (see examples/).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,

    /// Take the defaults for every answer not given; never prompt.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Write into a non-empty folder, replacing the files the project has (deletes nothing).
    #[arg(long)]
    pub force: bool,

    /// Print the files that would be written, with sizes, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `genai-scaffold add` and `remove`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// The strategies to add or remove.
    #[arg(required = true, value_enum, value_delimiter = ',')]
    pub strategies: Vec<Strategy>,

    /// The project's folder (the one holding .genai-scaffold.toml).
    #[arg(long, default_value = ".")]
    pub path: PathBuf,

    /// Print the files that would be written and deleted, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}
