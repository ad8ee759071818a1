//! Puts a rendered project on disk without ever leaving half of one behind.
//!
//! Every file is first written into a temporary folder beside the target (same file system,
//! so the final step is a rename). Only when all of them are written does the project move
//! into place: one rename of the whole folder for a new or empty target, or one rename per
//! file over an existing folder with `--force`. With `--force`, each file it replaces is
//! first renamed into a backup folder beside the target; a failure while moving puts every
//! replaced file back, removes the files and folders it added, and deletes both temporary
//! folders. Either way a failure leaves the target as it was. `add` and `remove` change a
//! project the same way ([`change_project_with`]), deletions going into the backup folder.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, list_paths};
use crate::template::RenderedFile;

/// What a write did.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    /// Files written, relative to the target.
    pub files: usize,
    /// Existing files that `--force` replaced, relative to the target.
    pub replaced: Vec<PathBuf>,
}

/// The files of `files` that already exist in `target`.
pub fn conflicts(target: &Path, files: &[RenderedFile]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| target.join(&f.path).symlink_metadata().is_ok())
        .map(|f| f.path.clone())
        .collect()
}

/// Checks that `target` can take the project: it does not exist, is an empty folder, or
/// `force` is given. Returns the existing files that would be replaced.
pub fn check_target(target: &Path, files: &[RenderedFile], force: bool) -> Result<Vec<PathBuf>> {
    let meta = match target.symlink_metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("inspecting", target, e)),
    };
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "{} exists and is not a folder. Choose another project path.",
            target.display()
        )));
    }
    let empty = fs::read_dir(target)
        .map_err(|e| Error::io("reading", target, e))?
        .next()
        .is_none();
    if empty {
        return Ok(Vec::new());
    }
    let conflicting = conflicts(target, files);
    // Any file a project of ours writes that is also there must be a parent folder clash
    // (a file where we need a folder); report those as conflicts too.
    let blocked: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| blocking_ancestor(target, &f.path))
        .collect();
    let folders: Vec<PathBuf> = conflicting
        .iter()
        .filter(|p| target.join(p).symlink_metadata().is_ok_and(|m| m.is_dir()))
        .cloned()
        .collect();
    if force {
        if let Some(path) = folders.first() {
            return Err(Error::usage(format!(
                "{} is a folder where the project has a file; --force only replaces files. \
                 Move it away and run again.",
                target.join(path).display()
            )));
        }
        if let Some(path) = blocked.first() {
            return Err(Error::usage(format!(
                "{} is a file where the project needs a folder; --force only replaces files. \
                 Move it away and run again.",
                target.join(path).display()
            )));
        }
        return Ok(conflicting);
    }
    let mut message = format!("{} exists and is not empty.", target.display());
    if conflicting.is_empty() {
        message.push_str(" None of its files would be replaced.");
    } else {
        message.push_str(&format!(
            " These files would be replaced:\n{}",
            list_paths(&conflicting)
        ));
    }
    message.push_str(
        "\nChoose a new or empty folder, or pass --force to write the project into it \
         (it replaces only the files listed and deletes nothing).",
    );
    Err(Error::usage(message))
}

/// A proper ancestor of `rel` that exists in `target` as something other than a folder.
pub(crate) fn blocking_ancestor(target: &Path, rel: &Path) -> Option<PathBuf> {
    rel.ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| target.join(a).symlink_metadata().is_ok_and(|m| !m.is_dir()))
        .map(Path::to_path_buf)
}

/// Writes `files` into `target` (see the module docs). `force` allows a non-empty target.
pub fn write_project(target: &Path, files: &[RenderedFile], force: bool) -> Result<Written> {
    write_project_with(target, files, force, |_| Ok(()))
}

/// A step of a write, for [`write_project_with`]'s fault hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Writing a file (relative path) into the staging folder.
    Stage(&'a Path),
    /// Moving a staged file (relative path) over the target's, with `--force` or by `add`.
    Move(&'a Path),
    /// Taking a file (relative path) out of the target, by `remove`.
    Delete(&'a Path),
    /// Recording the new generation (the base ref), once every file is in place.
    Finish,
}

/// [`write_project`], calling `before` ahead of each step; an error it returns fails that
/// step. Tests use it to inject a failure at any point.
pub fn write_project_with(
    target: &Path,
    files: &[RenderedFile],
    force: bool,
    before: impl FnMut(Step) -> io::Result<()>,
) -> Result<Written> {
    write_project_then(target, files, force, before, |_| Ok(()))
}

/// [`write_project_with`], calling `staged` with the staging folder once every file is in it,
/// before it becomes the project, when the target is new or an empty folder (`new` makes the
/// project's git repository there, so a failure leaves no repository either).
pub fn write_project_then(
    target: &Path,
    files: &[RenderedFile],
    force: bool,
    mut before: impl FnMut(Step) -> io::Result<()>,
    staged: impl FnOnce(&Path) -> Result<()>,
) -> Result<Written> {
    let replaced = check_target(target, files, force)?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| Error::io("creating", &parent, e))?;
    let staging = stage(&parent, target, files, &mut before)?;
    let moved = if dir_has_entries(target) {
        move_files_into(&parent, &staging, target, files, &[], &mut before, None)
    } else {
        // A new target, or an empty folder: rename(2) replaces an empty directory.
        staged(&staging).and_then(|()| {
            fs::rename(&staging, target).map_err(|e| Error::io("moving the project to", target, e))
        })
    };
    let _ = fs::remove_dir_all(&staging);
    moved?;
    Ok(Written {
        files: files.len(),
        replaced,
    })
}

/// Changes an existing project in place, all or nothing: writes `files` (new, or replacing
/// the file at their path) and deletes `deletes` (relative paths), then removes the folders
/// the deletions left empty. `before` is called ahead of each step, as in
/// [`write_project_with`]; a failure at any step leaves `target` as it was.
pub fn change_project_with(
    target: &Path,
    files: &[RenderedFile],
    deletes: &[PathBuf],
    before: impl FnMut(Step) -> io::Result<()>,
) -> Result<()> {
    change_project_then(target, files, deletes, before, None)
}

/// [`change_project_with`], then `finish` (pointing the base ref at the new generation) once
/// every file is in place, ahead of it a [`Step::Finish`]; a failure of either undoes the
/// files too.
pub fn change_project_then(
    target: &Path,
    files: &[RenderedFile],
    deletes: &[PathBuf],
    mut before: impl FnMut(Step) -> io::Result<()>,
    finish: Option<&mut dyn FnMut() -> Result<()>>,
) -> Result<()> {
    // Staging inside the project keeps every move a rename on one file system, even where the
    // project folder is a mount of its own (a dev container's workspace).
    let target = &fs::canonicalize(target).map_err(|e| Error::io("reading", target, e))?;
    let staging = stage(target, target, files, &mut before)?;
    let moved = move_files_into(
        target,
        &staging,
        target,
        files,
        deletes,
        &mut before,
        finish,
    );
    let _ = fs::remove_dir_all(&staging);
    moved?;
    for path in deletes {
        // Deepest first; `remove_dir` fails on (and so keeps) a folder that still has entries.
        for dir in path.ancestors().skip(1) {
            if dir.as_os_str().is_empty() || fs::remove_dir(target.join(dir)).is_err() {
                break;
            }
        }
    }
    Ok(())
}

/// Writes every file into a fresh staging folder beside `target` and returns it; on a
/// failure the folder is removed.
fn stage(
    parent: &Path,
    target: &Path,
    files: &[RenderedFile],
    before: &mut impl FnMut(Step) -> io::Result<()>,
) -> Result<PathBuf> {
    let staging = staging_dir(parent, target)?;
    let staged = (|| -> Result<()> {
        for file in files {
            before(Step::Stage(&file.path))
                .map_err(|e| Error::io("writing", &target.join(&file.path), e))?;
            write_file(&staging.join(&file.path), file)?;
        }
        Ok(())
    })();
    match staged {
        Ok(()) => Ok(staging),
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

fn dir_has_entries(path: &Path) -> bool {
    fs::read_dir(path).is_ok_and(|mut d| d.next().is_some())
}

/// Creates a fresh temporary folder beside the target: `.<name>.genai-scaffold-<pid>-<n>`.
fn staging_dir(parent: &Path, target: &Path) -> Result<PathBuf> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    for n in 0..100 {
        let candidate = parent.join(format!(".{name}.genai-scaffold-{}-{n}", std::process::id()));
        match fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("creating a staging folder in", parent, e)),
        }
    }
    Err(Error::usage(format!(
        "{} holds 100 stale .{name}.genai-scaffold-* folders; remove them and run again.",
        parent.display()
    )))
}

fn write_file(path: &Path, file: &RenderedFile) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let mut out = fs::File::create(path).map_err(|e| Error::io("creating", path, e))?;
    out.write_all(&file.contents)
        .map_err(|e| Error::io("writing", path, e))?;
    if file.executable {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("making executable", path, e))?;
    }
    Ok(())
}

/// What `--force` changed in the target so far, to undo on a failure.
#[derive(Default)]
struct Journal {
    /// Folders it created, parents first.
    created_dirs: Vec<PathBuf>,
    /// Files it moved in (relative), and whether each replaced one now in the backup.
    moved: Vec<(PathBuf, bool)>,
    /// Files it deleted (relative), each now in the backup.
    deleted: Vec<PathBuf>,
}

/// Into a non-empty folder: each staged file replaces its counterpart by rename, the
/// counterpart first renamed into a backup folder, and each of `deletes` is renamed into that
/// folder too. Nothing else in the folder is touched. On a failure every step is undone (see
/// the module docs).
fn move_files_into(
    parent: &Path,
    staging: &Path,
    target: &Path,
    files: &[RenderedFile],
    deletes: &[PathBuf],
    before: &mut impl FnMut(Step) -> io::Result<()>,
    finish: Option<&mut dyn FnMut() -> Result<()>>,
) -> Result<()> {
    let backup = staging_dir(parent, target)?;
    let mut journal = Journal::default();
    let outcome = (|| -> Result<()> {
        for path in deletes {
            let at = target.join(path);
            before(Step::Delete(path)).map_err(|e| Error::io("deleting", &at, e))?;
            let kept = backup.join(path);
            if let Some(dir) = kept.parent() {
                fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
            }
            fs::rename(&at, &kept).map_err(|e| Error::io("deleting", &at, e))?;
            journal.deleted.push(path.clone());
        }
        for file in files {
            let to = target.join(&file.path);
            before(Step::Move(&file.path)).map_err(|e| Error::io("writing", &to, e))?;
            if let Some(dir) = to.parent() {
                create_dirs(dir, &mut journal.created_dirs)?;
            }
            let replaces = to.symlink_metadata().is_ok();
            if replaces {
                let kept = backup.join(&file.path);
                if let Some(dir) = kept.parent() {
                    fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
                }
                fs::rename(&to, &kept).map_err(|e| Error::io("backing up", &to, e))?;
            }
            // Recorded before the rename: undoing a move that did not happen only restores.
            journal.moved.push((file.path.clone(), replaces));
            fs::rename(staging.join(&file.path), &to).map_err(|e| Error::io("writing", &to, e))?;
        }
        if let Some(finish) = finish {
            before(Step::Finish)
                .map_err(|e| Error::io("recording the generation of", target, e))?;
            finish()?;
        }
        Ok(())
    })();
    if outcome.is_err() {
        undo(target, &backup, &journal);
    }
    let _ = fs::remove_dir_all(&backup);
    outcome
}

/// Creates `dir` and its missing parents, recording each one it created.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| a.symlink_metadata().is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        fs::create_dir(dir).map_err(|e| Error::io("creating", dir, e))?;
        created.push(dir.to_path_buf());
    }
    Ok(())
}

/// Puts the target back as it was before [`move_files_into`]: best effort, last step first.
fn undo(target: &Path, backup: &Path, journal: &Journal) {
    for (path, replaced) in journal.moved.iter().rev() {
        let at = target.join(path);
        let kept = backup.join(path);
        if *replaced {
            if kept.symlink_metadata().is_ok() {
                let _ = fs::rename(&kept, &at);
            }
        } else {
            let _ = fs::remove_file(&at);
        }
    }
    for dir in journal.created_dirs.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
    for path in journal.deleted.iter().rev() {
        let _ = fs::rename(backup.join(path), target.join(path));
    }
}

/// The `--dry-run` listing: each file with its size, then a total.
pub fn describe_plan(target: &Path, files: &[RenderedFile], replaced: &[PathBuf]) -> String {
    let mut out = format!(
        "Would write {} files into {}:\n",
        files.len(),
        target.display()
    );
    let mut total = 0;
    for f in files {
        total += f.contents.len();
        let mark = if replaced.contains(&f.path) {
            "  (replaces existing)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:>9}  {}{}\n",
            human_size(f.contents.len()),
            f.path.display(),
            mark
        ));
    }
    out.push_str(&format!(
        "{:>9}  total. Nothing was written (--dry-run).\n",
        human_size(total)
    ));
    out
}

fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
