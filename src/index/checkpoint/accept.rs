//! A reader's side of checkpoints: deciding whether the checkpoint an index carries now may
//! be acted on, given the key the reader pinned and the checkpoint it accepted last. The same
//! decision for a git clone and for an index read over HTTP; only where the three files come
//! from differs ([`CheckpointFiles`]).

use super::keys::{KeyHistory, KeyTrust, choose_key};
use super::manifest::Manifest;
use super::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::index::IndexError;
use crate::model::Checksum;
use crate::signing::PublicKey;

/// Where a reader gets an index's checkpoint files.
pub trait CheckpointFiles {
    /// `checkpoint/manifest.minisig`, `None` when the index has none.
    fn signature(&mut self) -> Result<Option<String>, IndexError>;
    /// `checkpoint/keys`, `None` when the index has none.
    fn keys(&mut self) -> Result<Option<String>, IndexError>;
    /// `checkpoint/manifest`, which must have this sha256 (a reader may answer from a copy
    /// it holds with that sha256 without asking again); `None` when the index has none.
    fn manifest(&mut self, sha256: &Checksum) -> Result<Option<String>, IndexError>;
}

/// What to do with a checkpoint past its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Refuse it: the index may be frozen.
    Enforce,
    /// Take it and say how old it is (`--offline`, `--frozen`: working from what is here).
    Report,
}

/// What the reader trusts before it looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trusted<'a> {
    /// The index key the reader pinned (or was given), if any.
    pub pinned: Option<&'a PublicKey>,
    /// The checkpoint it accepted last, if any.
    pub last: Option<&'a Checkpoint>,
}

/// A checkpoint that may be acted on, with the manifest it signs.
#[derive(Debug)]
pub struct Accepted {
    pub signed: SignedCheckpoint,
    pub manifest: Manifest,
    /// The key that signed it.
    pub key: PublicKey,
    /// How that key came to be trusted.
    pub trust: KeyTrust,
    /// With [`Expiry::Report`]: how long ago it expired and was signed, in seconds.
    pub expired: Option<(u64, u64)>,
}

/// Reads and judges the index's checkpoint: `None` when it has none (the caller decides
/// whether that is allowed). `now` is seconds since 1970.
pub fn accept(
    files: &mut dyn CheckpointFiles,
    trusted: Trusted<'_>,
    now: u64,
    expiry: Expiry,
) -> Result<Option<Accepted>, IndexError> {
    let Some(text) = files.signature()? else {
        return Ok(None);
    };
    let signed = SignedCheckpoint::parse(&text)?;
    let history = if trusted
        .pinned
        .is_some_and(|pinned| pinned.key_id() == signed.key_id())
    {
        None
    } else {
        files
            .keys()?
            .map(|text| KeyHistory::parse(&text, &signed.checkpoint.identity))
            .transpose()?
    };
    let (key, trust) = choose_key(trusted.pinned, signed.key_id(), history.as_ref())?;
    signed.verify_statement(&key)?;
    signed.checkpoint.check_succession(trusted.last)?;
    let expired = match (signed.checkpoint.check_fresh(now), expiry) {
        (Ok(()), _) => None,
        (
            Err(CheckpointError::Expired {
                expired_ago,
                issued_ago,
            }),
            Expiry::Report,
        ) => Some((expired_ago, issued_ago)),
        (Err(error), _) => return Err(error.into()),
    };
    let manifest = files
        .manifest(&signed.checkpoint.manifest)?
        .ok_or_else(|| CheckpointError::ListedFileMissing {
            location: super::MANIFEST_FILE.to_owned(),
        })?;
    let manifest = signed.verify_manifest(&key, manifest)?;
    Ok(Some(Accepted {
        signed,
        manifest,
        key,
        trust,
        expired,
    }))
}
