//! minisign key files: public keys, secret keys (plain or encrypted with scrypt) and key
//! generation. Owns the byte layouts and the key derivation; does no file I/O, prompts for
//! nothing and never puts key material or passwords into errors or `Debug` output.
//!
//! A public key is `base64("Ed" ‖ keyid[8] ‖ pk[32])` after an untrusted comment line.
//! A secret key is `base64(sig_alg "Ed" ‖ kdf_alg ‖ chk_alg "B2" ‖ salt[32] ‖ opslimit[8 LE] ‖
//! memlimit[8 LE] ‖ keyid[8] ‖ sk[64] ‖ chk[32])`, where `kdf_alg` is `Sc` (the last 104
//! bytes are XORed with libsodium's `crypto_pwhash_scryptsalsa208sha256` of the password) or
//! two zero bytes (not encrypted), and `chk` is BLAKE2b-256 of `sig_alg ‖ keyid ‖ sk`.

use std::fmt;

use blake2::Digest as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

use super::{SigningError, base64_encode, decode_line, random_bytes};
use crate::model::KeyId;

const SIGNATURE_ALGORITHM: &[u8; 2] = b"Ed";
const KDF_SCRYPT: &[u8; 2] = b"Sc";
const KDF_NONE: &[u8; 2] = &[0, 0];
const CHECKSUM_BLAKE2: &[u8; 2] = b"B2";

const PUBLIC_KEY_LENGTH: usize = 2 + 8 + 32;
const SECRET_KEY_LENGTH: usize = 2 + 2 + 2 + 32 + 8 + 8 + KEYNUM_SK_LENGTH;
/// `keyid[8] ‖ sk[64] ‖ chk[32]`: the part that the password encrypts.
const KEYNUM_SK_LENGTH: usize = 8 + 64 + 32;
const KEYNUM_SK_OFFSET: usize = SECRET_KEY_LENGTH - KEYNUM_SK_LENGTH;

const COMMENT_PREFIX: &str = "untrusted comment:";

/// The most memory a secret key's key derivation may ask for: twice what `minisign -G` uses,
/// so a key file cannot make ocp allocate until the machine gives up.
const MAX_KDF_MEMORY: u64 = 2 << 30;
/// The most memory all of a key derivation's passes may walk through together: eight times
/// what `minisign -G` uses (one pass over 1 GiB), so a key file cannot keep ocp busy for hours.
const MAX_KDF_TOTAL: u64 = 8 << 30;

/// A public key: the key id and the Ed25519 verifying key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    key: VerifyingKey,
}

impl PublicKey {
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Parses a public key file's text, or the bare base64 line (what `minisign -P` takes).
    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let malformed = |reason: &str| SigningError::MalformedPublicKey {
            reason: reason.to_owned(),
        };
        let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
        let first = lines.next().ok_or_else(|| malformed("the text is empty"))?;
        let encoded = if first.starts_with(COMMENT_PREFIX) {
            lines
                .next()
                .ok_or_else(|| malformed("the key line after the comment is missing"))?
        } else {
            first
        };
        let bytes = decode_line(encoded, PUBLIC_KEY_LENGTH)
            .map_err(|reason| malformed(&format!("the key line {reason}")))?;
        check_algorithm(&bytes[0..2])?;
        let key_id = KeyId::from_bytes(array(&bytes[2..10]));
        let key = VerifyingKey::from_bytes(&array(&bytes[10..42]))
            .map_err(|_| malformed("the key bytes are not an Ed25519 public key"))?;
        Ok(PublicKey { key_id, key })
    }

    /// The base64 line (`RW...`) that `minisign -P` accepts.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::with_capacity(PUBLIC_KEY_LENGTH);
        bytes.extend_from_slice(SIGNATURE_ALGORITHM);
        bytes.extend_from_slice(&self.key_id.to_bytes());
        bytes.extend_from_slice(self.key.as_bytes());
        base64_encode(&bytes)
    }

    /// The text of a public key file, with the comment minisign writes.
    pub fn to_file_text(&self) -> String {
        format!(
            "{COMMENT_PREFIX} minisign public key {}\n{}\n",
            self.key_id,
            self.to_base64()
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id)
    }
}

/// libsodium's scrypt limits as stored in an encrypted secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    pub opslimit: u64,
    pub memlimit: u64,
}

impl KdfLimits {
    /// What `minisign -G` uses (libsodium's "sensitive" limits): about 1 GiB of memory.
    pub const MINISIGN: KdfLimits = KdfLimits {
        opslimit: 33_554_432,
        memlimit: 1_073_741_824,
    };

    /// libsodium's "interactive" limits: 16 MiB. minisign reads such keys; ocp's tests use
    /// them to keep key generation fast.
    pub const INTERACTIVE: KdfLimits = KdfLimits {
        opslimit: 524_288,
        memlimit: 16_777_216,
    };

    /// scrypt's (log2 N, r, p) exactly as libsodium's `pickparams` chooses them, so a key
    /// encrypted by minisign decrypts here and the other way round.
    pub fn scrypt_parameters(self) -> (u8, u32, u32) {
        let opslimit = self.opslimit.max(32_768);
        let r: u32 = 8;
        let first_log_n_above = |max_n: u64| {
            let mut log_n: u8 = 1;
            while log_n < 63 && (1u64 << log_n) <= max_n / 2 {
                log_n += 1;
            }
            log_n
        };
        if opslimit < self.memlimit / 32 {
            let max_n = opslimit / (u64::from(r) * 4);
            (first_log_n_above(max_n), r, 1)
        } else {
            let max_n = self.memlimit / (u64::from(r) * 128);
            let log_n = first_log_n_above(max_n);
            let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
            // `max_rp` is at most 0x3fffffff, so it fits in a u32.
            let p = u32::try_from(max_rp).unwrap_or(0x3fff_ffff) / r;
            (log_n, r, p)
        }
    }

    /// The key stream that encrypts `keyid ‖ sk ‖ chk`.
    fn key_stream(
        self,
        password: &[u8],
        salt: &[u8; 32],
    ) -> Result<Zeroizing<[u8; KEYNUM_SK_LENGTH]>, SigningError> {
        let (log_n, r, p) = self.scrypt_parameters();
        let memory = (1u64 << log_n)
            .saturating_mul(u64::from(r))
            .saturating_mul(128);
        if memory > MAX_KDF_MEMORY || memory.saturating_mul(u64::from(p)) > MAX_KDF_TOTAL {
            return Err(SigningError::KdfTooExpensive {
                memory_mib: memory >> 20,
                passes: p,
                max_memory_mib: MAX_KDF_MEMORY >> 20,
                max_total_mib: MAX_KDF_TOTAL >> 20,
            });
        }
        let corrupted = || SigningError::CorruptedSecretKey {
            reason: format!(
                "its key derivation parameters (opslimit {}, memlimit {}) are not usable",
                self.opslimit, self.memlimit
            ),
        };
        let parameters = scrypt::Params::new(log_n, r, p).map_err(|_| corrupted())?;
        let mut stream = Zeroizing::new([0u8; KEYNUM_SK_LENGTH]);
        scrypt::scrypt(password, salt, &parameters, stream.as_mut_slice())
            .map_err(|_| corrupted())?;
        Ok(stream)
    }
}

/// A secret key file as read from disk or from `OCP_SIGNING_KEY`, before any password.
pub struct SecretKeyFile {
    bytes: Zeroizing<[u8; SECRET_KEY_LENGTH]>,
}

impl SecretKeyFile {
    /// Parses the text of a secret key file: an untrusted comment line, then the base64 line.
    /// The bare base64 line alone is accepted too.
    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let malformed = |reason: &str| SigningError::MalformedSecretKey {
            reason: reason.to_owned(),
        };
        let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
        let first = lines.next().ok_or_else(|| malformed("the text is empty"))?;
        let encoded = if first.starts_with(COMMENT_PREFIX) {
            lines
                .next()
                .ok_or_else(|| malformed("the key line after the comment is missing"))?
        } else {
            first
        };
        let decoded = Zeroizing::new(
            decode_line(encoded, SECRET_KEY_LENGTH)
                .map_err(|reason| malformed(&format!("the key line {reason}")))?,
        );
        check_algorithm(&decoded[0..2])?;
        let kdf = &decoded[2..4];
        if kdf != KDF_SCRYPT && kdf != KDF_NONE {
            return Err(SigningError::Unsupported {
                what: "key derivation function",
                found: printable(kdf),
                supported: "`Sc` (scrypt) and none",
            });
        }
        if &decoded[4..6] != CHECKSUM_BLAKE2 {
            return Err(SigningError::Unsupported {
                what: "secret key checksum",
                found: printable(&decoded[4..6]),
                supported: "`B2` (BLAKE2b)",
            });
        }
        let mut bytes = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
        bytes.copy_from_slice(&decoded);
        Ok(SecretKeyFile { bytes })
    }

    /// True when a password is needed to open the key.
    pub fn is_encrypted(&self) -> bool {
        &self.bytes[2..4] == KDF_SCRYPT
    }

    /// The key derivation limits stored in the file (zero when not encrypted).
    pub fn kdf_limits(&self) -> KdfLimits {
        KdfLimits {
            opslimit: u64::from_le_bytes(array(&self.bytes[38..46])),
            memlimit: u64::from_le_bytes(array(&self.bytes[46..54])),
        }
    }

    /// Decrypts the key with `password` when it is encrypted, and checks that it is whole.
    pub fn open(&self, password: Option<&str>) -> Result<SecretKey, SigningError> {
        let mut keynum_sk = Zeroizing::new([0u8; KEYNUM_SK_LENGTH]);
        keynum_sk.copy_from_slice(&self.bytes[KEYNUM_SK_OFFSET..]);
        let encrypted = self.is_encrypted();
        if encrypted {
            let password = password.ok_or(SigningError::PasswordRequired)?;
            let salt: [u8; 32] = array(&self.bytes[6..38]);
            let stream = self.kdf_limits().key_stream(password.as_bytes(), &salt)?;
            for (byte, mask) in keynum_sk.iter_mut().zip(stream.iter()) {
                *byte ^= mask;
            }
        }
        let key_id = KeyId::from_bytes(array(&keynum_sk[0..8]));
        let mut keypair = Zeroizing::new([0u8; 64]);
        keypair.copy_from_slice(&keynum_sk[8..72]);
        let stored_checksum = &keynum_sk[72..104];
        let checksum = key_checksum(&key_id, &keypair);
        // minisign leaves the checksum of a key it never encrypted at zero, so a zero
        // checksum is only accepted on a key that is not encrypted.
        let unchecked = !encrypted && stored_checksum.iter().all(|&byte| byte == 0);
        if !unchecked && checksum.as_slice() != stored_checksum {
            return Err(if encrypted {
                SigningError::WrongPassword
            } else {
                SigningError::CorruptedSecretKey {
                    reason: "its checksum does not match the key".to_owned(),
                }
            });
        }
        let key = SigningKey::from_keypair_bytes(&keypair).map_err(|_| {
            SigningError::CorruptedSecretKey {
                reason: "its public half does not match its secret half".to_owned(),
            }
        })?;
        Ok(SecretKey { key_id, key })
    }
}

impl fmt::Debug for SecretKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeyFile")
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

/// An opened secret key. The Ed25519 key wipes itself when dropped.
pub struct SecretKey {
    key_id: KeyId,
    key: SigningKey,
}

impl SecretKey {
    /// A new key pair with a random key id, from the operating system's random source.
    pub fn generate() -> Result<Self, SigningError> {
        let key_id = KeyId::from_bytes(random_bytes::<8>()?);
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|error| SigningError::Random(error.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        Ok(SecretKey { key_id, key })
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The text of a secret key file: encrypted with `password` under `limits`, or not
    /// encrypted when `password` is `None`. `comment` becomes the untrusted comment line.
    pub fn to_file_text(
        &self,
        password: Option<&str>,
        limits: KdfLimits,
        comment: &str,
    ) -> Result<Zeroizing<String>, SigningError> {
        check_one_line(comment, "key comment")?;
        let mut bytes = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
        bytes[0..2].copy_from_slice(SIGNATURE_ALGORITHM);
        bytes[4..6].copy_from_slice(CHECKSUM_BLAKE2);
        let keypair = Zeroizing::new(self.key.to_keypair_bytes());
        let checksum = key_checksum(&self.key_id, &keypair);
        let mut keynum_sk = Zeroizing::new([0u8; KEYNUM_SK_LENGTH]);
        keynum_sk[0..8].copy_from_slice(&self.key_id.to_bytes());
        keynum_sk[8..72].copy_from_slice(keypair.as_slice());
        keynum_sk[72..104].copy_from_slice(checksum.as_slice());
        match password {
            Some(password) => {
                bytes[2..4].copy_from_slice(KDF_SCRYPT);
                let salt = random_bytes::<32>()?;
                bytes[6..38].copy_from_slice(&salt);
                bytes[38..46].copy_from_slice(&limits.opslimit.to_le_bytes());
                bytes[46..54].copy_from_slice(&limits.memlimit.to_le_bytes());
                let stream = limits.key_stream(password.as_bytes(), &salt)?;
                for (byte, mask) in keynum_sk.iter_mut().zip(stream.iter()) {
                    *byte ^= mask;
                }
            }
            None => bytes[2..4].copy_from_slice(KDF_NONE),
        }
        bytes[KEYNUM_SK_OFFSET..].copy_from_slice(keynum_sk.as_slice());
        let mut encoded = base64_encode(bytes.as_slice());
        let text = Zeroizing::new(format!("{COMMENT_PREFIX} {comment}\n{encoded}\n"));
        encoded.zeroize();
        Ok(text)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.key_id)
    }
}

/// BLAKE2b-256 of `sig_alg ‖ keyid ‖ sk`, as minisign computes it.
fn key_checksum(key_id: &KeyId, keypair: &[u8; 64]) -> Zeroizing<[u8; 32]> {
    let mut hasher = blake2::Blake2b256::new();
    hasher.update(SIGNATURE_ALGORITHM);
    hasher.update(key_id.to_bytes());
    hasher.update(keypair);
    let mut checksum = Zeroizing::new([0u8; 32]);
    checksum.copy_from_slice(&hasher.finalize());
    checksum
}

fn check_algorithm(found: &[u8]) -> Result<(), SigningError> {
    if found == SIGNATURE_ALGORITHM {
        Ok(())
    } else {
        Err(SigningError::Unsupported {
            what: "key algorithm",
            found: printable(found),
            supported: "`Ed` (Ed25519)",
        })
    }
}

pub(super) fn check_one_line(text: &str, what: &'static str) -> Result<(), SigningError> {
    if text.contains(['\n', '\r']) {
        Err(SigningError::CommentHasLineBreak { what })
    } else {
        Ok(())
    }
}

/// Algorithm tags as text for messages: printable ASCII as is, anything else in hex.
pub(super) fn printable(bytes: &[u8]) -> String {
    if bytes.iter().all(|byte| byte.is_ascii_graphic()) {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!("0x{}", hex::encode(bytes))
    }
}

/// A fixed-size copy of a slice whose length the caller has checked.
pub(super) fn array<const N: usize>(slice: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let length = slice.len().min(N);
    out[..length].copy_from_slice(&slice[..length]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfLimits {
        KdfLimits::INTERACTIVE
    }

    #[test]
    fn scrypt_parameters_match_libsodium_pickparams() {
        // minisign's defaults: N = 2^20, r = 8, p = 1 (1 GiB).
        assert_eq!(KdfLimits::MINISIGN.scrypt_parameters(), (20, 8, 1));
        // libsodium's interactive limits: N = 2^14, r = 8, p = 1 (16 MiB).
        assert_eq!(KdfLimits::INTERACTIVE.scrypt_parameters(), (14, 8, 1));
        // The first branch (plenty of memory): N from opslimit alone.
        let limits = KdfLimits {
            opslimit: 32_768,
            memlimit: 16_777_216,
        };
        assert_eq!(limits.scrypt_parameters(), (10, 8, 1));
        // opslimit below the floor is raised to 32768.
        let floor = KdfLimits {
            opslimit: 1,
            memlimit: 16_777_216,
        };
        assert_eq!(floor.scrypt_parameters(), (10, 8, 1));
    }

    #[test]
    fn encrypted_key_round_trips_with_its_password() {
        let key = SecretKey::generate().expect("a key");
        let text = key
            .to_file_text(Some("correct horse"), fast(), "test key")
            .expect("encrypt");
        let file = SecretKeyFile::parse(&text).expect("parse");
        assert!(file.is_encrypted());
        assert_eq!(file.kdf_limits(), fast());
        let opened = file.open(Some("correct horse")).expect("open");
        assert_eq!(opened.key_id(), key.key_id());
        assert_eq!(opened.public_key(), key.public_key());
    }

    #[test]
    fn wrong_password_is_reported_as_such() {
        let key = SecretKey::generate().expect("a key");
        let text = key
            .to_file_text(Some("right"), fast(), "c")
            .expect("encrypt");
        let file = SecretKeyFile::parse(&text).expect("parse");
        assert!(matches!(
            file.open(Some("wrong")),
            Err(SigningError::WrongPassword)
        ));
        assert!(matches!(
            file.open(None),
            Err(SigningError::PasswordRequired)
        ));
    }

    #[test]
    fn unencrypted_key_round_trips_and_needs_no_password() {
        let key = SecretKey::generate().expect("a key");
        let text = key.to_file_text(None, fast(), "c").expect("encode");
        let file = SecretKeyFile::parse(&text).expect("parse");
        assert!(!file.is_encrypted());
        let opened = file.open(None).expect("open");
        assert_eq!(opened.public_key(), key.public_key());
    }

    #[test]
    fn a_flipped_bit_in_an_unencrypted_key_is_caught() {
        let key = SecretKey::generate().expect("a key");
        let text = key.to_file_text(None, fast(), "c").expect("encode");
        let line = text.lines().nth(1).expect("key line");
        let mut bytes = crate::signing::base64_decode(line).expect("base64");
        bytes[100] ^= 1;
        let file = SecretKeyFile::parse(&base64_encode(&bytes)).expect("parse");
        assert!(matches!(
            file.open(None),
            Err(SigningError::CorruptedSecretKey { .. })
        ));
    }

    #[test]
    fn truncated_key_is_malformed() {
        let key = SecretKey::generate().expect("a key");
        let text = key.to_file_text(None, fast(), "c").expect("encode");
        let truncated = &text[..text.len() - 20];
        assert!(matches!(
            SecretKeyFile::parse(truncated),
            Err(SigningError::MalformedSecretKey { .. })
        ));
    }

    #[test]
    fn kdf_limits_that_ask_too_much_are_refused_before_allocating() {
        let greedy = KdfLimits {
            opslimit: u64::MAX,
            memlimit: u64::MAX,
        };
        assert!(matches!(
            greedy.key_stream(b"x", &[0; 32]),
            Err(SigningError::KdfTooExpensive { .. })
        ));
    }

    #[test]
    fn public_key_round_trips_through_its_file_text() {
        let key = SecretKey::generate().expect("a key").public_key();
        let text = key.to_file_text();
        assert!(text.starts_with(&format!(
            "untrusted comment: minisign public key {}\nRW",
            key.key_id()
        )));
        assert_eq!(PublicKey::parse(&text).expect("parse"), key);
        assert_eq!(PublicKey::parse(&key.to_base64()).expect("parse"), key);
    }

    #[test]
    fn debug_output_holds_no_key_material() {
        let key = SecretKey::generate().expect("a key");
        let debug = format!("{key:?}");
        assert_eq!(debug, format!("SecretKey({})", key.key_id()));
    }
}
