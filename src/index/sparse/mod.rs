//! An index read over plain HTTP, file by file: `sparse+https://host/path/` names the folder
//! a static server (nginx, GitHub Pages, an object store, a CDN) serves a checkout of the
//! index from. Only what a command needs is fetched: the checkpoint, then `config.json` and
//! the package files, owner logs and component records the resolver asks for, several at once
//! over the client's kept-alive connections, each kept in a cache under `OCP_HOME` with its
//! `ETag`/`Last-Modified` ([`remote`]).
//!
//! A plain HTTP view can mix files from different moments, and a server can keep serving an
//! old index. So an index is read over HTTP only with a signed checkpoint
//! ([`crate::index::checkpoint`]): [`SparseReader`] reads exactly the files its manifest
//! lists, each checked against the sha256 listed there. A file the manifest does not list is
//! not in the index (no request is made), and a cached copy with the listed sha256 is used
//! without asking the server again; which is also what makes a repeated run fast.

pub mod remote;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::IndexError;
use super::checkpoint::accept::CheckpointFiles;
use super::checkpoint::{self, Manifest, manifest::MAX_MANIFEST_BYTES};
use super::reader::{IndexReader, names_below};
use crate::model::Checksum;
pub use remote::{Counts, Remote, Revalidated};

/// The prefix that marks an index URL as read over HTTP.
pub const SCHEME_PREFIX: &str = "sparse+";

/// How many files are fetched at once.
pub const JOBS: usize = 8;

/// What went wrong talking to the server or keeping its files.
#[derive(Debug, thiserror::Error)]
pub enum SparseError {
    #[error("`{url}` is not an index URL ocp reads over HTTP: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("failed to fetch `{url}`: {reason}")]
    Http { url: String, reason: String },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("`{url}` is larger than {limit} bytes, the most ocp reads of it")]
    TooLarge { url: String, limit: u64 },
    #[error("`{url}` is not UTF-8 text")]
    NotText { url: String },
    #[error("`{path}` is not a path inside an index")]
    BadPath { path: String },
    #[error("`{relative}` is not in ocp's copy of the index, and `--offline` forbids fetching it")]
    NotCached { relative: String },
    #[error("failed to keep a copy of the index in `{}`: {reason}", path.display())]
    Cache { path: PathBuf, reason: String },
    #[error(
        "the index at `{url}` has no signed checkpoint (`checkpoint/manifest.minisig`), so files from different moments could be mixed unnoticed"
    )]
    NoCheckpoint { url: String },
}

impl SparseError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<&'static str> {
        Some(match self {
            SparseError::BadUrl { .. } => {
                "write the URL of the folder that holds the index's `config.json`, for example `sparse+https://ocp.example.com/index/`"
            }
            SparseError::Http { .. } | SparseError::Status { .. } => {
                "check the network connection and the index URL, or use `--offline` to work from what ocp fetched before"
            }
            SparseError::NotCached { .. } => "run once without `--offline` so ocp can fetch it",
            SparseError::NoCheckpoint { .. } => {
                "the index's maintainers sign checkpoints with `ocp index checkpoint` (an index made by `ocp index init` does it in CI); until then, use the index's git URL"
            }
            _ => return None,
        })
    }
}

/// The base URL of a `sparse+http(s)://` index URL (without `sparse+`, ending with `/`),
/// `None` when `url` does not start with `sparse+`.
pub fn base_url(url: &str) -> Result<Option<String>, SparseError> {
    let Some(rest) = url.strip_prefix(SCHEME_PREFIX) else {
        return Ok(None);
    };
    let parsed = reqwest::Url::parse(rest);
    // Credentials in the URL are never repeated in a message.
    let shown = match &parsed {
        Ok(parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let mut hidden = parsed.clone();
            let _ = hidden.set_username("");
            let _ = hidden.set_password(None);
            format!("{SCHEME_PREFIX}{hidden}")
        }
        _ => url.to_owned(),
    };
    let bad = |reason: &str| SparseError::BadUrl {
        url: shown.clone(),
        reason: reason.to_owned(),
    };
    let parsed = parsed.map_err(|error| bad(&error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("it must be `sparse+https://` (or `sparse+http://`)"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("it may not have a query or a fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("it may not carry credentials"));
    }
    let mut base = parsed.to_string();
    if !base.ends_with('/') {
        base.push('/');
    }
    Ok(Some(base))
}

/// The checkpoint files of a [`Remote`]: the signature and key history asked for again each
/// time (a `304` when unchanged), the manifest taken from the cache when its sha256 is the
/// signed one.
impl CheckpointFiles for Remote {
    fn signature(&mut self) -> Result<Option<String>, IndexError> {
        Ok(
            match self.revalidate(checkpoint::SIGNATURE_FILE, checkpoint::MAX_SIGNATURE_BYTES)? {
                Revalidated::Missing => None,
                Revalidated::Text { text, .. } => Some(text),
            },
        )
    }

    fn keys(&mut self) -> Result<Option<String>, IndexError> {
        Ok(
            match self.revalidate(checkpoint::KEYS_FILE, checkpoint::MAX_KEYS_BYTES)? {
                Revalidated::Missing => None,
                Revalidated::Text { text, .. } => Some(text),
            },
        )
    }

    fn manifest(&mut self, sha256: &Checksum) -> Result<Option<String>, IndexError> {
        self.content(
            checkpoint::MANIFEST_FILE,
            &sha256.to_hex(),
            MAX_MANIFEST_BYTES,
        )
        .map(Some)
    }
}

/// The files of an index on an HTTP server, as the checkpoint's manifest lists them.
#[derive(Debug)]
pub struct SparseReader {
    remote: Remote,
    manifest: Arc<Manifest>,
}

impl SparseReader {
    pub fn new(remote: Remote, manifest: Arc<Manifest>) -> SparseReader {
        SparseReader { remote, manifest }
    }

    /// How the requests went so far.
    pub fn counts(&self) -> Counts {
        self.remote.counts()
    }

    /// Keeps the files fetched while the checkpoint was judged (see [`Remote::stage`]).
    pub fn commit_staged(&self) -> Result<(), SparseError> {
        self.remote.commit_staged()
    }
}

impl IndexReader for SparseReader {
    fn read(&self, relative: &str, limit: u64) -> Result<Option<String>, IndexError> {
        let Some(expected) = self.manifest.hash_of(relative) else {
            return Ok(None);
        };
        self.remote.content(relative, expected, limit).map(Some)
    }

    fn file_names(&self, folder: &str) -> Result<Vec<String>, IndexError> {
        Ok(names_below(self.manifest.paths(), folder))
    }

    fn location(&self, relative: &str) -> PathBuf {
        PathBuf::from(self.remote.url(relative))
    }

    /// Fetches the listed files that are not in the cache with their listed sha256, up to
    /// [`JOBS`] at once.
    fn prefetch(&self, relative: &[String]) {
        let missing: Vec<(&str, &str)> = relative
            .iter()
            .filter_map(|path| Some((path.as_str(), self.manifest.hash_of(path)?)))
            .filter(|(path, hash)| !self.remote.has(path, hash, super::format::MAX_FILE_BYTES))
            .collect();
        if missing.len() < 2 {
            return;
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..JOBS.min(missing.len()) {
                scope.spawn(|| {
                    while let Some((path, hash)) = missing.get(next.fetch_add(1, Ordering::SeqCst))
                    {
                        // A failure shows again, with its message, when the file is read.
                        let _ = self
                            .remote
                            .content(path, hash, super::format::MAX_FILE_BYTES);
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_urls_name_a_folder_over_http() {
        assert_eq!(
            base_url("https://example.com/x.git").expect("not sparse"),
            None
        );
        assert_eq!(
            base_url("sparse+https://example.com/ocp/index").expect("valid"),
            Some("https://example.com/ocp/index/".to_owned())
        );
        assert_eq!(
            base_url("sparse+http://127.0.0.1:8080/").expect("valid"),
            Some("http://127.0.0.1:8080/".to_owned())
        );
        for bad in [
            "sparse+ftp://example.com/",
            "sparse+https://",
            "sparse+https://user:pass@example.com/",
            "sparse+https://example.com/?x=1",
            "sparse+file:///tmp/index",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
