//! A reader's trust in an index's signed checkpoints ([`crate::index::checkpoint`]): which
//! index key it holds, which checkpoint it accepted last, and the check each time an index is
//! opened to be read.
//!
//! - The index key is pinned in the user's config: `index-key` under `[registries.NAME]`, or
//!   for an index named by URL or path, `[index-keys]` with the URL as the key. The user may
//!   write it there before the first use; otherwise ocp pins the key it meets first (trust on
//!   first use) and says so. A new key is followed (and pinned) only when the pinned key
//!   signed it.
//! - The last accepted checkpoint is kept with the last git head in `OCP_HOME/index/seen/`
//!   ([`history`]), so a lower version (rollback) or another state with the same version is
//!   refused later, and, for git, a checkpoint whose commit does not contain the last one.
//! - A checkpoint past its expiry is refused (the index may be frozen), except offline
//!   (`--offline`, `--frozen`), which works from what is here and warns with its age.
//!
//! A refusal changes nothing: a git update is checked in its quarantine before the clone
//! moves, and an index read over HTTP keeps the new checkpoint files only once they are
//! accepted.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::error::{helped, with_help};
use crate::index::checkpoint::accept::{self, Accepted, CheckpointFiles, Expiry, Trusted};
use crate::index::checkpoint::keys::KeyTrust;
use crate::index::checkpoint::manifest::MAX_MANIFEST_BYTES;
use crate::index::checkpoint::{
    Checkpoint, CheckpointError, KEYS_FILE, MANIFEST_FILE, MAX_KEYS_BYTES, MAX_SIGNATURE_BYTES,
    SIGNATURE_FILE, duration_words,
};
use crate::index::git::Repo;
use crate::index::snapshot::{CatFile, CatFileError, SnapshotReader};
use crate::index::sparse::{Remote, SparseError, SparseReader};
use crate::index::{Index, IndexError};
use crate::model::Checksum;
use crate::ops::history::{self, SeenCheckpoint};
use crate::ops::registry::{Freshness, IndexLocation, read_config_file};
use crate::signing::PublicKey;

/// Something the user should know about an index that was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A status line: the verb, then the message.
    Status(&'static str, String),
    Warning(String),
}

/// The index key the user's config pins for `location`, if any.
pub fn pinned_key(location: &IndexLocation) -> anyhow::Result<Option<PublicKey>> {
    let (text, place) = match location
        .registry
        .as_ref()
        .and_then(|registry| registry.index_key.clone())
    {
        Some(text) => (
            text,
            format!("`index-key` under `[registries.{}]`", location.name),
        ),
        None => {
            let Some(document) = read_config_file(&location.config)? else {
                return Ok(None);
            };
            let Some(item) = document
                .get("index-keys")
                .and_then(|table| table.get(&location.remote))
            else {
                return Ok(None);
            };
            let text = item.as_str().map(str::to_owned).ok_or_else(|| {
                helped(
                    format!(
                        "`{}` under `[index-keys]` in `{}` is not a string",
                        location.remote,
                        location.config.display()
                    ),
                    "write the index's public key as `\"<url>\" = \"RW...\"`",
                )
            })?;
            (text, format!("`{}` under `[index-keys]`", location.remote))
        }
    };
    PublicKey::parse(&text).map(Some).map_err(|error| {
        helped(
            format!(
                "{place} in `{}` is not a minisign public key: {error}",
                location.config.display()
            ),
            "write the index's public key (`RW...`), as its maintainers publish it",
        )
    })
}

/// Writes `key` as the pinned index key of `location` into the user's config, keeping the
/// rest of the file as it is.
fn pin(location: &IndexLocation, key: &PublicKey) -> anyhow::Result<()> {
    let path = &location.config;
    let mut document = read_config_file(path)?.unwrap_or_default();
    let value = toml_edit::value(key.to_base64());
    match &location.registry {
        Some(_) => {
            let registries = document
                .entry("registries")
                .or_insert_with(toml_edit::table)
                .as_table_like_mut()
                .context("`registries` in the config is not a table")?;
            let registry = registries
                .get_mut(&location.name)
                .and_then(toml_edit::Item::as_table_like_mut)
                .context("the registry's entry in the config is not a table")?;
            registry.insert("index-key", value);
        }
        None => {
            let keys = document
                .entry("index-keys")
                .or_insert_with(toml_edit::table)
                .as_table_like_mut()
                .context("`index-keys` in the config is not a table")?;
            keys.insert(&location.remote, value);
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
    }
    crate::fsutil::write_atomic(path, document.to_string().as_bytes())
        .with_context(|| format!("failed to pin the index key in `{}`", path.display()))
}

/// The checkpoint accepted last, if any.
fn last_accepted(location: &IndexLocation) -> anyhow::Result<Option<Checkpoint>> {
    let Some(seen) = history::read_seen(location)?.and_then(|seen| seen.checkpoint) else {
        return Ok(None);
    };
    seen.checkpoint().map(Some).ok_or_else(|| {
        helped(
            format!(
                "`{}` is damaged: its checkpoint has no valid manifest hash",
                history::seen_path(location).display()
            ),
            format!(
                "delete it to let ocp trust the index `{}` as it is now",
                location.name
            ),
        )
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn expiry(freshness: Freshness) -> Expiry {
    match freshness {
        Freshness::Offline => Expiry::Report,
        Freshness::Update => Expiry::Enforce,
    }
}

/// An index whose checkpoint cannot be acted on, with what to do about it.
fn refusal(location: &IndexLocation, error: IndexError) -> anyhow::Error {
    let help = match &error {
        IndexError::Checkpoint(error) => error.help(),
        IndexError::Sparse(error) => error.help(),
        _ => None,
    };
    let error = match help {
        Some(help) => with_help(error, help),
        None => anyhow::Error::new(error),
    };
    error.context(format!(
        "refusing the index `{}`: its signed checkpoint does not hold up",
        location.name
    ))
}

/// The checkpoint files of one commit of a clone.
struct GitFiles {
    cat: CatFile,
    commit: String,
    root: std::path::PathBuf,
}

impl GitFiles {
    fn read(&mut self, path: &str, limit: u64) -> Result<Option<String>, IndexError> {
        let bytes = self
            .cat
            .read(&format!("{}:{path}", self.commit), limit)
            .map_err(|error| match error {
                CatFileError::Broken(error) => IndexError::Git(error),
                other => IndexError::Checkpoint(CheckpointError::Malformed {
                    reason: format!("`{path}`: {other}"),
                }),
            })?;
        bytes
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| IndexError::Read {
                    path: self.root.join(path),
                    source: std::io::Error::from(std::io::ErrorKind::InvalidData),
                })
            })
            .transpose()
    }
}

impl CheckpointFiles for GitFiles {
    fn signature(&mut self) -> Result<Option<String>, IndexError> {
        self.read(SIGNATURE_FILE, MAX_SIGNATURE_BYTES)
    }

    fn keys(&mut self) -> Result<Option<String>, IndexError> {
        self.read(KEYS_FILE, MAX_KEYS_BYTES)
    }

    fn manifest(&mut self, _sha256: &Checksum) -> Result<Option<String>, IndexError> {
        self.read(MANIFEST_FILE, MAX_MANIFEST_BYTES)
    }
}

/// Checks the checkpoint at commit `head` of `repo` (a clone, or the quarantine of an update
/// to it): `None` when the index has no checkpoint and never had one for this user.
pub fn check_git(
    location: &IndexLocation,
    repo: &Repo,
    head: &str,
    freshness: Freshness,
) -> anyhow::Result<Option<Accepted>> {
    let pinned = pinned_key(location)?;
    let last = last_accepted(location)?;
    let mut files = GitFiles {
        cat: CatFile::start(repo.root())?,
        commit: head.to_owned(),
        root: location.checkout.clone(),
    };
    let trusted = Trusted {
        pinned: pinned.as_ref(),
        last: last.as_ref(),
    };
    let accepted = accept::accept(&mut files, trusted, now(), expiry(freshness))
        .map_err(|error| refusal(location, error))?;
    let Some(accepted) = accepted else {
        if pinned.is_some() || last.is_some() {
            return Err(helped(
                format!(
                    "refusing the index `{}`: it had signed checkpoints, but its head {} has none (`{SIGNATURE_FILE}`)",
                    location.name,
                    short(head)
                ),
                "nothing was changed; a checkpoint does not disappear from an index on its own: tell the index's maintainers",
            ));
        }
        return Ok(None);
    };
    let commit = &accepted.signed.checkpoint.commit;
    let outside = if !repo.contains(head, commit)? {
        Some(CheckpointError::CommitNotInHistory {
            commit: commit.clone(),
            head: head.to_owned(),
        })
    } else {
        match &last {
            Some(last) if !repo.contains(commit, &last.commit)? => {
                Some(CheckpointError::CommitNotDescendant {
                    commit: commit.clone(),
                    seen: last.commit.clone(),
                })
            }
            _ => None,
        }
    };
    if let Some(error) = outside {
        return Err(refusal(location, error.into()));
    }
    Ok(Some(accepted))
}

/// The index of a clone as its accepted checkpoint lists it: the files of the commit it
/// names, each checked against the manifest.
pub fn snapshot_index(checkout: &Path, accepted: &Accepted) -> Result<Index, IndexError> {
    let reader = SnapshotReader::new(
        checkout,
        &accepted.signed.checkpoint.commit,
        Arc::new(accepted.manifest.clone()),
    );
    Index::over(checkout, Some(Repo::at(checkout)), Arc::new(reader), None)
}

/// Opens the index at `base` (a `sparse+` URL's folder) over HTTP: its checkpoint accepted
/// first, then every file read as the checkpoint lists it.
pub fn open_sparse(
    location: &IndexLocation,
    base: &str,
    freshness: Freshness,
) -> anyhow::Result<(Index, Vec<Notice>)> {
    let pinned = pinned_key(location)?;
    let last = last_accepted(location)?;
    let refuse = |error: IndexError| refusal(location, error);
    let mut remote = Remote::new(base, &location.checkout, freshness == Freshness::Offline)
        .map_err(|error| refuse(error.into()))?;
    remote.stage();
    let trusted = Trusted {
        pinned: pinned.as_ref(),
        last: last.as_ref(),
    };
    let accepted = accept::accept(&mut remote, trusted, now(), expiry(freshness))
        .map_err(|error| match error {
            IndexError::Sparse(error) => sparse_error(error),
            other => refuse(other),
        })?
        .ok_or_else(|| {
            sparse_error(SparseError::NoCheckpoint {
                url: base.to_owned(),
            })
        })?;
    let reader = Arc::new(SparseReader::new(
        remote,
        Arc::new(accepted.manifest.clone()),
    ));
    let index = Index::over(
        &location.checkout,
        None,
        Arc::clone(&reader) as Arc<dyn crate::index::reader::IndexReader>,
        Some(base.to_owned()),
    )
    .map_err(|error| match error {
        IndexError::Sparse(error) => sparse_error(error),
        other => crate::ops::registry::explain_open_error(other),
    })
    .with_context(|| format!("failed to open the index `{}`", location.name))?;
    reader.commit_staged().map_err(sparse_error)?;
    let notices = remember(location, &accepted)?;
    Ok((index, notices))
}

fn sparse_error(error: SparseError) -> anyhow::Error {
    match error.help() {
        Some(help) => with_help(error, help),
        None => anyhow::Error::new(error),
    }
}

/// Remembers an accepted checkpoint and the key that signed it; says what the user should
/// know (a key trusted on first use, a rotation, an expired checkpoint used offline).
pub fn remember(location: &IndexLocation, accepted: &Accepted) -> anyhow::Result<Vec<Notice>> {
    let checkpoint = &accepted.signed.checkpoint;
    history::record_checkpoint(
        location,
        Some(SeenCheckpoint::new(checkpoint, accepted.key.key_id())),
    )?;
    let mut notices = Vec::new();
    let config = location.config.display();
    match &accepted.trust {
        KeyTrust::Pinned => {}
        KeyTrust::FirstUse => {
            pin(location, &accepted.key)?;
            notices.push(Notice::Status(
                "Pinned",
                format!(
                    "key {} of the index `{}` on first use, in `{config}`; a checkpoint by another key is refused unless this one signed it",
                    accepted.key.key_id(),
                    location.name
                ),
            ));
        }
        KeyTrust::Rotated { from } => {
            pin(location, &accepted.key)?;
            notices.push(Notice::Status(
                "Rotated",
                format!(
                    "the key of the index `{}` from {from} to {}, signed by {from}; `{config}` now pins the new key",
                    location.name,
                    accepted.key.key_id()
                ),
            ));
        }
    }
    if let Some((expired_ago, issued_ago)) = accepted.expired {
        notices.push(Notice::Warning(format!(
            "the checkpoint of the index `{}` (version {}) expired {} ago and was signed {} ago; working offline from it",
            location.name,
            checkpoint.version,
            duration_words(expired_ago),
            duration_words(issued_ago)
        )));
    }
    Ok(notices)
}

/// Forgets the last accepted checkpoint, for `ocp index accept-rewrite`: the next one is
/// taken whatever its version (still only when the pinned key signed it).
pub fn forget(location: &IndexLocation) -> anyhow::Result<Option<u64>> {
    let last = last_accepted(location)?;
    if last.is_some() {
        history::record_checkpoint(location, None)?;
    }
    Ok(last.map(|checkpoint| checkpoint.version))
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}
