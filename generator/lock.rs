//! `.genai-scaffold.lock`: what genai-scaffold wrote into a project, as a content hash per
//! file. `remove` deletes a file, and `add` replaces one, only while it still has the bytes
//! generation gave it, so nothing a user changed is lost without `--force`.
//!
//! cargo-generate cannot write this file, so it is the one file in which a genai-scaffold
//! project differs from a cargo-generate one (`tests/parity.rs`). A project without it is
//! compared with the template rendered again from its `.genai-scaffold.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::template::RenderedFile;

/// The lock file's name, at the project root.
pub const LOCK_FILE: &str = ".genai-scaffold.lock";

const HEADER: &str = "\
# What genai-scaffold wrote into this project: a SHA-256 per file. `genai-scaffold remove`
# deletes a strategy's files only while they match, and `genai-scaffold add` replaces only
# files that match, so your changes are never lost silently. Keep it in git; do not edit it.
version = 1

[files]
";

/// The content hash recorded per file: lowercase hex SHA-256.
pub fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The lock file recording `files` (which must not hold the lock file itself), sorted by path
/// so the same files always give the same bytes.
pub fn lock_file(files: &[RenderedFile]) -> RenderedFile {
    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|f| (slash_path(&f.path), hash(&f.contents)))
        .collect();
    let mut text = String::from(HEADER);
    for (path, hash) in &hashes {
        // Template paths are plain ASCII without quotes or backslashes (a template test).
        text.push_str(&format!("\"{path}\" = \"{hash}\"\n"));
    }
    RenderedFile {
        path: PathBuf::from(LOCK_FILE),
        contents: text.into_bytes(),
        executable: false,
    }
}

/// The hashes a project's lock file records, by relative path; `None` when it has none.
pub fn read(project: &Path) -> Result<Option<BTreeMap<PathBuf, String>>> {
    let path = project.join(LOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", &path, e)),
    };
    #[derive(serde::Deserialize)]
    struct Lock {
        version: u32,
        files: BTreeMap<String, String>,
    }
    let lock: Lock = toml::from_str(&text).map_err(|e| {
        Error::usage(format!(
            "{} is damaged ({}). Restore it from git, or delete it: genai-scaffold then \
             compares the files with the template rendered again from .genai-scaffold.toml.",
            path.display(),
            e.message().trim()
        ))
    })?;
    if lock.version != 1 {
        return Err(Error::usage(format!(
            "{} has version {}, which this genai-scaffold does not know; update genai-scaffold.",
            path.display(),
            lock.version
        )));
    }
    Ok(Some(
        lock.files
            .into_iter()
            .map(|(p, h)| (PathBuf::from(p), h))
            .collect(),
    ))
}

fn slash_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
