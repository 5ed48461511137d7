//! Trusted keys: names mapped to the public keys a user or a project trusts to sign OCPs.
//!
//! The same TOML format serves the user's `OCP_HOME/trusted-keys.toml` and a project's
//! `ocp-trusted-keys.toml` (merged over the user's, so a project can pin its own signers):
//!
//! ```toml
//! format_version = 1
//!
//! [signers.keboola]
//! key_id = "1A2B3C4D5E6F7A8B"
//! public_key = "RWQ..."
//! ```
//!
//! A name is what Osiris's `trusted_signers: [keboola, ...]` lists. `key_id` may be left out
//! (it is part of the public key); when present it must agree. Edits go through `toml_edit`,
//! so comments a user wrote survive `ocp key trust`. This module parses and renders text;
//! the ops layer reads and writes the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, value};

use super::PublicKey;
use crate::model::KeyId;

/// The trusted keys format this ocp reads and writes.
pub const FORMAT_VERSION: i64 = 1;

/// Why a trusted keys file or a signer name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedKeysError {
    #[error("not valid TOML: {0}")]
    Toml(String),
    #[error(
        "`format_version = {0}` is newer than this ocp understands (it reads version {FORMAT_VERSION})"
    )]
    FormatVersion(i64),
    #[error("`signers` must be a table of names, like `[signers.keboola]`")]
    SignersNotATable,
    #[error("signer `{name}`: {reason}")]
    Signer { name: String, reason: String },
    #[error(
        "signer `{name}`: `key_id = \"{written}\"` does not match its public key, whose key id is {actual}"
    )]
    KeyIdMismatch {
        name: String,
        written: String,
        actual: KeyId,
    },
    #[error(
        "`{name}` is not a valid signer name; use 1 to 64 lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit"
    )]
    BadName { name: String },
}

/// One trusted signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedSigner {
    pub name: String,
    pub public_key: PublicKey,
    /// The file that listed it.
    pub source: PathBuf,
}

/// Trusted signers by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    signers: BTreeMap<String, TrustedSigner>,
}

impl TrustedKeys {
    /// Parses a trusted keys file's text; `source` is remembered for each signer.
    pub fn parse(text: &str, source: &Path) -> Result<Self, TrustedKeysError> {
        let document: DocumentMut = text
            .parse()
            .map_err(|error: toml_edit::TomlError| TrustedKeysError::Toml(error.to_string()))?;
        if let Some(item) = document.get("format_version") {
            let version = item
                .as_integer()
                .ok_or(TrustedKeysError::FormatVersion(-1))?;
            if version > FORMAT_VERSION || version < 1 {
                return Err(TrustedKeysError::FormatVersion(version));
            }
        }
        let mut signers = BTreeMap::new();
        let Some(table) = document.get("signers") else {
            return Ok(TrustedKeys { signers });
        };
        let table = table
            .as_table_like()
            .ok_or(TrustedKeysError::SignersNotATable)?;
        for (name, item) in table.iter() {
            check_name(name)?;
            let signer_error = |reason: &str| TrustedKeysError::Signer {
                name: name.to_owned(),
                reason: reason.to_owned(),
            };
            let entry = item
                .as_table_like()
                .ok_or_else(|| signer_error("must be a table with `public_key`"))?;
            let text = entry
                .get("public_key")
                .and_then(Item::as_str)
                .ok_or_else(|| signer_error("has no `public_key` string"))?;
            let public_key = PublicKey::parse(text).map_err(|error| TrustedKeysError::Signer {
                name: name.to_owned(),
                reason: error.to_string(),
            })?;
            if let Some(written) = entry.get("key_id") {
                let written = written
                    .as_str()
                    .ok_or_else(|| signer_error("`key_id` must be a string"))?;
                if written.parse::<KeyId>().ok() != Some(public_key.key_id()) {
                    return Err(TrustedKeysError::KeyIdMismatch {
                        name: name.to_owned(),
                        written: written.to_owned(),
                        actual: public_key.key_id(),
                    });
                }
            }
            signers.insert(
                name.to_owned(),
                TrustedSigner {
                    name: name.to_owned(),
                    public_key,
                    source: source.to_owned(),
                },
            );
        }
        Ok(TrustedKeys { signers })
    }

    /// `self` with every signer of `over` added, replacing those of the same name.
    pub fn merged_with(mut self, over: TrustedKeys) -> TrustedKeys {
        self.signers.extend(over.signers);
        self
    }

    pub fn by_name(&self, name: &str) -> Option<&TrustedSigner> {
        self.signers.get(name)
    }

    /// The signers with this key id, in name order (one key may be trusted under two names).
    pub fn by_key_id(&self, key_id: KeyId) -> Vec<&TrustedSigner> {
        self.signers
            .values()
            .filter(|signer| signer.public_key.key_id() == key_id)
            .collect()
    }

    /// All signers in name order.
    pub fn iter(&self) -> impl Iterator<Item = &TrustedSigner> {
        self.signers.values()
    }

    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }
}

/// Checks a signer name: 1 to 64 of `a-z 0-9 - _ .`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), TrustedKeysError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
    if valid {
        Ok(())
    } else {
        Err(TrustedKeysError::BadName {
            name: name.to_owned(),
        })
    }
}

/// `text` (an existing trusted keys file, or empty) with `name` set to `key`. Everything
/// else in the file, comments included, is kept.
pub fn with_signer(text: &str, name: &str, key: &PublicKey) -> Result<String, TrustedKeysError> {
    check_name(name)?;
    let mut document: DocumentMut = text
        .parse()
        .map_err(|error: toml_edit::TomlError| TrustedKeysError::Toml(error.to_string()))?;
    if !document.contains_key("format_version") {
        document.insert("format_version", value(FORMAT_VERSION));
    }
    let signers = document
        .entry("signers")
        .or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_mut()
        .ok_or(TrustedKeysError::SignersNotATable)?;
    let mut entry = Table::new();
    entry.insert("key_id", value(key.key_id().to_string()));
    entry.insert("public_key", value(key.to_base64()));
    signers.insert(name, Item::Table(entry));
    Ok(document.to_string())
}

/// `text` without the signer `name`; `None` when the file does not list it.
pub fn without_signer(text: &str, name: &str) -> Result<Option<String>, TrustedKeysError> {
    let mut document: DocumentMut = text
        .parse()
        .map_err(|error: toml_edit::TomlError| TrustedKeysError::Toml(error.to_string()))?;
    let Some(signers) = document.get_mut("signers") else {
        return Ok(None);
    };
    let signers = signers
        .as_table_like_mut()
        .ok_or(TrustedKeysError::SignersNotATable)?;
    Ok(signers.remove(name).map(|_| document.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::SecretKey;

    fn key() -> PublicKey {
        SecretKey::generate().expect("a key").public_key()
    }

    #[test]
    fn a_written_signer_reads_back() {
        let key = key();
        let text = with_signer("", "keboola", &key).expect("write");
        assert!(text.starts_with("format_version = 1\n"), "{text}");
        assert!(text.contains("[signers.keboola]"), "{text}");
        let trusted = TrustedKeys::parse(&text, Path::new("t.toml")).expect("parse");
        let signer = trusted.by_name("keboola").expect("listed");
        assert_eq!(signer.public_key, key);
        assert_eq!(trusted.by_key_id(key.key_id()).len(), 1);
    }

    #[test]
    fn user_comments_survive_an_edit() {
        let text = "# signers approved by security\nformat_version = 1\n";
        let edited = with_signer(text, "acme", &key()).expect("write");
        assert!(
            edited.starts_with("# signers approved by security\n"),
            "{edited}"
        );
    }

    #[test]
    fn a_key_id_that_disagrees_with_the_key_is_refused() {
        let text = format!(
            "[signers.acme]\nkey_id = \"0000000000000001\"\npublic_key = \"{}\"\n",
            key().to_base64()
        );
        assert!(matches!(
            TrustedKeys::parse(&text, Path::new("t.toml")),
            Err(TrustedKeysError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn project_signers_replace_user_signers_of_the_same_name() {
        let (user_key, project_key) = (key(), key());
        let user = TrustedKeys::parse(
            &with_signer("", "acme", &user_key).expect("write"),
            Path::new("user.toml"),
        )
        .expect("parse");
        let project = TrustedKeys::parse(
            &with_signer("", "acme", &project_key).expect("write"),
            Path::new("project.toml"),
        )
        .expect("parse");
        let merged = user.merged_with(project);
        let signer = merged.by_name("acme").expect("listed");
        assert_eq!(signer.public_key, project_key);
        assert_eq!(signer.source, Path::new("project.toml"));
    }

    #[test]
    fn names_are_checked() {
        for good in ["keboola", "your-account", "a.b_c", "0day"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Keboola", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_newer_format_is_refused() {
        assert!(matches!(
            TrustedKeys::parse("format_version = 2\n", Path::new("t.toml")),
            Err(TrustedKeysError::FormatVersion(2))
        ));
    }

    #[test]
    fn removing_a_signer_keeps_the_others() {
        let text = with_signer("", "a", &key()).expect("write");
        let text = with_signer(&text, "b", &key()).expect("write");
        let removed = without_signer(&text, "a").expect("edit").expect("listed");
        let trusted = TrustedKeys::parse(&removed, Path::new("t.toml")).expect("parse");
        assert!(trusted.by_name("a").is_none());
        assert!(trusted.by_name("b").is_some());
        assert_eq!(without_signer(&removed, "a").expect("edit"), None);
    }
}
