//! `genai-scaffold update`: brings a project made by an older template up to today's,
//! keeping its owner's edits; and `adopt`, which records a base for a project that has none.
//!
//! Three versions of each file meet: the *base* (what generation wrote, the commit under
//! `refs/genai-scaffold/base`, named file by file by the lock's SHA-256s), *ours* (the work
//! tree) and *theirs* (today's template rendered for the recorded answers). Per file:
//! - the template did not change it (theirs is the base): left alone;
//! - the user did not touch it (ours is the base): theirs is taken, written or deleted;
//! - both changed it: a line-level three-way merge (`git merge-file`), conflicts inline;
//! - deleted by the user, changed by the template: stays deleted, listed;
//! - deleted by the template, changed by the user: kept, listed;
//! - lock files (`Cargo.lock`, `package-lock.json`) are never merged as text: `Cargo.lock`
//!   takes theirs while it holds only the shipped packages (cargo's pruning, `add`'s rule),
//!   otherwise it is kept and listed with the command that resolves it again.
//!
//! All of it is applied like `add` (staged, then renamed, undone on a failure), the base ref
//! moving last; the lock and the record end at the new generation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::answers::Answers;
use crate::error::{Error, Result, list_paths};
use crate::project::{self, BaseRecord, RECORD_FILE, Version};
use crate::template::{RenderedFile, TemplateConfig};
use crate::write::{self, Step};
use crate::{catalog, git, lock};

/// What an update does to a project, worked out before anything changes.
#[derive(Debug)]
pub struct Plan {
    /// The recorded answers (new answers at their defaults).
    pub answers: Answers,
    /// The generator version the record names.
    pub recorded_version: String,
    /// Today's generation for those answers, lock included: the new base.
    pub generation: Vec<RenderedFile>,
    /// Files to write: theirs where untouched, merges, the lock.
    pub writes: Vec<RenderedFile>,
    /// Files to delete (untouched, and gone from the template).
    pub deletes: Vec<PathBuf>,
    /// Files the template changed that the update changes (written, merged or deleted).
    pub updated: Vec<PathBuf>,
    /// Files both changed, merged without a conflict.
    pub merged: Vec<PathBuf>,
    /// Files both changed, merged with conflicts: the line of each `<<<<<<<` marker.
    pub conflicts: Vec<(PathBuf, Vec<usize>)>,
    /// Files the user deleted that the template changed: left deleted.
    pub kept_deleted: Vec<PathBuf>,
    /// Files the user changed that the template deleted: kept.
    pub kept_changed: Vec<PathBuf>,
    /// Lock files both changed, kept as they are, with the command that resolves them again.
    pub locks: Vec<(PathBuf, String)>,
    /// Files both changed whose base was not at hand (no base ref, or one that disagrees with
    /// the lock): merged as if both had added them, so every difference is a conflict.
    pub without_base: Vec<PathBuf>,
    /// Whether today's template differs from the base at all.
    pub behind: bool,
    /// A recorded catalog model that has reached its end of life since: kept, named.
    pub retired: Option<String>,
}

/// What `update` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Without git, update even where files differ from the lock.
    pub force: bool,
    /// Work out the merges (an update, or its dry run); `--check` needs only the comparison.
    pub merge: bool,
    /// Refuse a work tree with uncommitted changes (not for `--check`).
    pub clean_tree: bool,
}

/// A file on disk, as the update sees it.
enum Ours {
    Absent,
    /// A folder or a symlink where the generation has a file.
    Other,
    File(Vec<u8>),
}

fn ours(root: &Path, path: &Path) -> Result<Ours> {
    let at = root.join(path);
    match std::fs::symlink_metadata(&at) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ours::Absent),
        Err(e) => Err(Error::io("inspecting", &at, e)),
        Ok(meta) if !meta.is_file() => Ok(Ours::Other),
        Ok(_) => Ok(Ours::File(
            std::fs::read(&at).map_err(|e| Error::io("reading", &at, e))?,
        )),
    }
}

/// Whether a file is one of the package managers' lock files, which are never text-merged.
fn lock_file_command(path: &Path) -> Option<String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    match path.file_name()?.to_str()? {
        "Cargo.lock" => Some("cargo update --workspace".to_string()),
        "package-lock.json" => Some(match dir {
            Some(dir) => format!("npm install --prefix {}", dir.display()),
            None => "npm install".to_string(),
        }),
        _ => None,
    }
}

/// The base's files that match the lock's record (a base ref another clone moved, or one
/// from before an `add`, is not trusted file by file).
fn base_files(
    root: &Path,
    hashes: &BTreeMap<PathBuf, String>,
) -> Result<BTreeMap<PathBuf, RenderedFile>> {
    let Some(repo) = git::repo_of(root) else {
        return Ok(BTreeMap::new());
    };
    let Some(commit) = repo.resolve(&repo.base_ref()) else {
        return Ok(BTreeMap::new());
    };
    Ok(repo
        .read_commit(&commit)?
        .into_iter()
        .filter(|(path, file)| hashes.get(path) == Some(&lock::hash(&file.contents)))
        .collect())
}

/// Works out the update of the project at `root` (see the module docs); changes nothing.
pub fn plan(root: &Path, options: Options) -> Result<Plan> {
    let (answers, recorded) = project::read_record(root, Version::UpToThis)?;
    let recorded_version = recorded_version(root);
    let hashes = lock::read(root)?.ok_or_else(|| {
        Error::usage(format!(
            "{} has no {} recording what was generated, so an update cannot tell your changes \
             from the template's. Run `genai-scaffold adopt` first (it records the project as \
             it is as the base), then update.",
            root.display(),
            lock::LOCK_FILE
        ))
    })?;
    if options.clean_tree {
        refuse_dirty(root, &hashes, options.force)?;
    }
    let config = TemplateConfig::embedded()?;
    let generation = project::render(&config, &answers, &recorded)?;
    let theirs: BTreeMap<&Path, &RenderedFile> =
        generation.iter().map(|f| (f.path.as_path(), f)).collect();
    let base = if options.merge {
        base_files(root, &hashes)?
    } else {
        BTreeMap::new()
    };
    let retired = catalog::find(answers.model.as_str())
        .filter(|m| m.is_retired(&catalog::today()))
        .map(|m| {
            format!(
                "{} (end of life {})",
                m.key,
                m.end_of_life.unwrap_or_default()
            )
        });
    let mut plan = Plan {
        answers,
        recorded_version,
        generation: generation.clone(),
        writes: Vec::new(),
        deletes: Vec::new(),
        updated: Vec::new(),
        merged: Vec::new(),
        conflicts: Vec::new(),
        kept_deleted: Vec::new(),
        kept_changed: Vec::new(),
        locks: Vec::new(),
        without_base: Vec::new(),
        behind: false,
        retired,
    };
    let paths: BTreeSet<&Path> = hashes
        .keys()
        .map(PathBuf::as_path)
        .chain(theirs.keys().copied())
        .filter(|p| *p != Path::new(lock::LOCK_FILE))
        .collect();
    let labels = [
        "yours".to_string(),
        format!("generated by {}", plan.recorded_version),
        format!("template {}", env!("CARGO_PKG_VERSION")),
    ];
    for path in paths {
        let was = hashes.get(path);
        let now = theirs.get(path).copied();
        if now.map(|f| lock::hash(&f.contents)).as_ref() == was {
            continue; // the template did not change it
        }
        plan.behind = true;
        let mine = ours(root, path)?;
        let untouched = match (&mine, was) {
            (Ours::Absent, None) => true,
            (Ours::File(bytes), Some(hash)) => &lock::hash(bytes) == hash,
            _ => false,
        };
        match (mine, now) {
            _ if untouched => {
                if let Some(file) = now {
                    if let Some(blocked) = write::blocking_ancestor(root, path) {
                        plan.kept_changed.push(blocked);
                        continue;
                    }
                    plan.writes.push(file.clone());
                } else {
                    plan.deletes.push(path.to_path_buf());
                }
                plan.updated.push(path.to_path_buf());
            }
            (Ours::File(bytes), Some(file)) if bytes == file.contents => {} // the same change
            (Ours::Absent, Some(_)) => plan.kept_deleted.push(path.to_path_buf()),
            (Ours::Absent, None) => {} // deleted on both sides
            (Ours::File(_) | Ours::Other, None) | (Ours::Other, Some(_)) => {
                plan.kept_changed.push(path.to_path_buf());
            }
            (Ours::File(bytes), Some(file)) => {
                if let Some(command) = lock_file_command(path) {
                    let shipped = base.get(path).map(|b| b.contents.as_slice());
                    let only_pruned = path == Path::new(project::CARGO_LOCK)
                        && (project::pruned_from(&bytes, &file.contents)
                            || shipped.is_some_and(|s| project::pruned_from(&bytes, s)));
                    if only_pruned {
                        plan.writes.push(file.clone());
                        plan.updated.push(path.to_path_buf());
                    } else {
                        plan.locks.push((path.to_path_buf(), command));
                    }
                    continue;
                }
                if !options.merge {
                    continue;
                }
                let base_bytes = match base.get(path) {
                    Some(b) => b.contents.clone(),
                    None => {
                        if was.is_some() {
                            plan.without_base.push(path.to_path_buf());
                        }
                        Vec::new()
                    }
                };
                let labels = [&labels[0], &labels[1], &labels[2]].map(String::as_str);
                let (merged, conflicts) = git::merge(&bytes, &base_bytes, &file.contents, labels)?;
                if conflicts == 0 {
                    plan.merged.push(path.to_path_buf());
                } else {
                    let lines = String::from_utf8_lossy(&merged)
                        .lines()
                        .enumerate()
                        .filter(|(_, l)| l.starts_with("<<<<<<< "))
                        .map(|(i, _)| i + 1)
                        .collect();
                    plan.conflicts.push((path.to_path_buf(), lines));
                }
                plan.updated.push(path.to_path_buf());
                plan.writes.push(RenderedFile {
                    path: path.to_path_buf(),
                    contents: merged,
                    executable: file.executable,
                });
            }
        }
    }
    // The lock names the new generation, whatever else stayed as it was.
    if let Some(new_lock) = theirs.get(Path::new(lock::LOCK_FILE)) {
        let on_disk = std::fs::read(root.join(lock::LOCK_FILE)).ok();
        if on_disk.as_deref() != Some(new_lock.contents.as_slice()) {
            plan.writes.push((*new_lock).clone());
        }
    }
    Ok(plan)
}

/// Refuses a work tree with uncommitted changes: in git, whatever `git status` lists for the
/// project; without git, a file that differs from the lock (unless `force`).
fn refuse_dirty(root: &Path, hashes: &BTreeMap<PathBuf, String>, force: bool) -> Result<()> {
    if let Some(repo) = git::repo_of(root) {
        let dirty = repo.dirty()?;
        if dirty.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = dirty.iter().take(20).map(String::as_str).collect();
        let more = dirty.len().saturating_sub(shown.len());
        return Err(Error::usage(format!(
            "nothing was changed: {} has uncommitted changes. Commit them (or stash them) and \
             run again, so that `git diff` shows exactly what the update did and `git \
             checkout .` undoes it:\n  {}{}",
            root.display(),
            shown.join("\n  "),
            if more > 0 {
                format!("\n  ... and {more} more")
            } else {
                String::new()
            }
        )));
    }
    if force {
        return Ok(());
    }
    let mut changed = Vec::new();
    for (path, hash) in hashes {
        match ours(root, path)? {
            Ours::File(bytes) if &lock::hash(&bytes) == hash => {}
            _ => changed.push(path.clone()),
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "nothing was changed: {} is not in a git repository, and these files differ from what \
         genai-scaffold wrote, with nothing to undo an update with. Put the project in git \
         (git init && git add -A && git commit -m start, then genai-scaffold adopt), or pass \
         --force to merge into them anyway:\n{}",
        root.display(),
        list_paths(&changed)
    )))
}

/// The version the record names, for the report.
fn recorded_version(root: &Path) -> String {
    std::fs::read_to_string(root.join(RECORD_FILE))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("generator")?
                .get("version")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "an unknown version".to_string())
}

/// Applies a plan (nothing when the project is current), calling `before` ahead of each step;
/// a failure at any step leaves the work tree and the refs as they were.
pub fn apply_with(
    root: &Path,
    plan: &Plan,
    before: impl FnMut(Step) -> std::io::Result<()>,
) -> Result<()> {
    if !plan.behind {
        return Ok(());
    }
    record_generation(root, &plan.generation, &plan.writes, &plan.deletes, before)
}

/// Writes `writes`, deletes `deletes` and points the base ref at `generation` (in a git
/// repository), all or nothing.
fn record_generation(
    root: &Path,
    generation: &[RenderedFile],
    writes: &[RenderedFile],
    deletes: &[PathBuf],
    before: impl FnMut(Step) -> std::io::Result<()>,
) -> Result<()> {
    let base = BaseRecord::prepare(root, generation)?;
    let mut finish = base.as_ref().map(|b| move || b.record());
    write::change_project_then(
        root,
        writes,
        deletes,
        before,
        finish.as_mut().map(|f| f as &mut dyn FnMut() -> Result<()>),
    )
}

/// The report an update prints.
pub fn describe(root: &Path, plan: &Plan, dry_run: bool) -> String {
    let mut out = String::new();
    if !plan.behind {
        out.push_str(&format!(
            "{} is up to date with the template of genai-scaffold {}.\n",
            root.display(),
            env!("CARGO_PKG_VERSION")
        ));
        return out;
    }
    out.push_str(&format!(
        "{} {} from the template of genai-scaffold {} to that of {}:\n",
        if dry_run { "Would update" } else { "Updated" },
        root.display(),
        plan.recorded_version,
        env!("CARGO_PKG_VERSION")
    ));
    let conflicted: BTreeSet<&PathBuf> = plan.conflicts.iter().map(|(p, _)| p).collect();
    let clean: Vec<&PathBuf> = plan
        .updated
        .iter()
        .filter(|p| !conflicted.contains(p))
        .collect();
    out.push_str(&format!("\nUpdated cleanly ({}):\n", clean.len()));
    for path in clean {
        let how = if plan.deletes.contains(path) {
            "deleted"
        } else if plan.merged.contains(path) {
            "merged with your changes"
        } else {
            "written"
        };
        out.push_str(&format!("  {}  ({how})\n", path.display()));
    }
    if !plan.conflicts.is_empty() {
        out.push_str(&format!(
            "\nConflicts ({}): both you and the template changed these lines; edit each \
             <<<<<<< yours ... ======= ... >>>>>>> template block to what it should be:\n",
            plan.conflicts.len()
        ));
        for (path, lines) in &plan.conflicts {
            let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
            out.push_str(&format!(
                "  {}  (line {})\n",
                path.display(),
                lines.join(", ")
            ));
        }
    }
    if !plan.without_base.is_empty() {
        out.push_str(
            "\nMerged without the generation they came from (no refs/genai-scaffold/base at \
             hand: fetch it with `git fetch origin 'refs/genai-scaffold/*:refs/genai-scaffold/*'`), \
             so each difference is a conflict:\n",
        );
        out.push_str(&format!("{}\n", list_paths(&plan.without_base)));
    }
    if !plan.kept_deleted.is_empty() {
        out.push_str(
            "\nKept deleted: you deleted these and the template has changed them since; \
             restore one with `git show refs/genai-scaffold/base:<path>` after this update:\n",
        );
        out.push_str(&format!("{}\n", list_paths(&plan.kept_deleted)));
    }
    if !plan.kept_changed.is_empty() {
        out.push_str(
            "\nKept with your changes: the template no longer has these (or has a file below \
             one); delete them if you no longer need them:\n",
        );
        out.push_str(&format!("{}\n", list_paths(&plan.kept_changed)));
    }
    if !plan.locks.is_empty() {
        out.push_str(
            "\nLock files kept as you have them (never merged as text); resolve again with:\n",
        );
        for (path, command) in &plan.locks {
            out.push_str(&format!("  {}  ->  {command}\n", path.display()));
        }
    }
    if let Some(model) = &plan.retired {
        out.push_str(&format!(
            "\nThe recorded model {model} has reached its end of life; it is kept. Choose \
             another from `genai-scaffold list` and set it in .genai-scaffold.toml and \
             infra when you can.\n"
        ));
    }
    if dry_run {
        out.push_str("\nNothing was changed (--dry-run).\n");
        return out;
    }
    out.push_str("\nNext steps\n");
    if !plan.conflicts.is_empty() {
        out.push_str("  resolve the conflicts above (git diff shows them)\n");
    }
    out.push_str("  make test     build and test the workspace\n  git add -A && git commit   keep the update\n");
    out
}

/// The text of `update --check`, and whether the project is behind.
pub fn check(root: &Path) -> Result<(String, bool)> {
    let plan = plan(
        root,
        Options {
            force: true,
            merge: false,
            clean_tree: false,
        },
    )?;
    let text = if plan.behind {
        format!(
            "{} is behind the template of genai-scaffold {}: run `genai-scaffold update`.\n",
            root.display(),
            env!("CARGO_PKG_VERSION")
        )
    } else {
        format!(
            "{} is up to date with the template of genai-scaffold {}.\n",
            root.display(),
            env!("CARGO_PKG_VERSION")
        )
    };
    Ok((text, plan.behind))
}

/// `genai-scaffold adopt`: records a base for a project that has none (made by
/// `cargo generate`, or before bases were kept). A file whose bytes the lock records is its
/// own base; any other is based on today's template for the recorded answers, so whatever
/// differs from it counts as the user's and is kept by later updates. Returns the report.
pub fn adopt(root: &Path) -> Result<String> {
    let (answers, recorded) = project::read_record(root, Version::UpToThis)?;
    let config = TemplateConfig::embedded()?;
    let today = project::render(&config, &answers, &recorded)?;
    let today: BTreeMap<PathBuf, RenderedFile> = today
        .into_iter()
        .filter(|f| f.path != Path::new(lock::LOCK_FILE))
        .map(|f| (f.path.clone(), f))
        .collect();
    let hashes = lock::read(root)?;
    if let Some(repo) = git::repo_of(root)
        && repo.resolve(&repo.base_ref()).is_some()
        && hashes.is_some()
    {
        return Ok(format!(
            "{} already has its base ({}); `genai-scaffold update` needs nothing more.\n",
            root.display(),
            repo.base_ref()
        ));
    }
    let paths: Vec<PathBuf> = match &hashes {
        Some(h) => h
            .keys()
            .filter(|p| *p != Path::new(lock::LOCK_FILE))
            .cloned()
            .collect(),
        None => today.keys().cloned().collect(),
    };
    let mut base = Vec::new();
    let mut assumed = Vec::new();
    for path in paths {
        let recorded_hash = hashes.as_ref().and_then(|h| h.get(&path));
        let on_disk = match ours(root, &path)? {
            Ours::File(bytes) => Some(bytes),
            _ => None,
        };
        let executable = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(root.join(&path)).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        };
        match (on_disk, today.get(&path)) {
            (Some(bytes), _) if recorded_hash == Some(&lock::hash(&bytes)) => {
                base.push(RenderedFile {
                    path,
                    contents: bytes,
                    executable,
                });
            }
            (on_disk, Some(file)) => {
                if on_disk.as_deref() != Some(file.contents.as_slice())
                    && recorded_hash != Some(&lock::hash(&file.contents))
                {
                    assumed.push(path.clone());
                }
                base.push(file.clone());
            }
            (Some(bytes), None) => {
                assumed.push(path.clone());
                base.push(RenderedFile {
                    path,
                    contents: bytes,
                    executable,
                });
            }
            (None, None) => {}
        }
    }
    let lock_file = lock::lock_file(&base);
    let mut writes = Vec::new();
    if std::fs::read(root.join(lock::LOCK_FILE)).ok().as_deref() != Some(&lock_file.contents[..]) {
        writes.push(lock_file.clone());
    }
    base.push(lock_file);
    record_generation(root, &base, &writes, &[], |_| Ok(()))?;
    let mut out = format!(
        "Adopted {}: its base now records {} files{}.\n",
        root.display(),
        base.len(),
        match git::repo_of(root) {
            Some(repo) => format!(" ({} and {})", lock::LOCK_FILE, repo.base_ref()),
            None => format!(
                " ({} only: outside git, an update merges without the base)",
                lock::LOCK_FILE
            ),
        }
    );
    if !assumed.is_empty() {
        out.push_str(&format!(
            "These differ from what genai-scaffold would write today and were not recorded as \
             generated: they count as your changes, and updates keep them:\n{}\n",
            list_paths(&assumed)
        ));
    }
    out.push_str("\nNext: commit it (git add -A && git commit), then `genai-scaffold update`.\n");
    Ok(out)
}
