//! One package version in a registry: pushing it create-only, and finding the tarball a
//! reference names.
//!
//! A version lives in the repository `<storage repository>/<package name>` under the tag of
//! its version ([`super::Tag::for_version`]). Pushing is create-only: a tag that already
//! holds the same tarball is left as it is (the manifest is the same too, see
//! [`super::manifest`]), a tag that holds anything else is an error, and after the push the
//! tag is read back, so a tag another publisher moved at the same moment is caught. The
//! signature is attached to the manifest as a referrer.
//!
//! Pulling reads the manifest by digest (a tag only for entries that record none), checks
//! it is an OCP, and hands back the tarball layer's digest for the caller to compare with
//! the sha256 the index signs before anything is downloaded; the blob's bytes are hashed by
//! the caller as they arrive.

use super::client::{Client, FetchedManifest};
use super::manifest::{self, Encoded};
use super::{Digest, OciError, Reference, Repository, Tag, Target};

/// The largest tarball ocp pulls from a registry.
pub const MAX_TARBALL_BYTES: u64 = 512 << 20;

/// What to push: one built and signed version.
#[derive(Debug, Clone, Copy)]
pub struct Package<'a> {
    /// The normalized distribution name: the repository below the storage repository.
    pub name: &'a str,
    pub version: &'a str,
    /// The tarball's file name (`shopify_osiris-1.0.0.tar.gz`).
    pub file: &'a str,
    pub tarball: &'a [u8],
    /// The minisign signature text of the tarball.
    pub signature: &'a str,
}

/// A pushed version: its manifest by digest, and whether this push created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub reference: Reference,
    pub created: bool,
}

/// The repository a package's versions live in below `base`.
pub fn package_repository(base: &Repository, name: &str) -> Result<Repository, OciError> {
    base.child(name)
}

/// Pushes `package` below `base`, create-only, and attaches its signature.
pub fn push(client: &Client, base: &Repository, package: &Package<'_>) -> Result<Pushed, OciError> {
    let repository = package_repository(base, package.name)?;
    let tag = Tag::for_version(package.version)?;
    let shown = format!("{repository}:{tag}");
    let encoded = manifest::package(package.name, package.version, package.file, package.tarball);
    let tarball = Digest::of_bytes(package.tarball);
    let (subject, created) = match client.manifest(&repository, &Target::Tag(tag.clone()))? {
        Some(existing) => {
            let layer =
                manifest::tarball_layer(&existing.bytes).map_err(|_| OciError::Conflict {
                    reference: shown.clone(),
                    existing: "an artifact that is not an ocp package".to_owned(),
                })?;
            if layer.digest != tarball.as_str() {
                return Err(OciError::Conflict {
                    reference: shown,
                    existing: format!(
                        "a different tarball (sha256 {})",
                        layer.digest.trim_start_matches("sha256:")
                    ),
                });
            }
            (as_encoded(existing), false)
        }
        None => {
            client.push_blob(&repository, manifest::EMPTY_BLOB)?;
            client.push_blob(&repository, package.tarball)?;
            client.put_manifest(&repository, tag.as_str(), &encoded)?;
            match tag_digest(client, &repository, &tag)? {
                Some(digest) if digest == encoded.digest => {}
                other => {
                    return Err(OciError::TagMoved {
                        reference: shown,
                        expected: encoded.digest.to_string(),
                        actual: other.map_or_else(|| "nothing".to_owned(), |d| d.to_string()),
                    });
                }
            }
            (encoded, true)
        }
    };
    attach_signature(client, &repository, &subject, package)?;
    Ok(Pushed {
        reference: Reference {
            repository,
            target: Target::Digest(subject.digest),
        },
        created,
    })
}

fn as_encoded(fetched: FetchedManifest) -> Encoded {
    Encoded {
        bytes: fetched.bytes,
        digest: fetched.digest,
        media_type: manifest::IMAGE_MANIFEST,
    }
}

/// Pushes the signature as an artifact whose subject is the package manifest; on a
/// registry without the referrers API, lists it in the image index at the tag
/// `sha256-<hex>` as well.
fn attach_signature(
    client: &Client,
    repository: &Repository,
    subject: &Encoded,
    package: &Package<'_>,
) -> Result<(), OciError> {
    client.push_blob(repository, manifest::EMPTY_BLOB)?;
    client.push_blob(repository, package.signature.as_bytes())?;
    let encoded = manifest::signature(
        subject,
        &format!("{}.minisig", package.file),
        package.signature.as_bytes(),
    );
    let indexed = client.put_manifest(repository, encoded.digest.as_str(), &encoded)?;
    if indexed {
        return Ok(());
    }
    let tag: Tag = format!("sha256-{}", subject.digest.hex()).parse()?;
    let existing = client.manifest(repository, &Target::Tag(tag.clone()))?;
    if let Some(index) = manifest::with_referrer(
        existing.as_ref().map(|m| m.bytes.as_slice()),
        encoded.descriptor(Some(manifest::SIGNATURE_TYPE)),
    ) {
        client.put_manifest(repository, tag.as_str(), &index)?;
    }
    Ok(())
}

/// The digest of the manifest `tag` names now, `None` when there is no such tag.
pub fn tag_digest(
    client: &Client,
    repository: &Repository,
    tag: &Tag,
) -> Result<Option<Digest>, OciError> {
    Ok(client
        .manifest(repository, &Target::Tag(tag.clone()))?
        .map(|fetched| fetched.digest))
}

/// Takes back a version this publish pushed: deletes its manifest (and the tag on it).
pub fn remove(client: &Client, reference: &Reference) -> Result<(), OciError> {
    match &reference.target {
        Target::Digest(digest) => client.delete_manifest(&reference.repository, digest),
        Target::Tag(tag) => match tag_digest(client, &reference.repository, tag)? {
            Some(digest) => client.delete_manifest(&reference.repository, &digest),
            None => Ok(()),
        },
    }
}

/// The tarball layer of the package `reference` names: its digest and size.
pub fn tarball_of(client: &Client, reference: &Reference) -> Result<(Digest, u64), OciError> {
    let fetched = client
        .manifest(&reference.repository, &reference.target)?
        .ok_or_else(|| OciError::NotFound {
            reference: reference.to_string(),
        })?;
    let layer =
        manifest::tarball_layer(&fetched.bytes).map_err(|reason| OciError::NotAPackage {
            reference: reference.to_string(),
            reason,
        })?;
    if layer.size > MAX_TARBALL_BYTES {
        return Err(OciError::NotAPackage {
            reference: reference.to_string(),
            reason: format!(
                "its tarball is {} bytes; ocp pulls at most {MAX_TARBALL_BYTES}",
                layer.size
            ),
        });
    }
    Ok((layer.digest.parse()?, layer.size))
}

/// The bytes of the tarball `reference` names, read into memory (at most the size its
/// manifest gives). The caller hashes them and compares with the index's sha256, so a blob
/// the registry serves wrong is reported as a tarball that does not match its entry.
pub fn pull(client: &Client, reference: &Reference) -> Result<Vec<u8>, OciError> {
    let (digest, size) = tarball_of(client, reference)?;
    let response = client.open_blob(&reference.repository, &digest)?;
    let url = reference.repository.url(&format!("blobs/{digest}"));
    super::client::read_limited(response, size, &url)
}
