//! Signing in the minisign format, on `ed25519-dalek`: key files, `.minisig` signatures,
//! what a signature binds for an OCP tarball, and the trusted keys files.
//!
//! Everything here reads and writes the formats of `minisign` byte for byte, so a user can
//! check an ocp signature with `minisign -V` and ocp can check a `minisign -S` signature:
//!
//! - [`key`]: public keys (`Ed‖keyid‖pk`), secret keys (encrypted with scrypt as minisign
//!   does, or not encrypted), key generation;
//! - [`signature`]: the four-line `.minisig` file, signing and verifying (prehashed `ED` and
//!   legacy `Ed`);
//! - [`package`]: the trusted comment ocp writes for an OCP tarball and the manifest read
//!   back from the tarball to check it;
//! - [`canonical`]: the fields of a published version that the signature covers, and their
//!   canonical form (whose sha256 the trusted comment carries);
//! - [`trusted`]: names mapped to public keys (`trusted-keys.toml`).
//!
//! This module never prints, never prompts and never reads the environment: the ops layer
//! finds keys and passwords and hands them in. Secret material lives in `Zeroizing` buffers
//! or in `ed25519-dalek` keys that wipe themselves, and no error or `Debug` output of this
//! module contains key material or passwords.

pub mod canonical;
pub mod key;
pub mod package;
pub mod signature;
pub mod trusted;

pub use canonical::{SignedDependency, SignedFields};
pub use key::{KdfLimits, PublicKey, SecretKey, SecretKeyFile};
pub use package::PackageClaim;
pub use signature::{Algorithm, SignatureFile};
pub use trusted::{TrustedKeys, TrustedSigner};

use crate::model::KeyId;

/// Everything that can go wrong with keys and signatures. Each variant says what failed in
/// words a user can act on; callers add the path of the file with `anyhow` context.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("not a minisign public key: {reason}")]
    MalformedPublicKey { reason: String },
    #[error("not a minisign secret key: {reason}")]
    MalformedSecretKey { reason: String },
    #[error("not a minisign signature: {reason}")]
    MalformedSignature { reason: String },
    #[error("unsupported {what} `{found}` (ocp supports {supported})")]
    Unsupported {
        what: &'static str,
        found: String,
        supported: &'static str,
    },
    #[error("wrong password for the secret key")]
    WrongPassword,
    #[error("the secret key is corrupted: {reason}")]
    CorruptedSecretKey { reason: String },
    #[error(
        "the secret key asks for a key derivation over {memory_mib} MiB of memory, {passes} times; ocp allows at most {max_memory_mib} MiB, and {max_total_mib} MiB in all"
    )]
    KdfTooExpensive {
        memory_mib: u64,
        passes: u32,
        max_memory_mib: u64,
        max_total_mib: u64,
    },
    #[error("the secret key is encrypted and no password was given")]
    PasswordRequired,
    #[error("the {what} must be one line (it holds a line break)")]
    CommentHasLineBreak { what: &'static str },
    #[error("the {what} is {length} bytes long; at most {max} bytes fit in a signature file")]
    CommentTooLong {
        what: &'static str,
        length: usize,
        max: usize,
    },
    #[error("the signature was made by key {signature} but the public key is {public_key}")]
    KeyIdMismatch { signature: KeyId, public_key: KeyId },
    #[error(
        "the signature does not match the file contents: the file was changed after it was signed, or the signature belongs to another file"
    )]
    FileMismatch,
    #[error(
        "the trusted comment does not match its signature: the signature file was changed after it was signed"
    )]
    TrustedCommentMismatch,
    #[error("legacy (not prehashed) signatures are refused here")]
    LegacyRefused,
    #[error("the trusted comment is not a valid ocp package claim: {reason}")]
    MalformedClaim { reason: String },
    #[error("the tarball's `ocp.json` is not a valid manifest: {reason}")]
    MalformedManifest { reason: String },
    #[error("the tarball is not an OCP that `ocp install` would accept")]
    RefusedArchive(#[source] crate::intake::IntakeError),
    #[error("the signature is for the OCP package {claimed}, but the file is not an OCP tarball")]
    NotAPackage { claimed: String },
    #[error("the signature is for the package {claimed}, but the tarball holds {actual}")]
    PackageMismatch { claimed: String, actual: String },
    #[error(
        "the signature is for a tarball with sha256 {claimed}, but this file's sha256 is {actual}"
    )]
    ChecksumMismatch { claimed: String, actual: String },
    #[error(
        "the signature covers other components, dependencies or requirements (entry digest {claimed}) than the tarball's `ocp.json` declares (entry digest {actual})"
    )]
    FieldsMismatch { claimed: String, actual: String },
    #[error("failed to generate random bytes: {0}")]
    Random(String),
    #[error("failed to read the data to sign or verify")]
    Read(#[source] std::io::Error),
}

/// The base64 of minisign files: the standard alphabet, padded.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// Decodes a base64 line that must hold exactly `expected` bytes, or says what is wrong with
/// it in words that tell a truncated file from a damaged one ("the key line is ...").
pub(crate) fn decode_line(text: &str, expected: usize) -> Result<Vec<u8>, String> {
    let text = text.trim();
    let expected_characters = expected.div_ceil(3) * 4;
    let is_alphabet = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !is_alphabet {
        return Err("is not base64: the file is damaged".to_owned());
    }
    if text.len() < expected_characters {
        return Err(format!(
            "is {} characters long instead of {expected_characters}: the file is truncated",
            text.len()
        ));
    }
    let bytes =
        base64_decode(text).ok_or_else(|| "is not valid base64: the file is damaged".to_owned())?;
    if bytes.len() != expected {
        return Err(format!(
            "holds {} bytes instead of {expected}: the file is damaged",
            bytes.len()
        ));
    }
    Ok(bytes)
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], SigningError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| SigningError::Random(error.to_string()))?;
    Ok(bytes)
}
