//! genai-scaffold: writes a complete serverless GenAI application from an embedded template.
//!
//! The flow of `genai-scaffold new` is: gather [`answers`] (answers file, flags, prompts,
//! defaults), turn them into template variables, [`template::render`] the project in memory,
//! then [`write::write_project`] it atomically. See ARCHITECTURE.md for the map.

#![warn(missing_docs)]

pub mod answers;
pub mod catalog;
pub mod cli;
pub mod error;
pub mod git;
pub mod lock;
pub mod project;
pub mod prompt;
pub mod strategy;
pub mod template;
pub mod update;
pub mod write;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use answers::{Answers, PartialAnswers, Strategy};
use cli::{ChangeArgs, Cli, Command, NewArgs, UpdateArgs};
use error::{Error, Result};
use template::{RenderedFile, TemplateConfig};

/// Runs a parsed command line and returns the exit code: 0, or 1 from `update --check` on a
/// project behind the template. Errors carry theirs ([`Error::exit_code`]).
pub fn run(cli: Cli) -> Result<i32> {
    // Everything below reads the strategies the template declares; a template whose
    // declarations disagree stops here, before any answer is taken.
    strategy::table()?;
    match cli.command {
        Command::Update(args) => update_project(args),
        Command::Adopt { path } => {
            print!("{}", update::adopt(&path)?);
            Ok(0)
        }
        Command::New(args) => new_project(args).map(|()| 0),
        Command::Add(args) => change_project(project::Change::Add, args, false).map(|()| 0),
        Command::Remove { change, force } => {
            change_project(project::Change::Remove, change, force).map(|()| 0)
        }
        Command::List => {
            print!("{}", list());
            Ok(0)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "genai-scaffold",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}

/// `update`: `--check` answers 1 when behind; otherwise the plan, applied unless
/// `--dry-run`, and its report.
fn update_project(args: UpdateArgs) -> Result<i32> {
    if args.check {
        let (text, behind) = update::check(&args.path)?;
        print!("{text}");
        return Ok(i32::from(behind));
    }
    let plan = update::plan(
        &args.path,
        update::Options {
            force: args.force,
            merge: true,
            clean_tree: true,
        },
    )?;
    if !args.dry_run {
        update::apply_with(&args.path, &plan, |_| Ok(()))?;
    }
    print!("{}", update::describe(&args.path, &plan, args.dry_run));
    Ok(0)
}

/// Renders the project for complete answers, in memory: the template's files, then the
/// lock file recording them ([`lock`]).
pub fn render(answers: &Answers) -> Result<Vec<RenderedFile>> {
    let mut files = template::render(&TemplateConfig::embedded()?, &answers.variables())?;
    files.push(lock::lock_file(&files));
    Ok(files)
}

fn change_project(change: project::Change, mut args: ChangeArgs, force: bool) -> Result<()> {
    args.strategies.sort();
    args.strategies.dedup();
    let plan = project::plan(&args.path, change, &args.strategies, force)?;
    if !args.dry_run || plan.refused() {
        // A refused plan changes nothing: a dry run gives the same refusal a real run does.
        project::apply_with(&args.path, &plan, |_| Ok(()))?;
    }
    print!(
        "{}",
        project::describe(&args.path, change, &args.strategies, &plan, args.dry_run)
    );
    Ok(())
}

fn new_project(args: NewArgs) -> Result<()> {
    let today = catalog::today();
    let from_file = match &args.answers {
        Some(path) => answers::load_answers(path)?,
        None => PartialAnswers::default(),
    };
    let (path, name) = project_path_and_name(&args, from_file.name.as_deref())?;
    let from_flags = PartialAnswers {
        name,
        strategies: args.strategies.clone(),
        iac: args.iac,
        model: args.model.clone(),
        region: args.region.clone(),
        arch: args.arch,
    };
    let mut partial = from_flags.or(from_file);
    if args.yes {
        partial = partial.or(PartialAnswers::defaults());
    } else if !partial.missing_flags().is_empty() {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            partial = prompt::ask(partial)?;
        } else {
            return Err(Error::usage(format!(
                "no terminal to ask in, and these answers are missing:\n  {}\n\
                 Pass them as flags, give an --answers file, or add --yes to take the defaults.",
                partial.missing_flags().join("\n  ")
            )));
        }
    }
    let answers = partial.resolve(&today)?;
    answers.name.check_functions(&answers.strategies)?;
    let path = path.unwrap_or_else(|| PathBuf::from(answers.name.as_str()));
    let files = render(&answers)?;

    if args.dry_run {
        let replaced = write::check_target(&path, &files, args.force)?;
        print!("{}", write::describe_plan(&path, &files, &replaced));
        return Ok(());
    }
    // The project's own repository, made in the staging folder (so a failure leaves none),
    // unless asked not to or already inside one, whose history is the user's to shape.
    let enclosing = (!args.no_git && git::available())
        .then(|| git::repo_of(nearest_existing(&path)))
        .map(|repo| repo.is_some());
    let mut initialized = false;
    let written = write::write_project_then(
        &path,
        &files,
        args.force,
        |_| Ok(()),
        |staging| {
            if enclosing == Some(false) {
                git::init_with_first_commit(staging)?;
                initialized = true;
            }
            Ok(())
        },
    )?;
    let git_note = if initialized {
        Some("a git repository with the first commit".to_string())
    } else if enclosing == Some(true) {
        // The files are the user's to commit; the base is recorded in their repository.
        match project::BaseRecord::prepare(&path, &files).and_then(|base| match base {
            Some(base) => base.record().map(|()| true),
            None => Ok(false),
        }) {
            Ok(true) => Some("the generation recorded for `genai-scaffold update` in the enclosing git repository (commit the files yourself)".to_string()),
            Ok(false) => None,
            Err(e) => {
                eprintln!(
                    "warning: the project is written, but its generation could not be recorded \
                     for `genai-scaffold update` ({e}); run `genai-scaffold adopt` once it is \
                     committed."
                );
                None
            }
        }
    } else {
        None
    };
    print!(
        "{}",
        summary(&path, &answers, &written, git_note.as_deref())
    );
    Ok(())
}

/// `path` or its nearest ancestor that exists (`.` for a relative path none of whose parts do).
fn nearest_existing(path: &Path) -> &Path {
    path.ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.is_dir())
        .unwrap_or(Path::new("."))
}

/// Where to write and which name to use: `--name` wins, then the folder's name, then the
/// answers file's name (which then also names the folder).
fn project_path_and_name(
    args: &NewArgs,
    file_name: Option<&str>,
) -> Result<(Option<PathBuf>, Option<String>)> {
    let Some(path) = &args.path else {
        return Ok((None, args.name.clone().or(file_name.map(str::to_string))));
    };
    if args.name.is_some() {
        return Ok((Some(path.clone()), args.name.clone()));
    }
    let absolute = if path.is_absolute() {
        path.clone()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("reading", Path::new("the current folder"), e))?
            .join(path)
    };
    let folder = normalize(&absolute)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::usage(format!(
                "cannot take a project name from {}; pass --name.",
                path.display()
            ))
        })?;
    Ok((Some(path.clone()), Some(folder)))
}

/// Resolves `.` and `..` lexically, so `new .` names the project after the current folder.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn summary(
    path: &Path,
    answers: &Answers,
    written: &write::Written,
    git_note: Option<&str>,
) -> String {
    let strategies: Vec<&str> = answers.strategies.iter().map(|s| s.key()).collect();
    let services: Vec<String> = answers
        .strategies
        .iter()
        .map(|s| format!("services/{}", s.service()))
        .collect();
    let mut out = format!(
        "\n{} {} in {} ({} files)\n",
        console::style("Created").green().bold(),
        answers.name,
        path.display(),
        written.files
    );
    if !written.replaced.is_empty() {
        out.push_str(&format!(
            "  replaced {} existing files (--force)\n",
            written.replaced.len()
        ));
    }
    out.push_str(&format!(
        "  strategies  {} ({})\n  model       {} ({})\n  region      {}\n  iac         {}\n  arch        {}\n",
        strategies.join(", "),
        services.join(", "),
        answers.model.as_str(),
        answers.model_id,
        answers.region,
        answers.iac.key(),
        answers.arch.key(),
    ));
    if let Some(note) = git_note {
        out.push_str(&format!("  git         {note}\n"));
    }
    out.push_str(&format!(
        "\n{}\n  cd {}\n  make dev      run the app on loopback (fake Bedrock, no AWS account)\n  make test     build and test the workspace\n  make lint     rustfmt and clippy, warnings are errors\n  make deploy-all OWNER=you@example.com   deploy to AWS (README: Deploy)\n  make help     every target and the strategies present\n",
        console::style("Next steps").bold(),
        shell_quote(&path.display().to_string())
    ));
    out
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The text of `genai-scaffold list`.
pub fn list() -> String {
    let mut out = String::from("Strategies (--strategies, any non-empty subset):\n");
    for s in Strategy::all().unwrap_or_default() {
        out.push_str(&format!("  {:<18} {}\n", s.key(), s.describe()));
    }
    out.push_str(&format!(
        "\nModels (--model; default {}; catalog reviewed {}). The id invoked depends on the region:\n",
        catalog::DEFAULT_MODEL,
        catalog::REVIEWED
    ));
    out.push_str(&catalog::describe());
    out.push_str("  A custom Bedrock model id, inference-profile id or ARN is accepted too.\n");
    out.push_str("\nIaC flavors (--iac):\n");
    for (i, iac) in answers::Iac::ALL.iter().enumerate() {
        let default = if i == 0 { " (default)" } else { "" };
        out.push_str(&format!(
            "  {:<18} {}{default}\n",
            iac.key(),
            iac.describe()
        ));
    }
    out.push_str("\nArchitectures (--arch):\n");
    for (i, arch) in answers::Arch::ALL.iter().enumerate() {
        let default = if i == 0 { " (default)" } else { "" };
        out.push_str(&format!(
            "  {:<18} {}{default}\n",
            arch.key(),
            arch.describe()
        ));
    }
    out
}
