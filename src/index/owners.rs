//! Owner logs: replaying a package's signed [`OwnerEvent`]s into its current owners and
//! yanked versions, checking every signature on the way, and signing new events.

use std::collections::{BTreeMap, BTreeSet};

use super::format::{OwnerAction, OwnerEvent};
use crate::signing::{PublicKey, SecretKey, SignatureFile, SigningError};

/// Why an owner log does not hold up.
#[derive(Debug, thiserror::Error)]
pub enum OwnerLogError {
    #[error("event {index} of `{package}`: {reason}")]
    Invalid {
        package: String,
        index: usize,
        reason: String,
    },
}

/// The state an owner log replays to.
#[derive(Debug, Default, Clone)]
pub struct Owners {
    /// Key id -> public key of the current owners.
    pub current: BTreeMap<String, PublicKey>,
    /// Every key that has ever been an owner (old versions stay valid after a key leaves).
    pub ever: BTreeMap<String, PublicKey>,
    /// Versions yanked now.
    pub yanked: BTreeSet<String>,
}

impl Owners {
    pub fn is_owner(&self, key_id: &str) -> bool {
        self.current.contains_key(key_id)
    }
}

/// Replays `events` (the whole log of `package`), verifying each signature against the owners
/// of its time. An empty log means the package has no owner yet.
pub fn replay(package: &str, events: &[OwnerEvent]) -> Result<Owners, OwnerLogError> {
    replay_with(package, events, Claim::Verify)
}

/// Whether [`replay_with`] checks the signature of the opening claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Check it, as `ocp index verify` and everything that writes the log does.
    Verify,
    /// Skip it. A claim is signed by the very key it claims, so anyone who can write the log
    /// can write a valid one: its signature proves the line is intact, never who wrote it.
    /// First-use trust comes from history (ocp refuses an index whose history was rewritten),
    /// so readers on the hot path (the resolver) skip this one check. Every later event is
    /// still verified against the owners of its time.
    TrustHistory,
}

/// [`replay`], choosing whether the claim's own signature is checked.
pub fn replay_with(
    package: &str,
    events: &[OwnerEvent],
    claim: Claim,
) -> Result<Owners, OwnerLogError> {
    let mut owners = Owners::default();
    for (index, event) in events.iter().enumerate() {
        let invalid = |reason: String| OwnerLogError::Invalid {
            package: package.to_owned(),
            index: index + 1,
            reason,
        };
        if event.package != package {
            return Err(invalid(format!("it names the package `{}`", event.package)));
        }
        let signer = match event.action {
            OwnerAction::Claim => {
                if index != 0 {
                    return Err(invalid("a claim may only open the log".into()));
                }
                let key = event_key(event).map_err(invalid)?;
                if key.key_id().to_string() != event.by {
                    return Err(invalid(format!(
                        "the claim is signed by {} but claims key {}",
                        event.by,
                        key.key_id()
                    )));
                }
                key
            }
            _ if index == 0 => return Err(invalid("the log must open with a claim".into())),
            _ => owners.current.get(&event.by).cloned().ok_or_else(|| {
                invalid(format!(
                    "it is signed by {}, which is not an owner",
                    event.by
                ))
            })?,
        };
        let self_signed_claim = event.action == OwnerAction::Claim;
        if !(self_signed_claim && claim == Claim::TrustHistory) {
            verify_event(event, &signer)
                .map_err(|error| invalid(format!("its signature does not verify: {error}")))?;
        }
        match event.action {
            OwnerAction::Claim | OwnerAction::AddOwner => {
                let key = event_key(event).map_err(invalid)?;
                owners.ever.insert(key.key_id().to_string(), key.clone());
                owners.current.insert(key.key_id().to_string(), key);
            }
            OwnerAction::RemoveOwner => {
                let key_id = event
                    .key_id
                    .clone()
                    .ok_or_else(|| invalid("it names no key".into()))?;
                if owners.current.remove(&key_id).is_none() {
                    return Err(invalid(format!("{key_id} is not an owner")));
                }
                if owners.current.is_empty() {
                    return Err(invalid("it removes the last owner".into()));
                }
            }
            OwnerAction::Yank | OwnerAction::Unyank => {
                let version = event
                    .version
                    .clone()
                    .ok_or_else(|| invalid("it names no version".into()))?;
                if event.action == OwnerAction::Yank {
                    owners.yanked.insert(version);
                } else {
                    owners.yanked.remove(&version);
                }
            }
        }
    }
    Ok(owners)
}

fn event_key(event: &OwnerEvent) -> Result<PublicKey, String> {
    let text = event
        .public_key
        .as_deref()
        .ok_or_else(|| "it carries no public key".to_owned())?;
    let key = PublicKey::parse(text).map_err(|error| error.to_string())?;
    if let Some(key_id) = &event.key_id
        && *key_id != key.key_id().to_string()
    {
        return Err(format!(
            "its key id {key_id} does not belong to its public key ({})",
            key.key_id()
        ));
    }
    Ok(key)
}

fn verify_event(event: &OwnerEvent, key: &PublicKey) -> Result<(), SigningError> {
    let signature = SignatureFile::parse(&event.signature)?;
    signature.verify(key, event.signed_bytes().as_slice(), false)
}

/// Signs `event` with `key`, filling in `by` and `signature`.
pub fn sign_event(mut event: OwnerEvent, key: &SecretKey) -> Result<OwnerEvent, SigningError> {
    event.by = key.key_id().to_string();
    event.signature = String::new();
    let trusted = format!(
        "ocp-owner-event:{} package:{}",
        action_name(event.action),
        event.package
    );
    let signature = SignatureFile::sign(
        key,
        event.signed_bytes().as_slice(),
        &trusted,
        "ocp index owner event",
    )?;
    event.signature = signature.to_text();
    Ok(event)
}

pub fn action_name(action: OwnerAction) -> &'static str {
    match action {
        OwnerAction::Claim => "claim",
        OwnerAction::AddOwner => "add-owner",
        OwnerAction::RemoveOwner => "remove-owner",
        OwnerAction::Yank => "yank",
        OwnerAction::Unyank => "unyank",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: OwnerAction, key: &SecretKey, subject: Option<&SecretKey>) -> OwnerEvent {
        let event = OwnerEvent {
            action,
            package: "shopify-osiris".to_owned(),
            key_id: subject.map(|k| k.key_id().to_string()),
            public_key: subject.map(|k| k.public_key().to_base64()),
            version: None,
            by: String::new(),
            time: "2026-01-01T00:00:00Z".to_owned(),
            signature: String::new(),
        };
        sign_event(event, key).expect("sign")
    }

    #[test]
    fn only_the_self_signed_claim_may_skip_its_signature() {
        let alice = SecretKey::generate().expect("key");
        let bob = SecretKey::generate().expect("key");
        let mut claim = event(OwnerAction::Claim, &alice, Some(&alice));
        claim.time = "2027-01-01T00:00:00Z".to_owned(); // no longer what was signed
        let add = event(OwnerAction::AddOwner, &alice, Some(&bob));
        let log = vec![claim, add.clone()];
        assert!(replay("shopify-osiris", &log).is_err());
        let owners = replay_with("shopify-osiris", &log, Claim::TrustHistory).expect("replay");
        assert!(owners.is_owner(&bob.key_id().to_string()));

        let mut forged = add;
        forged.time = "2027-01-01T00:00:00Z".to_owned();
        let log = vec![event(OwnerAction::Claim, &alice, Some(&alice)), forged];
        assert!(replay_with("shopify-osiris", &log, Claim::TrustHistory).is_err());
    }
}
