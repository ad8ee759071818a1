//! The git plumbing `new`, `add`, `remove`, `update` and `adopt` use: the `git` command, run
//! with the project's repository named explicitly, never a library of our own.
//!
//! The pristine generation of a project (its *base*) is a commit under
//! `refs/genai-scaffold/base` in the project's repository: the files genai-scaffold rendered,
//! as it rendered them, whatever the work tree holds now. A ref keeps its objects from git's
//! garbage collection (a blob id in a file would not: cruft's "repository lacks the necessary
//! blob"), and `update` needs nothing else to rebuild the base of a three-way merge: only
//! today's template is embedded in the binary, so the recorded version's cannot be rendered
//! again. The lock (`.genai-scaffold.lock`) names the same files by SHA-256, so a base file
//! that does not match it is not used (ARCHITECTURE.md: "`generator/git.rs`").

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::template::RenderedFile;

/// The identity of the commits genai-scaffold makes for a base: machine-made, so never the
/// user's (who may have none configured).
const MACHINE: (&str, &str) = ("genai-scaffold", "genai-scaffold@users.noreply.invalid");

/// A repository holding a project, and where the project is inside it.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The folder git commands run in: the project's.
    pub dir: PathBuf,
    /// The project's path below the repository's top, `/`-separated; empty at the top.
    pub prefix: String,
}

/// `git` with the environment variables that would point it at another repository removed
/// (a hook that runs the tests sets `GIT_DIR`), prompts off, in `dir`.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_PREFIX",
        "GIT_OBJECT_DIRECTORY",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0").stdin(Stdio::null());
    cmd
}

/// Runs `cmd` feeding `input`, and returns its stdout; a failure names `what` and git's words.
fn run(mut cmd: Command, input: Option<Vec<u8>>, what: &str) -> Result<Vec<u8>> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(&format!("running git to {what} in"), Path::new("."), e))?;
    // Written from a thread: git may answer while it reads, and a full pipe would block both.
    let writer = input.map(|bytes| {
        let mut stdin = child.stdin.take().expect("stdin was piped");
        std::thread::spawn(move || stdin.write_all(&bytes))
    });
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut stderr);
    }
    let status = child
        .wait()
        .map_err(|e| Error::io(&format!("running git to {what} in"), Path::new("."), e))?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if !status.success() {
        return Err(Error::Io {
            action: format!("running git to {what}"),
            source: std::io::Error::other(String::from_utf8_lossy(&stderr).trim().to_string()),
        });
    }
    Ok(stdout)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim().to_string()
}

/// Whether a `git` command can be run at all.
pub fn available() -> bool {
    Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The repository whose work tree holds `dir` (an existing folder), if any.
pub fn repo_of(dir: &Path) -> Option<Repo> {
    let mut cmd = git(dir);
    cmd.args(["rev-parse", "--show-prefix"]);
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let prefix = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Some(Repo {
        dir: dir.to_path_buf(),
        prefix: prefix.trim_end_matches('/').to_string(),
    })
}

impl Repo {
    /// The ref that holds the project's base: `refs/genai-scaffold/base` for a project at the
    /// repository's top, `refs/genai-scaffold/<its path>/base` for one further down.
    pub fn base_ref(&self) -> String {
        if self.prefix.is_empty() {
            "refs/genai-scaffold/base".to_string()
        } else {
            format!("refs/genai-scaffold/{}/base", self.prefix)
        }
    }

    /// The commit a ref points at, if it exists.
    pub fn resolve(&self, name: &str) -> Option<String> {
        let mut cmd = git(&self.dir);
        cmd.args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{name}^{{commit}}"));
        let out = cmd.stderr(Stdio::null()).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Stores `files` as a commit of their own (parent `parent`), touching no ref, the index
    /// or the work tree, and returns its id.
    pub fn write_commit(
        &self,
        files: &[RenderedFile],
        parent: Option<&str>,
        message: &str,
    ) -> Result<String> {
        // One fast-import for every blob: it prints each blob's id on `get-mark`.
        let mut stream = Vec::new();
        for (i, file) in files.iter().enumerate() {
            stream.extend_from_slice(
                format!("blob\nmark :{}\ndata {}\n", i + 1, file.contents.len()).as_bytes(),
            );
            stream.extend_from_slice(&file.contents);
            stream.push(b'\n');
        }
        for i in 0..files.len() {
            stream.extend_from_slice(format!("get-mark :{}\n", i + 1).as_bytes());
        }
        let mut cmd = git(&self.dir);
        cmd.args(["fast-import", "--quiet", "--done"]);
        stream.extend_from_slice(b"done\n");
        let ids = text(run(cmd, Some(stream), "store the base's files")?);
        let ids: Vec<&str> = ids.lines().collect();
        if ids.len() != files.len() {
            return Err(Error::Io {
                action: "running git fast-import".into(),
                source: std::io::Error::other(format!(
                    "{} blob ids for {} files",
                    ids.len(),
                    files.len()
                )),
            });
        }
        // A tree from a throwaway index, so the user's index is never read or written.
        let git_dir = PathBuf::from(text(run(
            {
                let mut c = git(&self.dir);
                c.args(["rev-parse", "--absolute-git-dir"]);
                c
            },
            None,
            "find the repository",
        )?));
        let index = git_dir.join(format!("genai-scaffold-index-{}", std::process::id()));
        let _ = std::fs::remove_file(&index);
        let mut listing = Vec::new();
        for (file, id) in files.iter().zip(&ids) {
            let mode = if file.executable { "100755" } else { "100644" };
            listing.extend_from_slice(format!("{mode} {id}\t").as_bytes());
            listing.extend_from_slice(file.path.to_string_lossy().replace('\\', "/").as_bytes());
            listing.push(0);
        }
        let tree = (|| {
            let mut cmd = git(&self.dir);
            cmd.env("GIT_INDEX_FILE", &index)
                .args(["update-index", "--add", "-z", "--index-info"]);
            run(cmd, Some(listing), "index the base")?;
            let mut cmd = git(&self.dir);
            cmd.env("GIT_INDEX_FILE", &index).arg("write-tree");
            run(cmd, None, "write the base's tree").map(text)
        })();
        let _ = std::fs::remove_file(&index);
        let tree = tree?;
        let mut cmd = git(&self.dir);
        cmd.env("GIT_AUTHOR_NAME", MACHINE.0)
            .env("GIT_AUTHOR_EMAIL", MACHINE.1)
            .env("GIT_COMMITTER_NAME", MACHINE.0)
            .env("GIT_COMMITTER_EMAIL", MACHINE.1)
            .args(["commit-tree", &tree, "-m", message]);
        if let Some(parent) = parent {
            cmd.args(["-p", parent]);
        }
        run(cmd, None, "commit the base").map(text)
    }

    /// Points `name` at `new`, only if it still points at `old` (absent when `None`): another
    /// command that moved it meanwhile makes this one fail rather than lose its base.
    pub fn update_ref(&self, name: &str, new: &str, old: Option<&str>) -> Result<()> {
        let mut cmd = git(&self.dir);
        cmd.args([
            "update-ref",
            "-m",
            "genai-scaffold",
            name,
            new,
            old.unwrap_or(""),
        ]);
        run(cmd, None, &format!("point {name} at the new base")).map(drop)
    }

    /// The files of a commit, by path, with their bytes and executable bits.
    pub fn read_commit(&self, commit: &str) -> Result<BTreeMap<PathBuf, RenderedFile>> {
        let mut cmd = git(&self.dir);
        cmd.args(["ls-tree", "-r", "-z", "--full-tree", commit]);
        let listing = run(cmd, None, "list the base")?;
        let mut entries = Vec::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let parts: Vec<&str> = meta.split(' ').collect();
            if parts.len() == 3 && parts[1] == "blob" {
                entries.push((parts[0] == "100755", parts[2].to_string(), path.to_string()));
            }
        }
        let mut cmd = git(&self.dir);
        cmd.args(["cat-file", "--batch"]);
        let request: String = entries.iter().map(|(_, id, _)| format!("{id}\n")).collect();
        let out = run(cmd, Some(request.into_bytes()), "read the base")?;
        // Each answer: "<id> blob <size>\n<bytes>\n".
        let mut files = BTreeMap::new();
        let mut at = 0;
        for (executable, _, path) in entries {
            let header_end = out[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| at + p)
                .ok_or_else(|| Error::Template("git cat-file answered short".into()))?;
            let header = String::from_utf8_lossy(&out[at..header_end]).to_string();
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::Template(format!("git cat-file answered {header}")))?;
            let start = header_end + 1;
            let contents = out
                .get(start..start + size)
                .ok_or_else(|| Error::Template("git cat-file answered short".into()))?
                .to_vec();
            at = start + size + 1;
            files.insert(
                PathBuf::from(&path),
                RenderedFile {
                    path: PathBuf::from(path),
                    contents,
                    executable,
                },
            );
        }
        Ok(files)
    }

    /// What `git status` lists for the project's folder (changes, staged or not, and
    /// untracked files), one path per line as git shows it.
    pub fn dirty(&self) -> Result<Vec<String>> {
        let mut cmd = git(&self.dir);
        cmd.args([
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--ignore-submodules",
            "--",
            ".",
        ]);
        // Not trimmed: a line's first column is part of its status (" M path").
        Ok(
            String::from_utf8_lossy(&run(cmd, None, "look for uncommitted changes")?)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }
}

/// Makes `dir` (a folder holding a fresh project) a repository whose first commit is every
/// file in it, and points the base ref at that commit. The user's identity is used when git
/// has one; otherwise genai-scaffold's, for this commit only.
pub fn init_with_first_commit(dir: &Path) -> Result<()> {
    let mut cmd = git(dir);
    cmd.args(["init", "--quiet"]);
    run(cmd, None, "make the repository")?;
    let mut cmd = git(dir);
    cmd.args(["add", "--all"]);
    run(cmd, None, "add the project's files")?;
    let configured = |key: &str| {
        git(dir)
            .args(["config", "--get", key])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut cmd = git(dir);
    if !configured("user.name") {
        cmd.args(["-c", &format!("user.name={}", MACHINE.0)]);
    }
    if !configured("user.email") {
        cmd.args(["-c", &format!("user.email={}", MACHINE.1)]);
    }
    cmd.args([
        "commit",
        "--quiet",
        "--no-verify",
        "--no-gpg-sign",
        "-m",
        &format!("Generated by genai-scaffold {}", env!("CARGO_PKG_VERSION")),
    ]);
    run(cmd, None, "make the first commit")?;
    let repo = Repo {
        dir: dir.to_path_buf(),
        prefix: String::new(),
    };
    let head = repo
        .resolve("HEAD")
        .ok_or_else(|| Error::Template("the first commit has no id".into()))?;
    repo.update_ref(&repo.base_ref(), &head, None)
}

/// A line-level three-way merge of `ours` and `theirs` from `base` (`git merge-file`), with
/// inline conflict markers. Returns the merged bytes and the number of conflicts.
pub fn merge(ours: &[u8], base: &[u8], theirs: &[u8], labels: [&str; 3]) -> Result<(Vec<u8>, u32)> {
    let dir = scratch_dir()?;
    let result = (|| {
        let paths = ["ours", "base", "theirs"].map(|n| dir.join(n));
        for (path, bytes) in paths.iter().zip([ours, base, theirs]) {
            std::fs::write(path, bytes).map_err(|e| Error::io("writing", path, e))?;
        }
        let out = git(&dir)
            .args(["merge-file", "-p"])
            .args(["-L", labels[0], "-L", labels[1], "-L", labels[2]])
            .args(&paths)
            .output()
            .map_err(|e| Error::io("running git merge-file in", &dir, e))?;
        // The exit code is the number of conflicts (capped at 127); a negative one an error.
        match out.status.code() {
            Some(n) if (0..128).contains(&n) => Ok((out.stdout, n as u32)),
            _ => Err(Error::Io {
                action: "running git merge-file".into(),
                source: std::io::Error::other(String::from_utf8_lossy(&out.stderr).to_string()),
            }),
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn scratch_dir() -> Result<PathBuf> {
    let root = std::env::temp_dir();
    for n in 0..100 {
        let dir = root.join(format!("genai-scaffold-merge-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("creating a folder in", &root, e)),
        }
    }
    Err(Error::usage(format!(
        "{} holds 100 genai-scaffold-merge-* folders; remove them and run again.",
        root.display()
    )))
}
