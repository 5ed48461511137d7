//! Moving a format 1 index to format 2.
//!
//! Format 1 signatures cover a version's name, version and sha256 only; format 2 signatures
//! also cover every field resolution and installation act on ([`crate::signing::canonical`]).
//! Nobody can add that coverage but an owner, and an owner must not sign what an attacker may
//! have edited in the unsigned fields. So an owner re-signs each version of the packages its
//! key owns, and only after checking it: the tarball is fetched, its sha256 must be the
//! entry's, the old signature (by a key that has owned the package) must cover it, and the
//! entry's fields must be exactly what the tarball's own `ocp.json` declares. Then the tarball
//! is signed again with the new trusted comment. When every entry of the index is signed that
//! way, `config.json` moves to format 2 (and loses `token_env`, which format 2 does not have).
//!
//! This module changes files in a checkout; committing, pushing and reporting are the
//! caller's.

use std::path::Path;

use super::format::{self, IndexEntry};
use super::owners::{self, Owners};
use super::trust::{self, TrustError};
use super::{Index, IndexError, storage};
use crate::model::Checksum;
use crate::signing::package::read_manifest;
use crate::signing::{PackageClaim, SecretKey, SignatureFile, SignedFields};

/// What a migration did, and what is left for other owners.
#[derive(Debug, Default)]
pub struct Migration {
    /// `name version` of every version re-signed now.
    pub resigned: Vec<String>,
    /// Versions already signed the format 2 way.
    pub already: usize,
    /// Packages with versions to re-sign that this key does not own: name and owners.
    pub waiting: Vec<(String, Vec<String>)>,
    /// `name version: reason` of versions that cannot be re-signed as they are.
    pub refused: Vec<String>,
    /// Files changed, relative to the index root.
    pub changed: Vec<String>,
    /// Whether `config.json` now says format 2.
    pub finished: bool,
}

/// Re-signs, with `key`, every format 1 version of the packages `key` owns in the checkout
/// at `root`, and moves `config.json` to format 2 when nothing is left.
pub fn migrate(root: &Path, key: &SecretKey, now: u64) -> Result<Migration, IndexError> {
    let index = Index::open_for_migration(root)?;
    let mut migration = Migration::default();
    let key_id = key.key_id().to_string();
    for name in index.package_names()? {
        let mut entries = index.entries(&name)?;
        let owners = match owners::replay(&name, &index.events(&name)?) {
            Ok(owners) => owners,
            Err(error) => {
                migration.refused.push(format!("{name}: {error}"));
                continue;
            }
        };
        let mut changed = false;
        for entry in &mut entries {
            let label = format!("{} {}", entry.name, entry.version);
            match trust::check_entry(entry, &owners) {
                Ok(_) => {
                    migration.already += 1;
                    continue;
                }
                Err(TrustError::Unbound) => {}
                Err(error) => {
                    migration.refused.push(format!("{label}: {error}"));
                    continue;
                }
            }
            if !owners.is_owner(&key_id) {
                if !migration
                    .waiting
                    .iter()
                    .any(|(waiting, _)| *waiting == name)
                {
                    migration
                        .waiting
                        .push((name.clone(), owners.current.keys().cloned().collect()));
                }
                continue;
            }
            match resign(&index, entry, &owners, key, now) {
                Ok(()) => {
                    migration.resigned.push(label);
                    changed = true;
                }
                Err(reason) => migration.refused.push(format!("{label}: {reason}")),
            }
        }
        if changed {
            let relative = Index::package_file(&super::parse_package(&name)?);
            write(root, &relative, &format::format_entries(&entries))?;
            migration.changed.push(relative);
        }
    }
    if migration.waiting.is_empty() && migration.refused.is_empty() {
        let mut config = index.config().clone();
        config.format_version = format::FORMAT_VERSION;
        let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
        text.push('\n');
        let current = super::read_in_checkout(root, "config.json", format::MAX_SMALL_FILE_BYTES)?;
        if current.as_deref() != Some(text.as_str()) {
            write(root, "config.json", &text)?;
            migration.changed.push("config.json".to_owned());
        }
        migration.finished = true;
    }
    Ok(migration)
}

/// Checks one format 1 entry against its tarball and signs the tarball again, the format 2
/// way, replacing the entry's signature and key id.
fn resign(
    index: &Index,
    entry: &mut IndexEntry,
    owners: &Owners,
    key: &SecretKey,
    now: u64,
) -> Result<(), String> {
    let location = index.entry_location(entry);
    let bytes = storage::fetch(&location, index.root())
        .map_err(|error| format!("its tarball cannot be fetched: {error}"))?;
    let sha256 = Checksum::of_bytes(&bytes);
    if sha256.to_hex() != entry.sha256 {
        return Err(format!(
            "the tarball at `{location}` has sha256 {sha256}, but the entry says {}",
            entry.sha256
        ));
    }
    let old = SignatureFile::parse(&entry.signature).map_err(|error| error.to_string())?;
    let signer = owners
        .ever
        .get(&entry.key_id)
        .filter(|signer| signer.key_id() == old.key_id)
        .ok_or_else(|| {
            format!(
                "it is signed by key {}, which has never owned `{}`",
                entry.key_id, entry.name
            )
        })?;
    old.verify(signer, bytes.as_slice(), false)
        .map_err(|error| format!("its signature does not hold: {error}"))?;
    let manifest = read_manifest(bytes.as_slice())
        .map_err(|error| error.to_string())?
        .ok_or_else(|| "its tarball is not an OCP (it has no `ocp.json`)".to_owned())?;
    let claim = PackageClaim::parse(&old.trusted_comment)
        .map_err(|error| error.to_string())?
        .ok_or_else(|| "its signature names no package".to_owned())?;
    claim
        .check(Some(&manifest), &sha256)
        .map_err(|error| error.to_string())?;
    let hex = sha256.to_hex();
    let declared = SignedFields::of_manifest(&manifest, &hex);
    let listed = entry.signed_fields();
    if declared != listed {
        return Err(format!(
            "the entry's {} differ from what the tarball's `ocp.json` declares, so it was edited after publishing",
            differing(&declared, &listed).join(", ")
        ));
    }
    let claim = PackageClaim::for_tarball(&manifest, &sha256, now).map_err(|e| e.to_string())?;
    let signature = SignatureFile::sign(
        key,
        bytes.as_slice(),
        &claim.to_trusted_comment(),
        &format!("signature from ocp secret key {}", key.key_id()),
    )
    .map_err(|error| error.to_string())?;
    entry.signature = signature.to_text();
    entry.key_id = key.key_id().to_string();
    Ok(())
}

/// The names of the fields that differ.
fn differing(left: &SignedFields<'_>, right: &SignedFields<'_>) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut compare = |name: &'static str, same: bool| {
        if !same {
            names.push(name);
        }
    };
    compare("components", left.components == right.components);
    compare("dependencies", left.dependencies == right.dependencies);
    compare("name", left.name == right.name);
    compare("osiris", left.osiris == right.osiris);
    compare("python", left.python == right.python);
    compare(
        "python_dependencies",
        left.python_dependencies == right.python_dependencies,
    );
    compare("version", left.version == right.version);
    names
}

fn write(root: &Path, relative: &str, text: &str) -> Result<(), IndexError> {
    let path = root.join(relative);
    std::fs::write(&path, text).map_err(|source| IndexError::Read { path, source })
}
