//! Downloads of package tarballs into a cache keyed by sha256, so a second install downloads
//! nothing. Several downloads run at once (up to [`FetchOptions::jobs`]); connect errors,
//! timeouts, 5xx answers and bodies cut short are tried again with a growing pause.
//!
//! The cache never holds a partial or wrong file: a download goes to a temporary file in the
//! cache directory, is flushed to disk, its sha256 is checked against the index's, and only
//! then is it renamed into place. A sha256 that does not match is an error naming the
//! package and both checksums, and is never retried into success. Because a cached file is
//! named after its own sha256, two ocp processes filling the cache at once can only ever
//! rename identical bytes over each other, so the cache needs no lock.
//!
//! Layout, under the root the caller passes (`OCP_HOME/cache`):
//! `v1/sha256/<first two hex digits>/<64 hex digits>.tar.gz`.
//!
//! A tarball in an OCI registry (`oci://…@sha256:…`) comes through the same cache and the
//! same checks: its manifest is read by digest and must name, as its tarball layer, exactly
//! the sha256 the index records before the blob is downloaded, and the blob's bytes are
//! hashed here as they arrive (never trusting the registry's digest header).
//!
//! This module is domain code: it reports through a [`Reporter`] and never prints. It does
//! not check signatures or unpack anything; that is the store's job.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::index::storage::{self, Source};
use crate::model::Checksum;
use crate::oci;
use crate::progress::Reporter;

/// One tarball to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchItem {
    /// The normalized package name, for messages.
    pub name: String,
    /// The version, for messages.
    pub version: String,
    /// Where to download it from: `IndexConfig::download_location` (a URL, or a path
    /// relative to the index root).
    pub location: String,
    /// The sha256 the index records; the file must have exactly this.
    pub sha256: Checksum,
}

impl FetchItem {
    fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// A fetched tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its path in the cache.
    pub path: PathBuf,
    /// Nothing was downloaded: it was already in the cache.
    pub from_cache: bool,
}

/// How to fetch; resolved by the caller from flags and settings.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The index checkout that relative download locations are inside.
    pub index_root: PathBuf,
    /// Use only the cache (`--offline`, `--frozen`).
    pub offline: bool,
    /// How many downloads run at once.
    pub jobs: usize,
    /// How many times one download is tried before giving up.
    pub attempts: u32,
    /// The pause after the first failed try; it doubles after each further one.
    pub backoff: Duration,
    /// Credentials for `oci://` locations, from the user's configuration.
    pub registry: oci::Login,
}

impl FetchOptions {
    /// Four downloads at once, three tries each, 250 ms then 500 ms between tries.
    pub fn new(index_root: impl Into<PathBuf>) -> Self {
        FetchOptions {
            index_root: index_root.into(),
            offline: false,
            jobs: 4,
            attempts: 3,
            backoff: Duration::from_millis(250),
            registry: oci::Login::anonymous(),
        }
    }
}

/// A tarball whose bytes are not the ones the index vouches for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the tarball of {name} {version} from `{location}` has sha256 {actual}, but the index expects {expected}"
)]
pub struct ChecksumMismatch {
    pub name: String,
    pub version: String,
    pub location: String,
    pub expected: Checksum,
    pub actual: Checksum,
}

/// Why a tarball could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    ChecksumMismatch(Box<ChecksumMismatch>),
    #[error(
        "{name} {version} is not in the download cache, and `--offline` forbids downloading it"
    )]
    NotCached { name: String, version: String },
    #[error(
        "failed to download {name} {version} from `{location}` after {attempts} tries: {reason}"
    )]
    Download {
        name: String,
        version: String,
        location: String,
        attempts: u32,
        reason: String,
    },
    #[error("failed to download {name} {version}: `{url}` answered HTTP {status}")]
    Status {
        name: String,
        version: String,
        url: String,
        status: u16,
    },
    #[error("failed to read the tarball of {name} {version} at `{path}`")]
    Read {
        name: String,
        version: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot fetch {name} {version}")]
    Location {
        name: String,
        version: String,
        #[source]
        source: storage::StorageError,
    },
    #[error("failed to write to the download cache at `{path}`")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to download {name} {version} from `{location}`")]
    Registry {
        name: String,
        version: String,
        location: String,
        #[source]
        source: Box<oci::OciError>,
    },
}

impl FetchError {
    /// What the user can do about it, where there is something.
    pub fn help(&self) -> Option<String> {
        let fixed = match self {
            FetchError::Registry { source, .. } => return source.help(),
            FetchError::NotCached { .. } => Some("run without `--offline` to download it"),
            FetchError::ChecksumMismatch(_) => Some(
                "the file was changed after it was published, or the download was tampered with; tell the index's maintainers",
            ),
            FetchError::Download { .. } => Some("check the network connection and try again"),
            _ => None,
        };
        fixed.map(str::to_owned)
    }
}

/// The download cache under a root directory (`OCP_HOME/cache`).
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Cache { root: root.into() }
    }

    /// Where the tarball with `sha256` lives in the cache (whether or not it is there).
    pub fn path_of(&self, sha256: &Checksum) -> PathBuf {
        let hex = sha256.to_hex();
        self.root
            .join("v1")
            .join("sha256")
            .join(&hex[..2])
            .join(format!("{hex}.tar.gz"))
    }

    /// The cached tarball with `sha256`, if the cache holds it with the right contents. An
    /// entry with other contents (a damaged disk, a hand edit) is removed.
    pub fn get(&self, sha256: &Checksum) -> Option<PathBuf> {
        let path = self.path_of(sha256);
        let file = File::open(&path).ok()?;
        match Checksum::of_reader(file) {
            Ok(actual) if &actual == sha256 => Some(path),
            Ok(_) => {
                let _ = fs::remove_file(&path);
                None
            }
            Err(_) => None,
        }
    }
}

/// Fetches every item into `cache` and returns their cached paths, in the order of `items`.
/// What is missing is downloaded, several at once; on the first failure no new downloads
/// start, and the error of the earliest failed item is returned. Whatever happens, the
/// cache holds only complete, verified files.
pub fn fetch_all(
    cache: &Cache,
    items: &[FetchItem],
    options: &FetchOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<Fetched>, FetchError> {
    reporter.start(items.len());
    let result = fetch_each(cache, items, options, reporter);
    reporter.finish();
    result
}

fn fetch_each(
    cache: &Cache,
    items: &[FetchItem],
    options: &FetchOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<Fetched>, FetchError> {
    let mut results: Vec<Option<Fetched>> = vec![None; items.len()];
    let mut missing: Vec<usize> = Vec::new();
    for (position, item) in items.iter().enumerate() {
        if let Some(path) = cache.get(&item.sha256) {
            reporter.item_done(&item.label(), true);
            results[position] = Some(Fetched {
                path,
                from_cache: true,
            });
        } else if options.offline {
            return Err(FetchError::NotCached {
                name: item.name.clone(),
                version: item.version.clone(),
            });
        } else if !missing
            .iter()
            .any(|&other| items[other].sha256 == item.sha256)
        {
            missing.push(position);
        }
    }

    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<(usize, Result<Fetched, FetchError>)>> = Mutex::new(Vec::new());
    let client = if missing.iter().any(|&p| items[p].location.contains("://")) {
        Some(storage::client("").map_err(|source| FetchError::Location {
            name: items[missing[0]].name.clone(),
            version: items[missing[0]].version.clone(),
            source,
        })?)
    } else {
        None
    };
    let registry = if missing
        .iter()
        .any(|&p| items[p].location.starts_with("oci://"))
    {
        Some(
            oci::Client::new(options.registry.clone()).map_err(|source| FetchError::Registry {
                name: items[missing[0]].name.clone(),
                version: items[missing[0]].version.clone(),
                location: items[missing[0]].location.clone(),
                source: Box::new(source),
            })?,
        )
    } else {
        None
    };
    let clients = Clients {
        http: client.as_ref(),
        registry: registry.as_ref(),
    };
    let workers = options.jobs.clamp(1, missing.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let claimed = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&position) = missing.get(claimed) else {
                        break;
                    };
                    let item = &items[position];
                    let outcome = fetch_one(cache, item, options, clients, reporter);
                    if outcome.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    } else {
                        reporter.item_done(&item.label(), false);
                    }
                    if let Ok(mut outcomes) = outcomes.lock() {
                        outcomes.push((position, outcome));
                    }
                }
            });
        }
    });

    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    outcomes.sort_by_key(|(position, _)| *position);
    for (position, outcome) in outcomes {
        results[position] = Some(outcome?);
    }
    // Items that shared a sha256 with a downloaded one take its file.
    for (position, item) in items.iter().enumerate() {
        if results[position].is_none() {
            let path = cache.path_of(&item.sha256);
            if !path.is_file() {
                return Err(FetchError::Download {
                    name: item.name.clone(),
                    version: item.version.clone(),
                    location: item.location.clone(),
                    attempts: 0,
                    reason: "the download was not started".to_owned(),
                });
            }
            reporter.item_done(&item.label(), false);
            results[position] = Some(Fetched {
                path,
                from_cache: false,
            });
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// The clients downloads share: HTTP for URLs, a registry client for `oci://`.
#[derive(Clone, Copy)]
struct Clients<'a> {
    http: Option<&'a reqwest::blocking::Client>,
    registry: Option<&'a oci::Client>,
}

/// What went wrong with one try, and whether another try could help.
enum TryError {
    Retry(String),
    Fatal(FetchError),
}

fn fetch_one(
    cache: &Cache,
    item: &FetchItem,
    options: &FetchOptions,
    clients: Clients<'_>,
    reporter: &dyn Reporter,
) -> Result<Fetched, FetchError> {
    let source = storage::locate(&item.location, &options.index_root).map_err(|source| {
        FetchError::Location {
            name: item.name.clone(),
            version: item.version.clone(),
            source,
        }
    })?;
    let target = cache.path_of(&item.sha256);
    let directory = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(directory).map_err(|source| FetchError::Cache {
        path: directory.to_path_buf(),
        source,
    })?;
    let attempts = options.attempts.max(1);
    let mut last_reason = String::new();
    for attempt in 1..=attempts {
        let outcome = match &source {
            Source::File(path) => copy_file(item, path, directory, reporter),
            Source::Url(url) => match clients.http {
                Some(client) => download(item, client, url, directory, reporter),
                None => Err(TryError::Retry("no HTTP client".to_owned())),
            },
            Source::Oci(reference) => match clients.registry {
                Some(client) => pull(item, client, reference, directory, reporter),
                None => Err(TryError::Retry("no registry client".to_owned())),
            },
        };
        match outcome {
            Ok((temp, actual)) => {
                if actual != item.sha256 {
                    // `temp` is deleted when dropped: nothing enters the cache.
                    return Err(FetchError::ChecksumMismatch(Box::new(ChecksumMismatch {
                        name: item.name.clone(),
                        version: item.version.clone(),
                        location: item.location.clone(),
                        expected: item.sha256.clone(),
                        actual,
                    })));
                }
                persist(temp, &target)?;
                return Ok(Fetched {
                    path: target,
                    from_cache: false,
                });
            }
            Err(TryError::Fatal(error)) => return Err(error),
            Err(TryError::Retry(reason)) => {
                last_reason = reason;
                if attempt < attempts {
                    reporter.retrying(&item.label(), attempt, &last_reason);
                    std::thread::sleep(options.backoff * 2u32.saturating_pow(attempt - 1));
                }
            }
        }
    }
    Err(FetchError::Download {
        name: item.name.clone(),
        version: item.version.clone(),
        location: item.location.clone(),
        attempts,
        reason: last_reason,
    })
}

/// One GET into a temporary file in the cache directory; returns it with its sha256.
fn download(
    item: &FetchItem,
    client: &reqwest::blocking::Client,
    url: &str,
    directory: &Path,
    reporter: &dyn Reporter,
) -> Result<(tempfile::NamedTempFile, Checksum), TryError> {
    let response = client.get(url).send().map_err(|error| {
        if error.is_builder() || error.is_redirect() {
            TryError::Fatal(FetchError::Download {
                name: item.name.clone(),
                version: item.version.clone(),
                location: url.to_owned(),
                attempts: 1,
                reason: crate::error::chain_text(&error),
            })
        } else {
            TryError::Retry(crate::error::chain_text(&error))
        }
    })?;
    let status = response.status();
    if status.is_server_error() {
        return Err(TryError::Retry(format!(
            "the server answered HTTP {status}"
        )));
    }
    if !status.is_success() {
        return Err(TryError::Fatal(FetchError::Status {
            name: item.name.clone(),
            version: item.version.clone(),
            url: url.to_owned(),
            status: status.as_u16(),
        }));
    }
    let expected_length = response.content_length();
    reporter.item_started(&item.label(), expected_length);
    let (temp, actual, received) = write_temp(item, response, directory, reporter, true)?;
    // A server that closes the connection early without saying how long the body was looks
    // like a short, complete answer; the length it announced (when it did) tells them apart.
    if let Some(length) = expected_length
        && received != length
    {
        return Err(TryError::Retry(format!(
            "the connection closed after {received} of {length} bytes"
        )));
    }
    Ok((temp, actual))
}

/// One pull from a registry into a temporary file: the manifest (by digest), whose tarball
/// layer must be the sha256 the index expects, then the blob, hashed as it arrives.
fn pull(
    item: &FetchItem,
    client: &oci::Client,
    reference: &oci::Reference,
    directory: &Path,
    reporter: &dyn Reporter,
) -> Result<(tempfile::NamedTempFile, Checksum), TryError> {
    let failed = |source: oci::OciError| {
        if source.is_transient() {
            TryError::Retry(source.to_string())
        } else {
            TryError::Fatal(FetchError::Registry {
                name: item.name.clone(),
                version: item.version.clone(),
                location: item.location.clone(),
                source: Box::new(source),
            })
        }
    };
    let (digest, size) = oci::artifact::tarball_of(client, reference).map_err(failed)?;
    if digest != oci::Digest::of_checksum(&item.sha256) {
        return Err(TryError::Fatal(FetchError::ChecksumMismatch(Box::new(
            ChecksumMismatch {
                name: item.name.clone(),
                version: item.version.clone(),
                location: item.location.clone(),
                expected: item.sha256.clone(),
                actual: digest
                    .hex()
                    .parse()
                    .map_err(|_| TryError::Retry("the layer digest is invalid".to_owned()))?,
            },
        ))));
    }
    let response = client
        .open_blob(&reference.repository, &digest)
        .map_err(failed)?;
    reporter.item_started(&item.label(), Some(size));
    // One byte more than the manifest promises is enough to tell a longer blob apart (its
    // sha256 then differs, which the caller refuses); a shorter one was cut off.
    let (temp, actual, received) =
        write_temp(item, response.take(size + 1), directory, reporter, true)?;
    if received < size {
        return Err(TryError::Retry(format!(
            "the registry sent {received} bytes of a {size}-byte tarball"
        )));
    }
    Ok((temp, actual))
}

/// Copies a local tarball (`file://` or inside the index) into a temporary file.
fn copy_file(
    item: &FetchItem,
    path: &Path,
    directory: &Path,
    reporter: &dyn Reporter,
) -> Result<(tempfile::NamedTempFile, Checksum), TryError> {
    let file = File::open(path).map_err(|source| {
        TryError::Fatal(FetchError::Read {
            name: item.name.clone(),
            version: item.version.clone(),
            path: path.to_path_buf(),
            source,
        })
    })?;
    let size = file.metadata().ok().map(|m| m.len());
    reporter.item_started(&item.label(), size);
    write_temp(item, file, directory, reporter, false).map(|(temp, actual, _)| (temp, actual))
}

/// Streams `reader` into a new temporary file in `directory`, hashing as it goes, and
/// flushes it to disk. A read error is worth retrying for a network body (`network`), not
/// for a local file.
fn write_temp(
    item: &FetchItem,
    mut reader: impl Read,
    directory: &Path,
    reporter: &dyn Reporter,
    network: bool,
) -> Result<(tempfile::NamedTempFile, Checksum, u64), TryError> {
    let cache_error = |source| {
        TryError::Fatal(FetchError::Cache {
            path: directory.to_path_buf(),
            source,
        })
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".ocp-download-")
        .tempfile_in(directory)
        .map_err(cache_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    let label = item.label();
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) if network => {
                return Err(TryError::Retry(format!(
                    "the download broke off after {received} bytes: {}",
                    crate::error::chain_text(&error)
                )));
            }
            Err(source) => {
                return Err(TryError::Fatal(FetchError::Read {
                    name: item.name.clone(),
                    version: item.version.clone(),
                    path: PathBuf::from(&item.location),
                    source,
                }));
            }
        };
        hasher.update(&buffer[..read]);
        temp.write_all(&buffer[..read]).map_err(cache_error)?;
        received += read as u64;
        reporter.bytes(&label, read as u64);
    }
    temp.as_file().sync_all().map_err(cache_error)?;
    let actual: Checksum = hex::encode(hasher.finalize())
        .parse()
        .map_err(|_| TryError::Retry("the checksum could not be computed".to_owned()))?;
    Ok((temp, actual, received))
}

/// Renames a verified temporary file to its place in the cache. Another process may have put
/// the same bytes there first; renaming over them changes nothing.
fn persist(temp: tempfile::NamedTempFile, target: &Path) -> Result<(), FetchError> {
    temp.persist(target).map_err(|error| FetchError::Cache {
        path: target.to_path_buf(),
        source: error.error,
    })?;
    // Make the rename itself durable, so a crash cannot leave the cache without the entry
    // after the caller went on to use it.
    if let Some(directory) = target.parent()
        && let Ok(handle) = File::open(directory)
    {
        let _ = handle.sync_all();
    }
    Ok(())
}
