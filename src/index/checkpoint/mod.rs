//! Signed checkpoints: the index's own key (separate from its package owners' keys) vouching
//! for one state of every file ocp reads from the index. The smallest useful part of TUF's
//! timestamp and snapshot roles, and of the client of Go's checksum database: a reader that
//! remembers the last checkpoint it accepted can tell an index served from a single moment
//! from files mixed from several (mix-and-match), an old index served forever (freeze) and an
//! older one served to a client that saw a newer one (rollback).
//!
//! Three files, in the index's `checkpoint/` folder, so a clone and an HTTP server carry them
//! alike:
//!
//! - `checkpoint/manifest`: the sha256 of every file ocp reads ([`manifest`]);
//! - `checkpoint/manifest.minisig`: the checkpoint itself, a minisign signature of the
//!   manifest whose trusted comment states
//!   `ocp-checkpoint:<index identity> version:<n> commit:<git commit> manifest:<sha256>
//!   issued:<unix seconds> expires:<unix seconds>` (so `minisign -Vm checkpoint/manifest`
//!   checks it too);
//! - `checkpoint/keys`: the index keys in the order they were used, each signed by the one
//!   before it ([`keys`]), so a client that pinned an old key follows a rotation only when
//!   the old key signed the new one.
//!
//! [`accept`] is the reader's decision and [`chain`] the check of the whole history.
//! This module only parses, signs and judges. Where the pinned key and the last accepted
//! checkpoint are kept, and what is printed, belong to the ops layer.

pub mod accept;
pub mod chain;
pub mod keys;
pub mod manifest;

use crate::model::{Checksum, KeyId};
use crate::signing::{PublicKey, SecretKey, SignatureFile, SigningError};
pub use manifest::{Manifest, ManifestError};

/// The folder of the checkpoint files.
pub const FOLDER: &str = "checkpoint";
/// The manifest of file hashes.
pub const MANIFEST_FILE: &str = "checkpoint/manifest";
/// The signed checkpoint: a minisign signature of the manifest.
pub const SIGNATURE_FILE: &str = "checkpoint/manifest.minisig";
/// The history of index keys.
pub const KEYS_FILE: &str = "checkpoint/keys";
/// The largest checkpoint signature ocp reads.
pub const MAX_SIGNATURE_BYTES: u64 = 16 * 1024;
/// The largest key history ocp reads.
pub const MAX_KEYS_BYTES: u64 = 1024 * 1024;

const MARKER: &str = "ocp-checkpoint";

/// What is wrong with a checkpoint, or with the index it vouches for.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint is not valid: {reason}")]
    Malformed { reason: String },
    #[error("the checkpoint's manifest is not valid: {0}")]
    Manifest(#[from] ManifestError),
    #[error("the index key history `checkpoint/keys` is not valid: {reason}")]
    Keys { reason: String },
    #[error("the checkpoint is not signed by the index key {key_id}: {source}")]
    Signature {
        key_id: KeyId,
        #[source]
        source: SigningError,
    },
    #[error(
        "the checkpoint is signed by key {signer}, but the index key is {pinned}, and no key history signed by {pinned} leads to {signer}"
    )]
    UnknownKey { signer: KeyId, pinned: KeyId },
    #[error("the index has no key history (`checkpoint/keys`) to learn its key {signer} from")]
    NoKeyHistory { signer: KeyId },
    #[error("the manifest has sha256 {actual}, but the checkpoint signs {expected}")]
    ManifestMismatch {
        expected: Checksum,
        actual: Checksum,
    },
    #[error(
        "`{location}` has sha256 {actual}, but the checkpoint lists {expected}: the file is from another state of the index than the checkpoint"
    )]
    FileMismatch {
        location: String,
        expected: String,
        actual: String,
    },
    #[error("the checkpoint lists `{location}`, but the server does not have it")]
    ListedFileMissing { location: String },
    #[error(
        "the checkpoint is version {version}, older than version {seen}, which ocp already accepted: the index was rolled back"
    )]
    Rollback { version: u64, seen: u64 },
    #[error(
        "the checkpoint is version {version}, but it is not the version {version} ocp already accepted: the index signed two different states with one version"
    )]
    Forked { version: u64 },
    #[error(
        "the checkpoint is for the index `{found}`, but this index is `{pinned}`: it belongs to another index"
    )]
    OtherIndex { found: String, pinned: String },
    #[error(
        "the checkpoint expired {} ago (it was signed {} ago): the index has not been checkpointed since, so it may be frozen",
        duration_words(*expired_ago),
        duration_words(*issued_ago)
    )]
    Expired { expired_ago: u64, issued_ago: u64 },
    #[error(
        "the checkpoint names commit {commit}, which is not in the history of the index's head {head}"
    )]
    CommitNotInHistory { commit: String, head: String },
    #[error(
        "the checkpoint names commit {commit}, which does not contain commit {seen} of the checkpoint ocp accepted before"
    )]
    CommitNotDescendant { commit: String, seen: String },
    #[error(transparent)]
    Signing(#[from] SigningError),
}

impl CheckpointError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<&'static str> {
        Some(match self {
            CheckpointError::Rollback { .. }
            | CheckpointError::Forked { .. }
            | CheckpointError::CommitNotDescendant { .. } => {
                "nothing was changed; the server sends an older index than ocp saw before: tell the index's maintainers, and do not trust this server until they say why"
            }
            CheckpointError::Expired { .. } => {
                "nothing was changed; the index's checkpoint job has stopped, or the server holds an old copy: tell the index's maintainers (`--offline` works from what ocp has, with a warning)"
            }
            CheckpointError::FileMismatch { .. } | CheckpointError::ListedFileMissing { .. } => {
                "nothing was changed; the server mixes files from different states of the index (a deployment in progress, or tampering): try again in a minute, and tell the index's maintainers if it stays"
            }
            CheckpointError::UnknownKey { .. } | CheckpointError::OtherIndex { .. } => {
                "nothing was changed; if the index's maintainers really replaced its key without signing the new one with the old, check the new key with them and write it as `index-key` for this index in `OCP_HOME/config.toml`"
            }
            _ => {
                "nothing was changed; tell the index's maintainers (`ocp index verify` checks the checkpoints in its history)"
            }
        })
    }
}

/// What a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The index's identity, the same in every checkpoint of one index.
    pub identity: String,
    /// Increases with every checkpoint.
    pub version: u64,
    /// The git commit whose files the manifest lists.
    pub commit: String,
    /// The sha256 of the manifest.
    pub manifest: Checksum,
    /// When it was signed, seconds since 1970.
    pub issued: u64,
    /// When it stops being valid, seconds since 1970.
    pub expires: u64,
}

impl Checkpoint {
    /// The trusted comment that carries this checkpoint.
    pub fn to_trusted_comment(&self) -> String {
        format!(
            "{MARKER}:{} version:{} commit:{} manifest:{} issued:{} expires:{}",
            self.identity, self.version, self.commit, self.manifest, self.issued, self.expires
        )
    }

    /// Reads a trusted comment written by [`Checkpoint::to_trusted_comment`]. Unknown fields
    /// are ignored, so a later ocp can add some.
    pub fn parse(comment: &str) -> Result<Checkpoint, CheckpointError> {
        let malformed = |reason: String| CheckpointError::Malformed { reason };
        if !comment.starts_with(&format!("{MARKER}:")) {
            return Err(malformed(format!(
                "its trusted comment does not start with `{MARKER}:`"
            )));
        }
        let mut fields: [Option<&str>; 6] = [None; 6];
        const NAMES: [&str; 6] = [MARKER, "version", "commit", "manifest", "issued", "expires"];
        for field in comment.split(' ').filter(|field| !field.is_empty()) {
            let (key, value) = field
                .split_once(':')
                .ok_or_else(|| malformed(format!("`{field}` is not `key:value`")))?;
            let Some(slot) = NAMES.iter().position(|name| *name == key) else {
                continue;
            };
            if fields[slot].replace(value).is_some() {
                return Err(malformed(format!("`{key}` appears twice")));
            }
        }
        let field = |slot: usize| {
            fields[slot]
                .filter(|value| !value.is_empty())
                .ok_or_else(|| malformed(format!("it has no `{}`", NAMES[slot])))
        };
        let number = |slot: usize| -> Result<u64, CheckpointError> {
            let text = field(slot)?;
            text.parse()
                .map_err(|_| malformed(format!("`{}:{text}` is not a number", NAMES[slot])))
        };
        let identity = field(0)?;
        check_identity(identity).map_err(malformed)?;
        let commit = field(2)?;
        if !is_commit(commit) {
            return Err(malformed(format!(
                "`commit:{commit}` is not a git commit id"
            )));
        }
        let manifest_text = field(3)?;
        let manifest = manifest_text
            .parse::<Checksum>()
            .ok()
            .filter(|checksum| checksum.to_hex() == manifest_text)
            .ok_or_else(|| {
                malformed(format!(
                    "`manifest:{manifest_text}` is not 64 lowercase hex digits"
                ))
            })?;
        let checkpoint = Checkpoint {
            identity: identity.to_owned(),
            version: number(1)?,
            commit: commit.to_owned(),
            manifest,
            issued: number(4)?,
            expires: number(5)?,
        };
        if checkpoint.expires <= checkpoint.issued {
            return Err(malformed("it expires before it was signed".to_owned()));
        }
        Ok(checkpoint)
    }

    /// Refuses a checkpoint that is past its expiry at `now` (seconds since 1970).
    pub fn check_fresh(&self, now: u64) -> Result<(), CheckpointError> {
        if now < self.expires {
            return Ok(());
        }
        Err(CheckpointError::Expired {
            expired_ago: now - self.expires,
            issued_ago: now.saturating_sub(self.issued),
        })
    }

    /// Refuses a checkpoint that cannot follow `last`, the one accepted before: another
    /// index, a lower version (rollback), or the same version with other contents (a fork).
    pub fn check_succession(&self, last: Option<&Checkpoint>) -> Result<(), CheckpointError> {
        let Some(last) = last else {
            return Ok(());
        };
        if self.identity != last.identity {
            return Err(CheckpointError::OtherIndex {
                found: self.identity.clone(),
                pinned: last.identity.clone(),
            });
        }
        if self.version < last.version {
            return Err(CheckpointError::Rollback {
                version: self.version,
                seen: last.version,
            });
        }
        if self.version == last.version
            && (self.manifest != last.manifest || self.commit != last.commit)
        {
            return Err(CheckpointError::Forked {
                version: self.version,
            });
        }
        Ok(())
    }
}

/// A checkpoint with its signature: the text of `checkpoint/manifest.minisig`.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    signature: SignatureFile,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` and `manifest` (whose digest the checkpoint must state) with `key`.
    pub fn sign(
        key: &SecretKey,
        checkpoint: Checkpoint,
        manifest: &Manifest,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let actual = manifest.digest();
        if actual != checkpoint.manifest {
            return Err(CheckpointError::ManifestMismatch {
                expected: checkpoint.manifest,
                actual,
            });
        }
        let signature = SignatureFile::sign(
            key,
            manifest.text().as_bytes(),
            &checkpoint.to_trusted_comment(),
            "ocp index checkpoint",
        )?;
        Ok(SignedCheckpoint {
            checkpoint,
            signature,
        })
    }

    /// Parses the text of `checkpoint/manifest.minisig`.
    pub fn parse(text: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let signature = SignatureFile::parse(text)?;
        let checkpoint = Checkpoint::parse(&signature.trusted_comment)?;
        Ok(SignedCheckpoint {
            checkpoint,
            signature,
        })
    }

    pub fn to_text(&self) -> String {
        self.signature.to_text()
    }

    /// The key that made the signature.
    pub fn key_id(&self) -> KeyId {
        self.signature.key_id
    }

    /// Checks that `key` signed this checkpoint's statement.
    pub fn verify_statement(&self, key: &PublicKey) -> Result<(), CheckpointError> {
        self.signature
            .verify_trusted_comment(key)
            .map_err(|source| CheckpointError::Signature {
                key_id: key.key_id(),
                source,
            })
    }

    /// Checks that `key` signed this checkpoint and `manifest`, and that `manifest` is the
    /// one the checkpoint states; returns it parsed.
    pub fn verify_manifest(
        &self,
        key: &PublicKey,
        manifest: String,
    ) -> Result<Manifest, CheckpointError> {
        self.verify_statement(key)?;
        let actual = Checksum::of_bytes(manifest.as_bytes());
        if actual != self.checkpoint.manifest {
            return Err(CheckpointError::ManifestMismatch {
                expected: self.checkpoint.manifest.clone(),
                actual,
            });
        }
        self.signature
            .verify(key, manifest.as_bytes(), false)
            .map_err(|source| CheckpointError::Signature {
                key_id: key.key_id(),
                source,
            })?;
        Ok(Manifest::parse(manifest)?)
    }
}

/// Checks that `bytes`, read from `location`, are the file the manifest lists as `sha256`.
pub fn check_file(location: &str, expected: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
    let actual = Checksum::of_bytes(bytes).to_hex();
    if actual == expected {
        return Ok(());
    }
    Err(CheckpointError::FileMismatch {
        location: location.to_owned(),
        expected: expected.to_owned(),
        actual,
    })
}

/// An index identity: one token of `[A-Za-z0-9._:/@+-]`, at most 200 bytes.
pub fn check_identity(identity: &str) -> Result<(), String> {
    let valid = !identity.is_empty()
        && identity.len() <= 200
        && identity
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an index identity (letters, digits and `._:/@+-`, at most 200)",
            identity.escape_debug()
        ))
    }
}

/// A git commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
pub fn is_commit(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64)
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `3 days`, `5 hours`, `12 minutes`, `40 seconds`: the largest whole unit.
pub fn duration_words(seconds: u64) -> String {
    let (count, unit) = match seconds {
        0..120 => (seconds, "second"),
        120..7_200 => (seconds / 60, "minute"),
        7_200..172_800 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

#[cfg(test)]
mod tests;
