//! Signing key ids: the 8 random bytes minisign stores beside every key and signature.
//! Shown, like `minisign` shows them, as 16 uppercase hex digits of the little-endian u64,
//! so a user can compare what ocp prints with what minisign prints.

use std::fmt;
use std::str::FromStr;

/// Why a key id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a key id; a key id is 16 hexadecimal digits, for example `1A2B3C4D5E6F7A8B`"
)]
pub struct KeyIdError {
    pub value: String,
}

/// The id of a signing key, as the 8 bytes stored in minisign key and signature files.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// The id from the bytes stored in a key or signature file.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        KeyId(bytes)
    }

    /// The bytes as stored in key and signature files.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = KeyIdError;

    /// Parses 16 hex digits in either case, as `minisign` prints them.
    fn from_str(value: &str) -> Result<Self, KeyIdError> {
        let error = || KeyIdError {
            value: value.to_owned(),
        };
        let trimmed = value.trim();
        if trimmed.len() != 16 || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(error());
        }
        let number = u64::from_str_radix(trimmed, 16).map_err(|_| error())?;
        Ok(KeyId(number.to_le_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_the_little_endian_number_in_uppercase_hex() {
        let id = KeyId::from_bytes([0x8b, 0x7a, 0x6f, 0x5e, 0x4d, 0x3c, 0x2b, 0x1a]);
        assert_eq!(id.to_string(), "1A2B3C4D5E6F7A8B");
    }

    #[test]
    fn parses_what_it_displays_in_either_case() {
        let id: KeyId = "1a2b3c4d5e6f7a8b".parse().expect("a key id");
        assert_eq!(id.to_string(), "1A2B3C4D5E6F7A8B");
        assert_eq!(id.to_bytes()[0], 0x8b);
    }

    #[test]
    fn keeps_leading_zeros() {
        let id = KeyId::from_bytes([1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(id.to_string(), "0000000000000001");
        assert_eq!("0000000000000001".parse::<KeyId>(), Ok(id));
    }

    #[test]
    fn refuses_wrong_lengths_and_letters() {
        for bad in [
            "",
            "1A2B",
            "1A2B3C4D5E6F7A8B0",
            "1A2B3C4D5E6F7A8G",
            "+A2B3C4D5E6F7A8B",
        ] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad} parsed");
        }
    }
}
