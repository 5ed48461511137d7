//! `checkpoint/keys`: the index keys in the order they signed checkpoints, one JSON line each
//! (`{"key": "RW…", "signature": "<minisign signature>"}`). The first key signs itself; every
//! later key is signed by the key before it, with the trusted comment
//! `ocp-index-key:<identity> key:<its key id> signer:<the signer's key id>`. A client that
//! pinned a key follows the history from that key to the newest one, so a new index key is
//! accepted only when the old key signed it, and a key not in the history is refused.

use serde::{Deserialize, Serialize};

use super::{CheckpointError, check_identity};
use crate::model::KeyId;
use crate::signing::{PublicKey, SecretKey, SignatureFile};

const MARKER: &str = "ocp-index-key";
/// The most keys a history may hold.
const MAX_KEYS: usize = 1_000;

/// One line of `checkpoint/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRecord {
    /// The public key, minisign's base64 line.
    key: String,
    /// A minisign signature of `key` by the key before it (the first by itself).
    signature: String,
}

/// A key history whose every signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHistory {
    keys: Vec<PublicKey>,
}

/// How the key that signed a checkpoint came to be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTrust {
    /// It is the pinned key.
    Pinned,
    /// Nothing was pinned: it is the newest key of the history, trusted on first use.
    FirstUse,
    /// The pinned key signed the way to it.
    Rotated { from: KeyId },
}

impl KeyHistory {
    /// Parses and checks `checkpoint/keys` of the index `identity`.
    pub fn parse(text: &str, identity: &str) -> Result<KeyHistory, CheckpointError> {
        let invalid = |line: usize, reason: String| CheckpointError::Keys {
            reason: format!("line {line}: {reason}"),
        };
        let mut keys: Vec<PublicKey> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let number = number + 1;
            if line.trim().is_empty() {
                continue;
            }
            if keys.len() >= MAX_KEYS {
                return Err(invalid(number, format!("more than {MAX_KEYS} keys")));
            }
            let record: KeyRecord =
                serde_json::from_str(line).map_err(|error| invalid(number, error.to_string()))?;
            let key = PublicKey::parse(&record.key)
                .map_err(|error| invalid(number, error.to_string()))?;
            if keys.contains(&key) {
                return Err(invalid(
                    number,
                    format!("key {} appears twice", key.key_id()),
                ));
            }
            let signer = keys.last().unwrap_or(&key);
            let signature = SignatureFile::parse(&record.signature)
                .map_err(|error| invalid(number, error.to_string()))?;
            signature
                .verify(signer, record.key.as_bytes(), false)
                .map_err(|error| {
                    invalid(
                        number,
                        format!(
                            "key {} is not signed by {}: {error}",
                            key.key_id(),
                            signer.key_id()
                        ),
                    )
                })?;
            let expected = statement(identity, key.key_id(), signer.key_id());
            if signature.trusted_comment != expected {
                return Err(invalid(
                    number,
                    format!(
                        "the signature states `{}`, not `{expected}`",
                        signature.trusted_comment
                    ),
                ));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(CheckpointError::Keys {
                reason: "it lists no key".to_owned(),
            });
        }
        Ok(KeyHistory { keys })
    }

    /// The newest key: the one that signs checkpoints now.
    pub fn current(&self) -> &PublicKey {
        // `parse` refuses an empty history.
        &self.keys[self.keys.len() - 1]
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Whether `older` is this history with keys appended.
    pub fn extends(&self, older: &KeyHistory) -> bool {
        self.keys.len() >= older.keys.len() && self.keys[..older.keys.len()] == older.keys[..]
    }
}

/// The first line of a new history: `key` signing itself.
pub fn first_record(key: &SecretKey, identity: &str) -> Result<String, CheckpointError> {
    record(key, &key.public_key(), identity)
}

/// The line that hands the index from `old` (the newest key) to `new`.
pub fn rotation_record(
    old: &SecretKey,
    new: &PublicKey,
    identity: &str,
) -> Result<String, CheckpointError> {
    record(old, new, identity)
}

fn record(signer: &SecretKey, key: &PublicKey, identity: &str) -> Result<String, CheckpointError> {
    check_identity(identity).map_err(|reason| CheckpointError::Keys { reason })?;
    let text = key.to_base64();
    let signature = SignatureFile::sign(
        signer,
        text.as_bytes(),
        &statement(identity, key.key_id(), signer.key_id()),
        "ocp index key",
    )?;
    let line = serde_json::to_string(&KeyRecord {
        key: text,
        signature: signature.to_text(),
    })
    .map_err(|error| CheckpointError::Keys {
        reason: error.to_string(),
    })?;
    Ok(line + "\n")
}

fn statement(identity: &str, key: KeyId, signer: KeyId) -> String {
    format!("{MARKER}:{identity} key:{key} signer:{signer}")
}

/// Which key must have signed a checkpoint made by `signer`, given the key the client
/// pinned (if any) and the index's key history (when it could be read).
pub fn choose_key(
    pinned: Option<&PublicKey>,
    signer: KeyId,
    history: Option<&KeyHistory>,
) -> Result<(PublicKey, KeyTrust), CheckpointError> {
    if let Some(pinned) = pinned
        && pinned.key_id() == signer
    {
        return Ok((pinned.clone(), KeyTrust::Pinned));
    }
    let Some(history) = history else {
        return Err(match pinned {
            Some(pinned) => CheckpointError::UnknownKey {
                signer,
                pinned: pinned.key_id(),
            },
            None => CheckpointError::NoKeyHistory { signer },
        });
    };
    let current = history.current();
    match pinned {
        None if current.key_id() == signer => Ok((current.clone(), KeyTrust::FirstUse)),
        None => Err(CheckpointError::Keys {
            reason: format!(
                "the checkpoint is signed by {signer}, but the newest key of the history is {}",
                current.key_id()
            ),
        }),
        Some(pinned) if history.keys.contains(pinned) && current.key_id() == signer => Ok((
            current.clone(),
            KeyTrust::Rotated {
                from: pinned.key_id(),
            },
        )),
        Some(pinned) => Err(CheckpointError::UnknownKey {
            signer,
            pinned: pinned.key_id(),
        }),
    }
}
