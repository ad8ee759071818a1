//! The one error type of the generator, and the exit code each kind maps to.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can stop a generation. Each variant says what to do next in its message.
#[derive(Debug)]
pub enum Error {
    /// The user asked for something we cannot do: a bad flag, name, model, region or answers
    /// file, a target that is in the way. Exit code 2.
    Usage(String),
    /// Reading or writing the file system failed. Exit code 1.
    Io {
        /// What we were doing, e.g. "writing /tmp/app/Makefile".
        action: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The embedded template itself is inconsistent. This is a bug in genai-scaffold, found by
    /// its own tests before release; exit code 1.
    Template(String),
}

impl Error {
    /// A usage error with the given message.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// Wraps an I/O error with the action and path it happened on.
    pub fn io(action: &str, path: &Path, source: io::Error) -> Self {
        Error::Io {
            action: format!("{action} {}", path.display()),
            source,
        }
    }

    /// The process exit code for this error: 2 for usage, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Io { .. } | Error::Template(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => f.write_str(message),
            Error::Io { action, source } => write!(f, "failed {action}: {source}"),
            Error::Template(message) => write!(
                f,
                "the embedded template is inconsistent: {message}\n\
                 This is a bug in genai-scaffold; please report it."
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Shorthand used across the generator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Formats a list of paths for an error message, one per line, indented.
pub(crate) fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n")
}
