//! `.minisig` signature files: parsing, writing, signing and verifying.
//!
//! The file has four lines:
//!
//! ```text
//! untrusted comment: <text nobody vouches for>
//! base64(alg[2] ‖ keyid[8] ‖ signature[64])
//! trusted comment: <text covered by the global signature>
//! base64(global_signature[64])
//! ```
//!
//! `alg` is `ED` (Ed25519 over the BLAKE2b-512 hash of the file: what minisign writes by
//! default, and what ocp writes) or `Ed` (legacy: Ed25519 over the file itself, still
//! accepted when verifying). The global signature is Ed25519 over `signature ‖ trusted
//! comment`, so the trusted comment cannot be changed or moved to another signature.

use std::io::Read;

use blake2::Digest as _;
use ed25519_dalek::{Signature, Signer as _};

use super::key::{array, check_one_line, printable};
use super::{PublicKey, SecretKey, SigningError, base64_encode, decode_line};
use crate::model::KeyId;

const UNTRUSTED_PREFIX: &str = "untrusted comment:";
const TRUSTED_PREFIX: &str = "trusted comment: ";
const SIGNATURE_LINE_LENGTH: usize = 2 + 8 + 64;

/// The longest untrusted comment minisign reads back whole (its line buffer is 1024 bytes).
pub const MAX_UNTRUSTED_COMMENT: usize = 1003;
/// The longest trusted comment minisign writes and reads (its buffer is 8192 bytes).
pub const MAX_TRUSTED_COMMENT: usize = 8173;

/// How the file was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `ED`: Ed25519 over the BLAKE2b-512 hash of the file.
    Prehashed,
    /// `Ed`: Ed25519 over the file's bytes (minisign before 0.8, or `minisign -S -l`).
    Legacy,
}

impl Algorithm {
    fn tag(self) -> &'static [u8; 2] {
        match self {
            Algorithm::Prehashed => b"ED",
            Algorithm::Legacy => b"Ed",
        }
    }
}

/// A parsed `.minisig` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFile {
    pub untrusted_comment: String,
    pub algorithm: Algorithm,
    pub key_id: KeyId,
    signature: Signature,
    pub trusted_comment: String,
    global_signature: Signature,
}

impl SignatureFile {
    /// Signs `data` (read to its end) with `key`. The comments must be one line each.
    pub fn sign(
        key: &SecretKey,
        data: impl Read,
        trusted_comment: &str,
        untrusted_comment: &str,
    ) -> Result<Self, SigningError> {
        check_comment(trusted_comment, "trusted comment", MAX_TRUSTED_COMMENT)?;
        check_comment(
            untrusted_comment,
            "untrusted comment",
            MAX_UNTRUSTED_COMMENT,
        )?;
        let hash = prehash(data)?;
        let signature = key.signing_key().sign(&hash);
        let global_signature = key
            .signing_key()
            .sign(&global_message(&signature, trusted_comment));
        Ok(SignatureFile {
            untrusted_comment: untrusted_comment.to_owned(),
            algorithm: Algorithm::Prehashed,
            key_id: key.key_id(),
            signature,
            trusted_comment: trusted_comment.to_owned(),
            global_signature,
        })
    }

    /// Parses the text of a `.minisig` file.
    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let malformed = |reason: String| SigningError::MalformedSignature { reason };
        let mut lines = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line));
        let mut next_line = |number: usize, what: &str| {
            lines.next().filter(|line| !line.is_empty()).ok_or_else(|| {
                malformed(format!(
                    "line {number} ({what}) is missing: the file is empty or truncated"
                ))
            })
        };

        let first = next_line(1, "the untrusted comment")?;
        let untrusted_comment = first
            .strip_prefix(UNTRUSTED_PREFIX)
            .ok_or_else(|| malformed(format!("line 1 does not start with `{UNTRUSTED_PREFIX}`")))?;
        let untrusted_comment = untrusted_comment
            .strip_prefix(' ')
            .unwrap_or(untrusted_comment);

        let second = next_line(2, "the signature")?;
        let bytes = decode_line(second, SIGNATURE_LINE_LENGTH)
            .map_err(|reason| malformed(format!("line 2 (the signature) {reason}")))?;
        let algorithm = match &bytes[0..2] {
            b"ED" => Algorithm::Prehashed,
            b"Ed" => Algorithm::Legacy,
            other => {
                return Err(SigningError::Unsupported {
                    what: "signature algorithm",
                    found: printable(other),
                    supported: "`ED` and legacy `Ed`",
                });
            }
        };
        let key_id = KeyId::from_bytes(array(&bytes[2..10]));
        let signature = Signature::from_bytes(&array(&bytes[10..74]));

        let third = next_line(3, "the trusted comment")?;
        let trusted_comment = third
            .strip_prefix(TRUSTED_PREFIX)
            .ok_or_else(|| malformed(format!("line 3 does not start with `{TRUSTED_PREFIX}`")))?;

        let fourth = next_line(4, "the global signature")?;
        let global = decode_line(fourth, 64)
            .map_err(|reason| malformed(format!("line 4 (the global signature) {reason}")))?;
        let global_signature = Signature::from_bytes(&array(&global));

        Ok(SignatureFile {
            untrusted_comment: untrusted_comment.to_owned(),
            algorithm,
            key_id,
            signature,
            trusted_comment: trusted_comment.to_owned(),
            global_signature,
        })
    }

    /// The text of the `.minisig` file.
    pub fn to_text(&self) -> String {
        let mut line = Vec::with_capacity(SIGNATURE_LINE_LENGTH);
        line.extend_from_slice(self.algorithm.tag());
        line.extend_from_slice(&self.key_id.to_bytes());
        line.extend_from_slice(&self.signature.to_bytes());
        format!(
            "{UNTRUSTED_PREFIX} {}\n{}\n{TRUSTED_PREFIX}{}\n{}\n",
            self.untrusted_comment,
            base64_encode(&line),
            self.trusted_comment,
            base64_encode(&self.global_signature.to_bytes()),
        )
    }

    /// Checks that `key` made this signature over `data` (read to its end) and over the
    /// trusted comment. Legacy signatures are checked only with `allow_legacy`.
    pub fn verify(
        &self,
        key: &PublicKey,
        mut data: impl Read,
        allow_legacy: bool,
    ) -> Result<(), SigningError> {
        if self.key_id != key.key_id() {
            return Err(SigningError::KeyIdMismatch {
                signature: self.key_id,
                public_key: key.key_id(),
            });
        }
        let message = match self.algorithm {
            Algorithm::Prehashed => prehash(data)?.to_vec(),
            Algorithm::Legacy if allow_legacy => {
                let mut bytes = Vec::new();
                data.read_to_end(&mut bytes).map_err(SigningError::Read)?;
                bytes
            }
            Algorithm::Legacy => return Err(SigningError::LegacyRefused),
        };
        key.verifying_key()
            .verify_strict(&message, &self.signature)
            .map_err(|_| SigningError::FileMismatch)?;
        key.verifying_key()
            .verify_strict(
                &global_message(&self.signature, &self.trusted_comment),
                &self.global_signature,
            )
            .map_err(|_| SigningError::TrustedCommentMismatch)
    }
}

impl SignatureFile {
    /// Checks only the global signature: that `key` signed this signature together with its
    /// trusted comment. For an OCP the trusted comment names the package, version and sha256,
    /// so this proves what the key vouched for without the tarball at hand.
    pub fn verify_trusted_comment(&self, key: &PublicKey) -> Result<(), SigningError> {
        if self.key_id != key.key_id() {
            return Err(SigningError::KeyIdMismatch {
                signature: self.key_id,
                public_key: key.key_id(),
            });
        }
        key.verifying_key()
            .verify_strict(
                &global_message(&self.signature, &self.trusted_comment),
                &self.global_signature,
            )
            .map_err(|_| SigningError::TrustedCommentMismatch)
    }
}

/// BLAKE2b-512 of everything `data` yields.
pub fn prehash(mut data: impl Read) -> Result<[u8; 64], SigningError> {
    let mut hasher = blake2::Blake2b512::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match data.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(SigningError::Read(error)),
        };
        hasher.update(&buffer[..read]);
    }
    Ok(array(&hasher.finalize()))
}

fn global_message(signature: &Signature, trusted_comment: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(64 + trusted_comment.len());
    message.extend_from_slice(&signature.to_bytes());
    message.extend_from_slice(trusted_comment.as_bytes());
    message
}

fn check_comment(text: &str, what: &'static str, max: usize) -> Result<(), SigningError> {
    check_one_line(text, what)?;
    if text.len() > max {
        return Err(SigningError::CommentTooLong {
            what,
            length: text.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(data: &[u8]) -> (SecretKey, SignatureFile) {
        let key = SecretKey::generate().expect("a key");
        let signature =
            SignatureFile::sign(&key, data, "timestamp:1\tfile:x", "comment").expect("sign");
        (key, signature)
    }

    #[test]
    fn signature_round_trips_through_its_text_and_verifies() {
        let (key, signature) = signed(b"hello");
        let parsed = SignatureFile::parse(&signature.to_text()).expect("parse");
        assert_eq!(parsed, signature);
        assert_eq!(parsed.algorithm, Algorithm::Prehashed);
        parsed
            .verify(&key.public_key(), &b"hello"[..], false)
            .expect("verify");
    }

    #[test]
    fn legacy_signatures_verify_only_when_allowed() {
        let key = SecretKey::generate().expect("a key");
        let signature = key.signing_key().sign(b"hello");
        let global_signature = key.signing_key().sign(&global_message(&signature, "t"));
        let legacy = SignatureFile {
            untrusted_comment: "c".to_owned(),
            algorithm: Algorithm::Legacy,
            key_id: key.key_id(),
            signature,
            trusted_comment: "t".to_owned(),
            global_signature,
        };
        let parsed = SignatureFile::parse(&legacy.to_text()).expect("parse");
        assert_eq!(parsed.algorithm, Algorithm::Legacy);
        parsed
            .verify(&key.public_key(), &b"hello"[..], true)
            .expect("verify");
        assert!(matches!(
            parsed.verify(&key.public_key(), &b"hello"[..], false),
            Err(SigningError::LegacyRefused)
        ));
        assert!(matches!(
            parsed.verify(&key.public_key(), &b"hellp"[..], true),
            Err(SigningError::FileMismatch)
        ));
    }

    #[test]
    fn changed_data_is_a_file_mismatch() {
        let (key, signature) = signed(b"hello");
        assert!(matches!(
            signature.verify(&key.public_key(), &b"hellp"[..], false),
            Err(SigningError::FileMismatch)
        ));
    }

    #[test]
    fn changed_trusted_comment_is_caught() {
        let (key, signature) = signed(b"hello");
        let text = signature.to_text().replace("timestamp:1", "timestamp:2");
        let parsed = SignatureFile::parse(&text).expect("parse");
        assert!(matches!(
            parsed.verify(&key.public_key(), &b"hello"[..], false),
            Err(SigningError::TrustedCommentMismatch)
        ));
    }

    #[test]
    fn another_key_is_a_key_id_mismatch() {
        let (_, signature) = signed(b"hello");
        let other = SecretKey::generate().expect("a key").public_key();
        assert!(matches!(
            signature.verify(&other, &b"hello"[..], false),
            Err(SigningError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn line_breaks_in_comments_are_refused() {
        let key = SecretKey::generate().expect("a key");
        assert!(matches!(
            SignatureFile::sign(&key, &b""[..], "a\nb", "c"),
            Err(SigningError::CommentHasLineBreak { .. })
        ));
    }

    #[test]
    fn truncated_signature_names_the_missing_line() {
        let (_, signature) = signed(b"hello");
        let text = signature.to_text();
        let three_lines: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        let error = SignatureFile::parse(&three_lines).expect_err("truncated");
        assert!(error.to_string().contains("line 4"), "{error}");
    }
}
