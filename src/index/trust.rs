//! Whether an owner of a package vouches for one of its index entries. This is the one
//! check every reader of an entry goes through before acting on it: the resolver before it
//! follows an entry's dependencies, `ocp install` before it unpacks a tarball, and `ocp index
//! verify` for every entry.
//!
//! An entry is vouched for when its fields parse ([`IndexEntry::check`]), its signature was
//! made by a key that has owned the package (replayed from the signed owner log), the global
//! signature covers the trusted comment, and the trusted comment names this package, version
//! and sha256 and carries the digest of exactly these signed fields
//! ([`crate::signing::canonical`]). Nothing here reads files or prints.

use super::format::IndexEntry;
use super::owners::Owners;
use crate::model::normalize_name;
use crate::signing::{PackageClaim, PublicKey, SignatureFile, SigningError};

/// Why an entry is not vouched for. The messages complete "refusing `<name> <version>`: ...".
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("the entry is not valid: {0}")]
    Invalid(String),
    #[error("the signature is unreadable: {0}")]
    Unreadable(SigningError),
    #[error("the entry says key {entry} but the signature was made by {signature}")]
    KeyMismatch { entry: String, signature: String },
    #[error("signed by key {key}, which has never owned `{package}`")]
    NotAnOwner { key: String, package: String },
    #[error("the signature does not verify with key {key}: {error}")]
    BadSignature { key: String, error: SigningError },
    #[error("the signature's trusted comment names no package, so it could belong to any file")]
    NoClaim,
    #[error("the signature's trusted comment is not a valid package claim: {0}")]
    BadClaim(SigningError),
    #[error("the signature vouches for {claimed}, not for this entry ({actual})")]
    ClaimMismatch { claimed: String, actual: String },
    #[error(
        "the signature does not cover the entry's components, dependencies and requirements (it predates index format 2)"
    )]
    Unbound,
    #[error(
        "its components, dependencies, Python requirements or version ranges are not what its owner signed (the signature covers entry digest {signed}, the entry's digest is {actual})"
    )]
    FieldsChanged { signed: String, actual: String },
}

/// Checks that an owner of `entry.name` signed exactly this entry, without the tarball.
/// Returns the signer's key.
pub fn check_entry<'a>(
    entry: &IndexEntry,
    owners: &'a Owners,
) -> Result<&'a PublicKey, TrustError> {
    entry.check().map_err(TrustError::Invalid)?;
    let (signature, key) = signature_and_key(entry, owners)?;
    signature
        .verify_trusted_comment(key)
        .map_err(|error| TrustError::BadSignature {
            key: entry.key_id.clone(),
            error,
        })?;
    check_claim(entry, &signature)?;
    Ok(key)
}

/// Checks `entry` as [`check_entry`] does, and that its signature covers `tarball` (read to
/// its end): what `ocp install` runs on a downloaded tarball before unpacking it.
pub fn check_tarball(
    entry: &IndexEntry,
    owners: &Owners,
    tarball: impl std::io::Read,
) -> Result<(), TrustError> {
    entry.check().map_err(TrustError::Invalid)?;
    let (signature, key) = signature_and_key(entry, owners)?;
    signature
        .verify(key, tarball, false)
        .map_err(|error| TrustError::BadSignature {
            key: entry.key_id.clone(),
            error,
        })?;
    check_claim(entry, &signature)
}

fn signature_and_key<'a>(
    entry: &IndexEntry,
    owners: &'a Owners,
) -> Result<(SignatureFile, &'a PublicKey), TrustError> {
    let signature = SignatureFile::parse(&entry.signature).map_err(TrustError::Unreadable)?;
    if signature.key_id.to_string() != entry.key_id {
        return Err(TrustError::KeyMismatch {
            entry: entry.key_id.clone(),
            signature: signature.key_id.to_string(),
        });
    }
    let key = owners
        .ever
        .get(&entry.key_id)
        .ok_or_else(|| TrustError::NotAnOwner {
            key: entry.key_id.clone(),
            package: entry.name.clone(),
        })?;
    Ok((signature, key))
}

/// The trusted comment (already checked to be signed) must name this entry and carry the
/// digest of its signed fields.
fn check_claim(entry: &IndexEntry, signature: &SignatureFile) -> Result<(), TrustError> {
    let claim = PackageClaim::parse(&signature.trusted_comment)
        .map_err(TrustError::BadClaim)?
        .ok_or(TrustError::NoClaim)?;
    if normalize_name(&claim.name) != entry.name
        || claim.version != entry.version
        || claim.sha256 != entry.sha256
    {
        return Err(TrustError::ClaimMismatch {
            claimed: format!("{} {} (sha256 {})", claim.name, claim.version, claim.sha256),
            actual: format!("{} {}, sha256 {}", entry.name, entry.version, entry.sha256),
        });
    }
    let signed = claim.entry.ok_or(TrustError::Unbound)?;
    let actual = entry.signed_fields().digest().to_hex();
    if signed != actual {
        return Err(TrustError::FieldsChanged { signed, actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::SecretKey;

    const TARBALL: &[u8] = b"the tarball's bytes";

    fn entry(key: &SecretKey, bound: bool) -> IndexEntry {
        let mut entry = IndexEntry {
            sha256: crate::model::Checksum::of_bytes(TARBALL).to_hex(),
            key_id: key.key_id().to_string(),
            ..crate::index::format::example_entry()
        };
        let claim = PackageClaim {
            name: entry.name.clone(),
            version: entry.version.clone(),
            sha256: entry.sha256.clone(),
            entry: bound.then(|| entry.signed_fields().digest().to_hex()),
            timestamp: Some(1),
        };
        entry.signature = SignatureFile::sign(key, TARBALL, &claim.to_trusted_comment(), "c")
            .expect("sign")
            .to_text();
        entry
    }

    fn owners_of(key: &SecretKey) -> Owners {
        let mut owners = Owners::default();
        let public = key.public_key();
        owners.ever.insert(key.key_id().to_string(), public.clone());
        owners.current.insert(key.key_id().to_string(), public);
        owners
    }

    #[test]
    fn a_signed_entry_is_vouched_for_with_and_without_its_tarball() {
        let key = SecretKey::generate().expect("key");
        let entry = entry(&key, true);
        check_entry(&entry, &owners_of(&key)).expect("vouched");
        check_tarball(&entry, &owners_of(&key), TARBALL).expect("tarball");
        let other = check_tarball(&entry, &owners_of(&key), &b"other bytes"[..]);
        assert!(matches!(other, Err(TrustError::BadSignature { .. })));
    }

    #[test]
    fn every_unsigned_edit_is_caught() {
        let key = SecretKey::generate().expect("key");
        let edits: Vec<fn(&mut IndexEntry)> = vec![
            |e| e.python_dependencies = vec!["evil @ file:///tmp/evil".into()],
            |e| e.dependencies[0].name = "evil-osiris".into(),
            |e| e.dependencies.clear(),
            |e| e.components = vec!["other.extractor".into()],
            |e| e.osiris = ">=0.1".into(),
            |e| e.python = ">=3.8".into(),
        ];
        for edit in edits {
            let mut changed = entry(&key, true);
            edit(&mut changed);
            let error = check_entry(&changed, &owners_of(&key)).expect_err("edited");
            assert!(matches!(error, TrustError::FieldsChanged { .. }), "{error}");
        }
    }

    #[test]
    fn unbound_stranger_and_mismatched_signatures_are_refused() {
        let key = SecretKey::generate().expect("key");
        let owners = owners_of(&key);
        let unbound = check_entry(&entry(&key, false), &owners);
        assert!(matches!(unbound, Err(TrustError::Unbound)));
        let stranger = SecretKey::generate().expect("key");
        let error = check_entry(&entry(&stranger, true), &owners_of(&key)).expect_err("stranger");
        assert!(
            error
                .to_string()
                .contains("which has never owned `shopify-osiris`"),
            "{error}"
        );
        let mut moved = entry(&key, true);
        moved.version = "2.0.0".into();
        let error = check_entry(&moved, &owners_of(&key)).expect_err("moved");
        assert!(matches!(error, TrustError::ClaimMismatch { .. }), "{error}");
        let mut invalid = entry(&key, true);
        invalid.dependencies[0].name = "../x".into();
        let error = check_entry(&invalid, &owners_of(&key)).expect_err("invalid");
        assert!(matches!(error, TrustError::Invalid(_)), "{error}");
    }
}
