//! SHA-256 checksums, always held and printed as 64 lowercase hex digits.

use std::fmt;
use std::io::Read;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checksum([u8; 32]);

impl Checksum {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Checksum(Sha256::digest(bytes).into())
    }

    pub fn of_reader(mut reader: impl Read) -> std::io::Result<Self> {
        let mut hasher = Sha256::new();
        let mut buffer = [0u8; 64 * 1024];
        loop {
            let read = reader.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(Checksum(hasher.finalize().into()))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<[u8; 32]> for Checksum {
    /// The checksum whose digest is these bytes (from a hasher that ran elsewhere).
    fn from(digest: [u8; 32]) -> Self {
        Checksum(digest)
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Why a sha256 was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a sha256; a sha256 is 64 hexadecimal digits")]
pub struct ChecksumError {
    pub value: String,
}

impl std::str::FromStr for Checksum {
    type Err = ChecksumError;

    /// Parses 64 hex digits in either case; held and printed in lowercase.
    fn from_str(value: &str) -> Result<Self, ChecksumError> {
        let mut bytes = [0u8; 32];
        match hex::decode_to_slice(value, &mut bytes) {
            Ok(()) => Ok(Checksum(bytes)),
            Err(_) => Err(ChecksumError {
                value: value.to_owned(),
            }),
        }
    }
}
