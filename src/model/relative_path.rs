//! Confined relative paths: the only form in which a path that came from someone else (an
//! archive entry, a manifest's file list, a component's `spec`) may reach code that joins it
//! to a directory. A [`RelativePath`] is `/`-separated, has at least one part, and no part is
//! empty, `.` or `..`; it is not absolute, holds no backslash and no control character (so it
//! can never add a line to RECORD or a header to a text file), and its length is bounded.
//! Joined to a directory, it names something inside that directory, lexically; ocp keeps it
//! inside physically as well by never creating or following a symlink in the places it joins.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The longest relative path ocp accepts, in bytes (Linux's `PATH_MAX` is 4096; OCPs need far
/// less).
pub const MAX_PATH_BYTES: usize = 1024;
/// The longest single part of a path, in bytes (the limit of most filesystems).
pub const MAX_PART_BYTES: usize = 255;

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelativePathError {
    #[error("the path is empty")]
    Empty,
    #[error("`{path}` is absolute; only paths inside the package are allowed")]
    Absolute { path: String },
    #[error("`{path}` contains `..`; only paths inside the package are allowed")]
    ParentDir { path: String },
    #[error("`{path}` has an empty part or a `.` part")]
    EmptyPart { path: String },
    #[error("{shown} holds a control character (a line break, tab or NUL)")]
    ControlCharacter { shown: String },
    #[error("`{path}` holds a backslash")]
    Backslash { path: String },
    #[error("a path of {length} bytes is longer than ocp accepts ({MAX_PATH_BYTES} bytes)")]
    TooLong { length: usize },
    #[error("`{path}` has a part longer than {MAX_PART_BYTES} bytes")]
    PartTooLong { path: String },
}

/// A confined relative path, `/`-separated (`src/shopify_osiris/spec.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelativePath(String);

impl RelativePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parts between the slashes.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The first part (`src` in `src/shopify_osiris/spec.yaml`).
    pub fn first(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The last part (`spec.yaml` in `src/shopify_osiris/spec.yaml`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The path below `prefix` (a folder), if it is below it.
    pub fn strip_prefix(&self, prefix: &str) -> Option<&str> {
        self.0
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty())
    }

    /// The folders above it, nearest last (`src`, `src/a` for `src/a/b.py`).
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0
            .match_indices('/')
            .map(move |(index, _)| &self.0[..index])
    }

    /// This path below `dir`.
    pub fn under(&self, dir: &Path) -> PathBuf {
        let mut out = dir.to_path_buf();
        out.extend(self.parts());
        out
    }
}

/// The text of a path for a message: in backticks, with control characters escaped so the
/// message itself cannot be split or forged.
pub fn shown_path(text: &str) -> String {
    format!("`{}`", text.escape_debug())
}

impl FromStr for RelativePath {
    type Err = RelativePathError;

    fn from_str(path: &str) -> Result<Self, RelativePathError> {
        if path.is_empty() {
            return Err(RelativePathError::Empty);
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(RelativePathError::TooLong { length: path.len() });
        }
        if path.chars().any(char::is_control) {
            return Err(RelativePathError::ControlCharacter {
                shown: shown_path(path),
            });
        }
        let owned = || path.to_owned();
        if path.contains('\\') {
            return Err(RelativePathError::Backslash { path: owned() });
        }
        if path.starts_with('/') {
            return Err(RelativePathError::Absolute { path: owned() });
        }
        for part in path.split('/') {
            match part {
                ".." => return Err(RelativePathError::ParentDir { path: owned() }),
                "" | "." => return Err(RelativePathError::EmptyPart { path: owned() }),
                _ if part.len() > MAX_PART_BYTES => {
                    return Err(RelativePathError::PartTooLong { path: owned() });
                }
                _ => {}
            }
        }
        Ok(RelativePath(path.to_owned()))
    }
}

// Ordered and hashed as its text, so sets of paths can be searched by `&str`.
impl std::borrow::Borrow<str> for RelativePath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RelativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_paths() {
        let path: RelativePath = "src/shop_osiris/spec.yaml".parse().expect("valid");
        assert_eq!(path.first(), "src");
        assert_eq!(path.file_name(), "spec.yaml");
        assert_eq!(path.strip_prefix("src"), Some("shop_osiris/spec.yaml"));
        assert_eq!(path.strip_prefix("sr"), None);
        assert_eq!(
            path.ancestors().collect::<Vec<_>>(),
            vec!["src", "src/shop_osiris"]
        );
        assert_eq!(
            path.under(Path::new("/x")),
            PathBuf::from("/x/src/shop_osiris/spec.yaml")
        );
        assert!("a,b \"c\".txt".parse::<RelativePath>().is_ok());
    }

    #[test]
    fn refuses_every_way_out() {
        for (bad, expected) in [
            ("", "empty"),
            ("/etc/shadow", "absolute"),
            ("../../keys/ocp.key", "`..`"),
            ("a/../../b", "`..`"),
            ("a//b", "empty part"),
            ("./a", "empty part"),
            ("a/", "empty part"),
            ("a\nb", "control character"),
            ("a\0b", "control character"),
            ("a\\..\\b", "backslash"),
        ] {
            let error = bad.parse::<RelativePath>().expect_err(bad).to_string();
            assert!(error.contains(expected), "{bad:?}: {error}");
        }
        let long = "a/".repeat(MAX_PATH_BYTES);
        assert!(long.parse::<RelativePath>().is_err());
        assert!("x".repeat(300).parse::<RelativePath>().is_err());
    }

    #[test]
    fn messages_escape_control_characters() {
        let error = "x\n../pip/__init__.py,,"
            .parse::<RelativePath>()
            .expect_err("newline")
            .to_string();
        assert!(!error.contains('\n'), "{error}");
        assert!(error.contains("\\n"), "{error}");
    }
}
