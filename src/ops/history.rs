//! No silent history rewrite. ocp remembers the last head it saw of each index, in
//! `OCP_HOME/index/seen/<checkout>.json`, and an update whose new head does not contain that
//! commit (a force-push, a rebased or replaced history) is refused with what changed and how
//! to accept it deliberately (`ocp index accept-rewrite`). An update is fetched into a
//! quarantine first ([`Repo::fetch_quarantined`]), so a refused one leaves the clone exactly
//! as it was.
//!
//! Why: the owner log gives trust on first use, and a rewritten history can replace a
//! package's first claim, its owners and every signed entry with an attacker's. Appending is
//! what an index does; anything else is for people to decide, not for `git reset`.
//!
//! The same file remembers the last signed checkpoint ocp accepted of the index
//! ([`SeenCheckpoint`]; see [`crate::ops::checkpoints`]), for a git clone and for an index
//! read over HTTP alike, so that an older checkpoint is refused later.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::error::helped;
use crate::index::checkpoint::Checkpoint;
use crate::index::git::{Fetched, HistoryChange, Repo};
use crate::model::KeyId;
use crate::ops::registry::IndexLocation;

/// How many commits and files an error lists before it says "and N more".
const LISTED: usize = 8;

/// What ocp remembers of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub format_version: u32,
    /// The remote the head came from.
    pub remote: String,
    pub branch: String,
    /// The last head ocp saw.
    pub head: String,
    /// The last signed checkpoint ocp accepted, if the index has checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<SeenCheckpoint>,
}

/// What ocp remembers of the last checkpoint it accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenCheckpoint {
    pub identity: String,
    pub version: u64,
    pub commit: String,
    /// The sha256 of its manifest.
    pub manifest: String,
    pub issued: u64,
    pub expires: u64,
    /// The index key that signed it.
    pub key_id: String,
}

impl SeenCheckpoint {
    pub fn new(checkpoint: &Checkpoint, key_id: KeyId) -> SeenCheckpoint {
        SeenCheckpoint {
            identity: checkpoint.identity.clone(),
            version: checkpoint.version,
            commit: checkpoint.commit.clone(),
            manifest: checkpoint.manifest.to_hex(),
            issued: checkpoint.issued,
            expires: checkpoint.expires,
            key_id: key_id.to_string(),
        }
    }

    /// The checkpoint as it was accepted; `None` when the file was edited into something
    /// that is not one.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        Some(Checkpoint {
            identity: self.identity.clone(),
            version: self.version,
            commit: self.commit.clone(),
            manifest: self.manifest.parse().ok()?,
            issued: self.issued,
            expires: self.expires,
        })
    }
}

/// `OCP_HOME/index/seen/<checkout folder>.json`, beside (not inside) the clones, so that
/// deleting a clone does not make ocp forget.
pub fn seen_path(location: &IndexLocation) -> PathBuf {
    let index_dir = location
        .checkout
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let name = location
        .checkout
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    index_dir.join("seen").join(format!("{name}.json"))
}

/// The head ocp last saw of this index, if it ever saw one.
pub fn read_seen(location: &IndexLocation) -> anyhow::Result<Option<Seen>> {
    let path = seen_path(location);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read `{}`", path.display()));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|error| {
        helped(
            format!("`{}` is damaged: {error}", path.display()),
            format!(
                "delete it to let ocp trust the index `{}` as it is now",
                location.name
            ),
        )
    })
}

/// Remembers `head` as the last head seen of this index (and keeps the checkpoint it
/// remembers).
pub fn record(location: &IndexLocation, branch: &str, head: &str) -> anyhow::Result<()> {
    let old = read_seen(location).ok().flatten();
    let seen = Seen {
        format_version: 1,
        remote: location.remote.clone(),
        branch: branch.to_owned(),
        head: head.to_owned(),
        checkpoint: old.as_ref().and_then(|old| old.checkpoint.clone()),
    };
    write_seen(location, old.as_ref(), &seen)
}

/// Remembers `checkpoint` as the last one accepted of this index (`None` forgets it, when
/// a rewrite was accepted); an index read over HTTP records the checkpoint's commit as its
/// head.
pub fn record_checkpoint(
    location: &IndexLocation,
    checkpoint: Option<SeenCheckpoint>,
) -> anyhow::Result<()> {
    let old = read_seen(location)?;
    let seen = match &old {
        Some(old) => Seen {
            checkpoint,
            ..old.clone()
        },
        None => Seen {
            format_version: 1,
            remote: location.remote.clone(),
            branch: String::new(),
            head: checkpoint
                .as_ref()
                .map(|checkpoint| checkpoint.commit.clone())
                .unwrap_or_default(),
            checkpoint,
        },
    };
    write_seen(location, old.as_ref(), &seen)
}

fn write_seen(location: &IndexLocation, old: Option<&Seen>, seen: &Seen) -> anyhow::Result<()> {
    if old == Some(seen) {
        return Ok(());
    }
    let path = seen_path(location);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
    }
    let mut text = serde_json::to_string_pretty(seen)?;
    text.push('\n');
    crate::fsutil::write_atomic(&path, text.as_bytes())
}

/// Refuses `new_head` (already fetched into `repo`, which also has the old commits when it
/// still can) unless it contains the last head ocp saw.
pub fn check_fast_forward(
    location: &IndexLocation,
    repo: &Repo,
    new_head: &str,
) -> anyhow::Result<()> {
    let Some(seen) = read_seen(location)? else {
        return Ok(());
    };
    if seen.head == new_head || repo.contains(new_head, &seen.head)? {
        return Ok(());
    }
    let change = repo.history_change(&seen.head, new_head);
    Err(rewrite_error(location, &seen.head, new_head, &change))
}

/// The same check for a quarantined fetch.
pub fn check_fetched(location: &IndexLocation, fetched: &Fetched) -> anyhow::Result<()> {
    check_fast_forward(location, &fetched.repo, &fetched.head)
}

fn rewrite_error(
    location: &IndexLocation,
    old: &str,
    new: &str,
    change: &HistoryChange,
) -> anyhow::Error {
    let short = |hash: &str| hash.chars().take(12).collect::<String>();
    let mut lines = vec![format!(
        "the index `{}` was rewritten: its history no longer contains {}, the last state ocp saw; it now points at {}",
        location.name,
        short(old),
        short(new)
    )];
    let mut list = |title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        lines.push(format!("  {title} ({}):", items.len()));
        let count = items.len();
        lines.extend(
            items
                .into_iter()
                .take(LISTED)
                .map(|item| format!("    {item}")),
        );
        if count > LISTED {
            lines.push(format!("    and {} more", count - LISTED));
        }
    };
    list("commits ocp saw that are gone", change.dropped.clone());
    list("commits that replace them", change.added.clone());
    list(
        "files that differ",
        change
            .files
            .iter()
            .map(|(status, path)| format!("{status} {path}"))
            .collect(),
    );
    if change.dropped.is_empty() && change.added.is_empty() {
        lines.push(format!(
            "  {} is not in the index any more, so ocp cannot show what changed",
            short(old)
        ));
    }
    let index_flag = if location.is_default {
        String::new()
    } else {
        format!(" --index {}", location.name)
    };
    helped(
        lines.join("\n"),
        format!(
            "nothing was changed; if the index's maintainers rewrote it on purpose, check the change with them, then accept it with `ocp index accept-rewrite{index_flag}`"
        ),
    )
}
