//! Where tarballs live: inside the index repository, in a directory, or on an HTTP server that
//! accepts `PUT`. Storing never replaces a different tarball under the same name, and tells
//! the caller whether it created the file, so a publish that fails later can take back only
//! what it stored. Fetching reads `file://`, `http://`, `https://` and index-relative paths.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::{IndexConfig, Storage};
use crate::model::Checksum;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "a different tarball is already stored at `{location}` (sha256 {existing}), but the index has no entry for it"
    )]
    Conflict { location: String, existing: String },
    #[error("failed to write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the server refused the upload to `{url}`: HTTP {status}{hint}")]
    Refused {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("the request to `{url}` failed: {reason}")]
    Http { url: String, reason: String },
    #[error(
        "`{location}` is not a location ocp can read (use https://, http://, file:// or a path inside the index)"
    )]
    UnsupportedLocation { location: String },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: u16 },
}

/// Whether [`store`] created the tarball or found the same bytes already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    AlreadyThere,
}

/// Where a tarball went: a path inside the index (to commit), a file, or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredAt {
    /// Relative to the index root; the caller commits it with the entry.
    InIndex(String),
    File(PathBuf),
    Url(String),
}

/// A bearer token for HTTP uploads, resolved by the caller from the environment.
#[derive(Clone, Default)]
pub struct Token(pub Option<String>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Token(<hidden>)"
        } else {
            "Token(None)"
        })
    }
}

/// Stores a version's tarball as the index's storage says.
pub fn store(
    config: &IndexConfig,
    index_root: &Path,
    name: &str,
    version: &str,
    bytes: &[u8],
    token: &Token,
) -> Result<(StoredAt, Stored), StorageError> {
    match &config.storage {
        Storage::Index => {
            let relative = config.download_location(name, version);
            let outcome = store_file(&index_root.join(&relative), bytes)?;
            Ok((StoredAt::InIndex(relative), outcome))
        }
        Storage::Directory { path } => {
            let target = Path::new(path)
                .join(name)
                .join(super::format::tarball_file_name(name, version));
            let outcome = store_file(&target, bytes)?;
            Ok((StoredAt::File(target), outcome))
        }
        Storage::Http { upload, .. } => {
            let url = super::format::expand(upload, name, version);
            let outcome = put(&url, bytes, token)?;
            Ok((StoredAt::Url(url), outcome))
        }
    }
}

/// Takes back a tarball that [`store`] created (after a publish that could not land).
pub fn unstore(at: &StoredAt, token: &Token) -> Result<(), StorageError> {
    match at {
        StoredAt::InIndex(_) => Ok(()), // the caller resets the checkout
        StoredAt::File(path) => fs::remove_file(path).map_err(|source| StorageError::Write {
            path: path.clone(),
            source,
        }),
        StoredAt::Url(url) => {
            let client = client(url)?;
            let mut request = client.delete(url);
            if let Some(token) = &token.0 {
                request = request.bearer_auth(token);
            }
            let response = request.send().map_err(|error| http_error(url, &error))?;
            if response.status().is_success() || response.status().as_u16() == 404 {
                Ok(())
            } else {
                Err(StorageError::Status {
                    url: url.clone(),
                    status: response.status().as_u16(),
                })
            }
        }
    }
}

fn store_file(path: &Path, bytes: &[u8]) -> Result<Stored, StorageError> {
    if let Some(existing) = read_if_exists(path)? {
        return same_or_conflict(&path.display().to_string(), &existing, bytes);
    }
    let directory = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(directory).map_err(|source| StorageError::Write {
        path: directory.to_path_buf(),
        source,
    })?;
    let write_error = |source| StorageError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".ocp-upload-")
        .tempfile_in(directory)
        .map_err(write_error)?;
    temp.write_all(bytes).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(Stored::Created),
        // Another publisher stored it between our check and our rename.
        Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = read_if_exists(path)?.unwrap_or_default();
            same_or_conflict(&path.display().to_string(), &existing, bytes)
        }
        Err(error) => Err(write_error(error.error)),
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StorageError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn same_or_conflict(location: &str, existing: &[u8], bytes: &[u8]) -> Result<Stored, StorageError> {
    if existing == bytes {
        Ok(Stored::AlreadyThere)
    } else {
        Err(StorageError::Conflict {
            location: location.to_owned(),
            existing: Checksum::of_bytes(existing).to_hex(),
        })
    }
}

/// An HTTP client with ring as rustls's provider, timeouts, and ocp's user agent.
pub fn client(url: &str) -> Result<reqwest::blocking::Client, StorageError> {
    // The first call installs the provider; later calls find it installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .user_agent(concat!("ocp/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|error| StorageError::Http {
            url: url.to_owned(),
            reason: error.to_string(),
        })
}

fn http_error(url: &str, error: &reqwest::Error) -> StorageError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    StorageError::Http {
        url: url.to_owned(),
        reason,
    }
}

fn put(url: &str, bytes: &[u8], token: &Token) -> Result<Stored, StorageError> {
    let client = client(url)?;
    // `If-None-Match: *` asks the server not to replace an existing file, so two publishers
    // of one version cannot overwrite each other.
    let mut request = client
        .put(url)
        .header("If-None-Match", "*")
        .header("Content-Type", "application/gzip")
        .body(bytes.to_vec());
    if let Some(token) = &token.0 {
        request = request.bearer_auth(token);
    }
    let response = request.send().map_err(|error| http_error(url, &error))?;
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(Stored::Created),
        412 => {
            let existing = get(url)?;
            same_or_conflict(url, &existing, bytes)
        }
        401 | 403 => Err(StorageError::Refused {
            url: url.to_owned(),
            status,
            hint: " (set the upload token variable named in the index's config.json)",
        }),
        _ => Err(StorageError::Refused {
            url: url.to_owned(),
            status,
            hint: "",
        }),
    }
}

fn get(url: &str) -> Result<Vec<u8>, StorageError> {
    let client = client(url)?;
    let mut last = None;
    // Three tries, for a network that drops now and then.
    for attempt in 0..3u64 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 * attempt));
        }
        match client.get(url).send() {
            Ok(response) if response.status().is_success() => {
                return response
                    .bytes()
                    .map(|b| b.to_vec())
                    .map_err(|error| http_error(url, &error));
            }
            Ok(response) if response.status().is_server_error() => {
                last = Some(StorageError::Status {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            Ok(response) => {
                return Err(StorageError::Status {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            Err(error) => last = Some(http_error(url, &error)),
        }
    }
    Err(last.unwrap_or_else(|| StorageError::Http {
        url: url.to_owned(),
        reason: "no answer".to_owned(),
    }))
}

/// A download location made concrete: a URL to GET, or a file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url(String),
    File(PathBuf),
}

/// Resolves a download location: `http(s)://` stays a URL, `file://` and paths relative to
/// `index_root` become files. A relative path may not leave the index (`..`, absolute).
pub fn locate(location: &str, index_root: &Path) -> Result<Source, StorageError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(Source::Url(location.to_owned()));
    }
    match location.strip_prefix("file://") {
        Some(path) => Ok(Source::File(PathBuf::from(path))),
        None if location.contains("://") => Err(StorageError::UnsupportedLocation {
            location: location.to_owned(),
        }),
        None => {
            let relative = Path::new(location);
            if relative.is_absolute()
                || relative
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(StorageError::UnsupportedLocation {
                    location: location.to_owned(),
                });
            }
            Ok(Source::File(index_root.join(relative)))
        }
    }
}

/// Reads a tarball from a download location: a URL, or a path relative to the index root.
pub fn fetch(location: &str, index_root: &Path) -> Result<Vec<u8>, StorageError> {
    match locate(location, index_root)? {
        Source::Url(url) => get(&url),
        Source::File(path) => fs::read(&path).map_err(|source| StorageError::Read { path, source }),
    }
}
