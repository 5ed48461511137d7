//! What a signature binds for an OCP tarball, and how that is checked.
//!
//! When ocp signs an OCP tarball, the trusted comment (covered by the global signature) is
//!
//! ```text
//! ocp-package:shopify-osiris version:1.0.0 sha256:<64 hex> entry:<64 hex> timestamp:<unix seconds>
//! ```
//!
//! space-separated `key:value` fields, `ocp-package` first. `entry` is the sha256 of the
//! canonical form of every field resolution and installation act on (see
//! [`super::canonical`]). Verifying reads the tarball's own `<name>-<version>/ocp.json` and
//! refuses the file unless name, version, sha256 and (when present) the entry digest all
//! agree, so a valid signature cannot be moved to another package, version, file or set of
//! dependencies. Unknown fields are ignored so later versions of ocp can add some. This
//! module reads tarballs but never prints.

use std::io::Read;

use crate::build::Manifest;
use crate::model::Checksum;

use super::SigningError;
use super::canonical::SignedFields;

const MARKER: &str = "ocp-package";

/// The package a signature vouches for, as written in its trusted comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageClaim {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// The sha256 of the canonical form of the signed fields ([`SignedFields`]); absent in
    /// signatures made before ocp covered them.
    pub entry: Option<String>,
    pub timestamp: Option<u64>,
}

impl PackageClaim {
    /// The claim for a tarball with this manifest and checksum, signed at `timestamp`.
    pub fn for_tarball(
        manifest: &Manifest,
        sha256: &Checksum,
        timestamp: u64,
    ) -> Result<Self, SigningError> {
        for (what, value) in [("name", &manifest.name), ("version", &manifest.version)] {
            if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(SigningError::MalformedManifest {
                    reason: format!("the package {what} `{value}` is empty or holds spaces"),
                });
            }
        }
        let sha256 = sha256.to_hex();
        let entry = SignedFields::of_manifest(manifest, &sha256)
            .digest()
            .to_hex();
        Ok(PackageClaim {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            sha256,
            entry: Some(entry),
            timestamp: Some(timestamp),
        })
    }

    /// The trusted comment that carries this claim.
    pub fn to_trusted_comment(&self) -> String {
        let mut comment = format!(
            "{MARKER}:{} version:{} sha256:{}",
            self.name, self.version, self.sha256
        );
        if let Some(entry) = &self.entry {
            comment.push_str(&format!(" entry:{entry}"));
        }
        if let Some(timestamp) = self.timestamp {
            comment.push_str(&format!(" timestamp:{timestamp}"));
        }
        comment
    }

    /// The claim in a trusted comment, `None` when the comment is not an ocp package claim
    /// (a plain minisign comment such as `timestamp:...\tfile:...`).
    pub fn parse(comment: &str) -> Result<Option<Self>, SigningError> {
        if !comment.starts_with(&format!("{MARKER}:")) {
            return Ok(None);
        }
        let malformed = |reason: String| SigningError::MalformedClaim { reason };
        let mut name = None;
        let mut version = None;
        let mut sha256 = None;
        let mut entry = None;
        let mut timestamp = None;
        for field in comment.split(' ').filter(|field| !field.is_empty()) {
            let (key, value) = field
                .split_once(':')
                .ok_or_else(|| malformed(format!("`{field}` is not `key:value`")))?;
            let slot = match key {
                MARKER => &mut name,
                "version" => &mut version,
                "sha256" => &mut sha256,
                "entry" => &mut entry,
                "timestamp" => &mut timestamp,
                _ => continue,
            };
            if slot.is_some() {
                return Err(malformed(format!("`{key}` appears twice")));
            }
            if value.is_empty() {
                return Err(malformed(format!("`{key}` is empty")));
            }
            *slot = Some(value.to_owned());
        }
        let sha256 = sha256.ok_or_else(|| malformed("it has no `sha256`".to_owned()))?;
        for (key, value) in [("sha256", Some(&sha256)), ("entry", entry.as_ref())] {
            if let Some(value) = value
                && !is_hex_digest(value)
            {
                return Err(malformed(format!(
                    "`{key}:{value}` is not 64 lowercase hex digits"
                )));
            }
        }
        let timestamp = match timestamp {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| malformed(format!("`timestamp:{text}` is not a number")))?,
            ),
        };
        Ok(Some(PackageClaim {
            name: name.ok_or_else(|| malformed("it has no package name".to_owned()))?,
            version: version.ok_or_else(|| malformed("it has no `version`".to_owned()))?,
            sha256,
            entry,
            timestamp,
        }))
    }

    /// Checks the claim against the tarball's own manifest (`None`: the file is not an OCP)
    /// and its actual checksum.
    pub fn check(
        &self,
        manifest: Option<&Manifest>,
        sha256: &Checksum,
    ) -> Result<(), SigningError> {
        let manifest = manifest.ok_or_else(|| SigningError::NotAPackage {
            claimed: format!("{} {}", self.name, self.version),
        })?;
        if manifest.name != self.name || manifest.version != self.version {
            return Err(SigningError::PackageMismatch {
                claimed: format!("{} {}", self.name, self.version),
                actual: format!("{} {}", manifest.name, manifest.version),
            });
        }
        let actual = sha256.to_hex();
        if actual != self.sha256 {
            return Err(SigningError::ChecksumMismatch {
                claimed: self.sha256.clone(),
                actual,
            });
        }
        if let Some(claimed) = &self.entry {
            let actual = SignedFields::of_manifest(manifest, &actual)
                .digest()
                .to_hex();
            if *claimed != actual {
                return Err(SigningError::FieldsMismatch {
                    claimed: claimed.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

/// 64 lowercase hex digits.
fn is_hex_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The manifest of an OCP tarball: `Ok(None)` when the data is not a gzipped tar archive or
/// holds no `<top>/ocp.json`, an error when it is an archive that `ocp install` would refuse.
/// The archive is read by [`crate::intake`], the one bounded reader the store also uses, so
/// what is signed or verified is exactly what would be installed.
pub fn read_manifest(data: impl Read) -> Result<Option<Manifest>, SigningError> {
    use crate::intake::{ArchiveError, Discard, IntakeError, Limits, read_ocp};
    match read_ocp(data, &Limits::default(), &mut Discard) {
        Ok(archive) => Ok(Some(archive.document)),
        Err(IntakeError::Archive(ArchiveError::NotAnArchive) | IntakeError::NoManifest) => Ok(None),
        Err(error) => Err(SigningError::RefusedArchive(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> PackageClaim {
        PackageClaim {
            name: "shopify-osiris".to_owned(),
            version: "1.0.0".to_owned(),
            sha256: "ab".repeat(32),
            entry: Some("cd".repeat(32)),
            timestamp: Some(1_700_000_000),
        }
    }

    #[test]
    fn claim_round_trips_through_the_trusted_comment() {
        let comment = claim().to_trusted_comment();
        assert_eq!(
            comment,
            format!(
                "ocp-package:shopify-osiris version:1.0.0 sha256:{} entry:{} timestamp:1700000000",
                "ab".repeat(32),
                "cd".repeat(32)
            )
        );
        assert_eq!(PackageClaim::parse(&comment).expect("parse"), Some(claim()));
    }

    #[test]
    fn minisign_comments_are_not_claims() {
        let comment = "timestamp:1700000000\tfile:x.tar.gz\thashed";
        assert_eq!(PackageClaim::parse(comment).expect("parse"), None);
    }

    #[test]
    fn unknown_fields_are_ignored_and_duplicates_refused() {
        let extra = format!("{} later:field", claim().to_trusted_comment());
        assert_eq!(PackageClaim::parse(&extra).expect("parse"), Some(claim()));
        let twice = format!("{} version:2.0.0", claim().to_trusted_comment());
        assert!(PackageClaim::parse(&twice).is_err());
    }

    #[test]
    fn a_claim_without_checksum_is_malformed() {
        assert!(PackageClaim::parse("ocp-package:a version:1").is_err());
        assert!(PackageClaim::parse("ocp-package:a version:1 sha256:XYZ").is_err());
        let bad_entry = format!(
            "ocp-package:a version:1 sha256:{} entry:XYZ",
            "ab".repeat(32)
        );
        assert!(PackageClaim::parse(&bad_entry).is_err());
    }

    #[test]
    fn a_claim_without_entry_digest_still_parses() {
        let old = format!("ocp-package:a version:1 sha256:{}", "ab".repeat(32));
        let claim = PackageClaim::parse(&old).expect("parse").expect("a claim");
        assert_eq!(claim.entry, None);
    }

    #[test]
    fn data_that_is_not_a_tarball_has_no_manifest() {
        assert_eq!(read_manifest(&b"plain text"[..]).expect("read"), None);
        assert_eq!(read_manifest(&[0x1f, 0x8b, 0, 1][..]).expect("read"), None);
    }
}
