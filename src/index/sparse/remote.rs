//! One index on a static HTTP server and ocp's copy of the files it fetched from it. Each
//! cached file keeps the `ETag` and `Last-Modified` the server sent, so asking again is a
//! conditional request (`If-None-Match`, `If-Modified-Since`) that a `304` answers without a
//! body. A file whose expected sha256 is known (from a checkpoint's manifest) is taken from
//! the cache without asking at all when the copy has that sha256, and is otherwise fetched
//! and refused unless it has it.
//!
//! Cache layout, under the folder the caller gives (`OCP_HOME/index/sparse/<index>`):
//! `v1/<path in the index>`, each file a header line
//! `ocp-sparse-cache {"etag":…,"last_modified":…}` and then the body as served.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};

use super::SparseError;
use crate::error::chain_text;
use crate::index::checkpoint::{CheckpointError, check_file};
use crate::index::reader::check_relative;
use crate::model::Checksum;

const HEADER: &str = "ocp-sparse-cache ";
/// How many times one request is tried (connect errors, timeouts, 5xx).
const ATTEMPTS: u32 = 3;

/// What a cached file remembers of its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

/// A file as ocp holds it.
#[derive(Debug)]
struct Cached {
    validators: Validators,
    body: Vec<u8>,
}

/// A file waiting to be written to the cache: its path, validators and body.
type Staged = (String, Validators, Vec<u8>);

/// How requests went, for tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Answers with a body.
    pub fetched: usize,
    /// `304 Not Modified` answers.
    pub not_modified: usize,
    /// Files taken from the cache without a request.
    pub from_cache: usize,
}

/// An index on an HTTP server (`base` ends with `/`), with ocp's cache of its files.
#[derive(Debug)]
pub struct Remote {
    base: String,
    cache: PathBuf,
    /// `None` when working offline: only the cache is read.
    client: Option<reqwest::blocking::Client>,
    counts: std::sync::Mutex<Counts>,
    /// While a checkpoint is being judged, what would be written to the cache waits here,
    /// so a refused checkpoint leaves the cache as it was.
    staged: std::sync::Mutex<Option<Vec<Staged>>>,
}

/// What a conditional request found.
pub enum Revalidated {
    /// The server has no such file.
    Missing,
    /// The text, and whether it changed since the cached copy (or there was none).
    Text { text: String, changed: bool },
}

impl Remote {
    /// `base` is the index URL without `sparse+`, ending with `/`; `cache` the folder for its
    /// files; with `offline`, nothing is requested.
    pub fn new(base: &str, cache: &Path, offline: bool) -> Result<Remote, SparseError> {
        let client = if offline {
            None
        } else {
            Some(
                crate::index::storage::client(base).map_err(|error| SparseError::Http {
                    url: base.to_owned(),
                    reason: error.to_string(),
                })?,
            )
        };
        Ok(Remote {
            base: base.to_owned(),
            cache: cache.join("v1"),
            client,
            counts: std::sync::Mutex::new(Counts::default()),
            staged: std::sync::Mutex::new(None),
        })
    }

    /// From now on, files are kept in memory instead of the cache, until
    /// [`Remote::commit_staged`].
    pub fn stage(&mut self) {
        *self
            .staged
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Vec::new());
    }

    /// Writes the files kept since [`Remote::stage`] to the cache, and writes later ones
    /// directly.
    pub fn commit_staged(&self) -> Result<(), SparseError> {
        let staged = self
            .staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        for (relative, validators, body) in staged.unwrap_or_default() {
            self.write(&relative, &validators, &body)?;
        }
        Ok(())
    }

    /// The URL of `relative`.
    pub fn url(&self, relative: &str) -> String {
        format!("{}{relative}", self.base)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn counts(&self) -> Counts {
        *self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, update: impl FnOnce(&mut Counts)) {
        update(
            &mut self
                .counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// Asks the server for `relative` again (conditionally, when a copy is cached) and keeps
    /// what it answers. Offline, the cached copy is the answer.
    pub fn revalidate(&self, relative: &str, limit: u64) -> Result<Revalidated, SparseError> {
        check_relative(relative).map_err(|_| SparseError::BadPath {
            path: relative.escape_debug().to_string(),
        })?;
        let cached = self.load(relative, limit);
        let Some(client) = &self.client else {
            return match cached {
                Some(cached) => Ok(Revalidated::Text {
                    text: self.text(relative, cached.body)?,
                    changed: false,
                }),
                None => Err(SparseError::NotCached {
                    relative: relative.to_owned(),
                }),
            };
        };
        match self.get(
            client,
            relative,
            cached.as_ref().map(|c| &c.validators),
            limit,
        )? {
            Answer::Missing => Ok(Revalidated::Missing),
            Answer::NotModified => match cached {
                Some(cached) => Ok(Revalidated::Text {
                    text: self.text(relative, cached.body)?,
                    changed: false,
                }),
                // A 304 to an unconditional request: a broken server.
                None => Err(SparseError::Status {
                    url: self.url(relative),
                    status: 304,
                }),
            },
            Answer::Body { validators, body } => {
                let changed = cached.is_none_or(|cached| cached.body != body);
                self.store(relative, &validators, &body)?;
                Ok(Revalidated::Text {
                    text: self.text(relative, body)?,
                    changed,
                })
            }
        }
    }

    /// The text of `relative`, which must have sha256 `expected` (hex): from the cache when
    /// the copy there has it, else fetched; bytes with another sha256 are refused.
    pub fn content(
        &self,
        relative: &str,
        expected: &str,
        limit: u64,
    ) -> Result<String, crate::index::IndexError> {
        check_relative(relative)?;
        let cached = self.load(relative, limit);
        if let Some(cached) = &cached
            && Checksum::of_bytes(&cached.body).to_hex() == expected
        {
            self.count(|counts| counts.from_cache += 1);
            return Ok(self.text(relative, cached.body.clone())?);
        }
        let Some(client) = &self.client else {
            return Err(SparseError::NotCached {
                relative: relative.to_owned(),
            }
            .into());
        };
        let url = self.url(relative);
        match self.get(
            client,
            relative,
            cached.as_ref().map(|c| &c.validators),
            limit,
        )? {
            Answer::Missing => Err(CheckpointError::ListedFileMissing { location: url }.into()),
            Answer::NotModified => {
                // The server still has the copy ocp holds, which is not the listed file.
                let actual = cached.map(|c| c.body).unwrap_or_default();
                Err(check_file(&url, expected, &actual)
                    .err()
                    .unwrap_or(CheckpointError::ListedFileMissing { location: url })
                    .into())
            }
            Answer::Body { validators, body } => {
                check_file(&url, expected, &body)?;
                self.store(relative, &validators, &body)?;
                Ok(self.text(relative, body)?)
            }
        }
    }

    /// Whether the cache holds `relative` with sha256 `expected`.
    pub fn has(&self, relative: &str, expected: &str, limit: u64) -> bool {
        check_relative(relative).is_ok()
            && self
                .load(relative, limit)
                .is_some_and(|cached| Checksum::of_bytes(&cached.body).to_hex() == expected)
    }

    fn text(&self, relative: &str, body: Vec<u8>) -> Result<String, SparseError> {
        String::from_utf8(body).map_err(|_| SparseError::NotText {
            url: self.url(relative),
        })
    }

    fn cache_path(&self, relative: &str) -> PathBuf {
        self.cache.join(relative)
    }

    /// The cached copy of `relative`, `None` when there is none or it cannot be read.
    fn load(&self, relative: &str, limit: u64) -> Option<Cached> {
        let bytes = crate::index::read_limited(&self.cache_path(relative), limit + 4096)
            .ok()
            .flatten()?;
        let rest = bytes.strip_prefix(HEADER)?;
        let (line, body) = rest.split_once('\n')?;
        let validators = serde_json::from_str(line).ok()?;
        Some(Cached {
            validators,
            body: body.as_bytes().to_vec(),
        })
    }

    fn store(
        &self,
        relative: &str,
        validators: &Validators,
        body: &[u8],
    ) -> Result<(), SparseError> {
        if let Some(staged) = self
            .staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            staged.push((relative.to_owned(), validators.clone(), body.to_vec()));
            return Ok(());
        }
        self.write(relative, validators, body)
    }

    fn write(
        &self,
        relative: &str,
        validators: &Validators,
        body: &[u8],
    ) -> Result<(), SparseError> {
        let path = self.cache_path(relative);
        let failed = |reason: String| SparseError::Cache {
            path: path.clone(),
            reason,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| failed(error.to_string()))?;
        }
        let header =
            serde_json::to_string(validators).map_err(|error| failed(error.to_string()))?;
        let mut bytes = Vec::with_capacity(HEADER.len() + header.len() + 1 + body.len());
        bytes.extend_from_slice(HEADER.as_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(body);
        crate::fsutil::write_atomic(&path, &bytes).map_err(|error| failed(format!("{error:#}")))
    }

    /// One GET, conditional when `validators` are given, tried again on connect errors,
    /// timeouts and 5xx answers.
    fn get(
        &self,
        client: &reqwest::blocking::Client,
        relative: &str,
        validators: Option<&Validators>,
        limit: u64,
    ) -> Result<Answer, SparseError> {
        let url = self.url(relative);
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
            }
            let mut request = client.get(&url);
            if let Some(validators) = validators {
                if let Some(etag) = &validators.etag {
                    request = request.header(IF_NONE_MATCH, etag);
                }
                if let Some(modified) = &validators.last_modified {
                    request = request.header(IF_MODIFIED_SINCE, modified);
                }
            }
            let response = match request.send() {
                Ok(response) => response,
                Err(error) if error.is_builder() || error.is_redirect() => {
                    return Err(SparseError::Http {
                        url,
                        reason: chain_text(&error),
                    });
                }
                Err(error) => {
                    last = chain_text(&error);
                    continue;
                }
            };
            let status = response.status();
            if status.is_server_error() {
                last = format!("the server answered HTTP {status}");
                continue;
            }
            match status {
                StatusCode::NOT_MODIFIED => {
                    self.count(|counts| counts.not_modified += 1);
                    return Ok(Answer::NotModified);
                }
                StatusCode::NOT_FOUND | StatusCode::GONE => return Ok(Answer::Missing),
                status if status.is_success() => {}
                status => {
                    return Err(SparseError::Status {
                        url,
                        status: status.as_u16(),
                    });
                }
            }
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                    .map(str::to_owned)
            };
            let validators = Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            };
            if response
                .content_length()
                .is_some_and(|length| length > limit)
            {
                return Err(SparseError::TooLarge { url, limit });
            }
            let expected = response.content_length();
            let mut body = Vec::new();
            match response.take(limit + 1).read_to_end(&mut body) {
                Ok(_) if body.len() as u64 > limit => {
                    return Err(SparseError::TooLarge { url, limit });
                }
                Ok(_) if expected.is_some_and(|length| length != body.len() as u64) => {
                    last = format!("the connection closed after {} bytes", body.len());
                    continue;
                }
                Ok(_) => {
                    self.count(|counts| counts.fetched += 1);
                    return Ok(Answer::Body { validators, body });
                }
                Err(error) => {
                    last = format!("the answer broke off: {error}");
                    continue;
                }
            }
        }
        Err(SparseError::Http {
            url,
            reason: format!("{last} (tried {ATTEMPTS} times)"),
        })
    }
}

enum Answer {
    Missing,
    NotModified,
    Body {
        validators: Validators,
        body: Vec<u8>,
    },
}
