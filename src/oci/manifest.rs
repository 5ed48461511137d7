//! The OCI manifests of an OCP, written the same way every time, and read back with bounds.
//!
//! A package version is an OCI image manifest that follows image-spec 1.1's guidelines for
//! artifacts: `artifactType` [`PACKAGE_TYPE`], the empty config descriptor
//! (`application/vnd.oci.empty.v1+json`, the two bytes `{}`), and the tarball as its one
//! layer with its own media type [`TARBALL_LAYER`] and its file name as
//! `org.opencontainers.image.title` (so `oras pull` writes the file under its name). Nothing
//! in it depends on time or on the publisher, so the same tarball always gives the same
//! manifest and the same digest: publishing the same bytes again changes nothing.
//!
//! The signature is an artifact of its own ([`SIGNATURE_TYPE`], the `.minisig` text as its
//! one layer) whose `subject` is the package manifest, found through the referrers API, or,
//! on registries without it, through the image index at the tag `sha256-<hex>` (the
//! distribution spec's tag schema fallback).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Digest, OciError};

pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The artifact type of an OCP.
pub const PACKAGE_TYPE: &str = "application/vnd.osiris.ocp.package.v1";
/// The media type of an OCP's tarball layer.
pub const TARBALL_LAYER: &str = "application/vnd.osiris.ocp.package.v1.tar+gzip";
/// The artifact type of an OCP's signature.
pub const SIGNATURE_TYPE: &str = "application/vnd.osiris.ocp.signature.v1";
/// The media type of the minisign signature layer.
pub const SIGNATURE_LAYER: &str = "application/vnd.osiris.ocp.signature.v1.minisign";
/// The contents of the empty config blob.
pub const EMPTY_BLOB: &[u8] = b"{}";
const TITLE: &str = "org.opencontainers.image.title";
const VERSION: &str = "org.opencontainers.image.version";

/// The largest manifest or image index ocp reads (the size the distribution spec asks every
/// registry to accept).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The most layers or index entries ocp looks at in one manifest.
const MAX_DESCRIPTORS: usize = 1000;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: Digest::of_bytes(bytes).to_string(),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (what the referrers fallback tag holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// A manifest as bytes, with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: &'static str,
}

impl Encoded {
    fn new(value: &impl Serialize, media_type: &'static str) -> Encoded {
        // Structs of strings and numbers always serialize.
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        Encoded {
            digest: Digest::of_bytes(&bytes),
            bytes,
            media_type,
        }
    }

    /// A descriptor pointing at this manifest.
    pub fn descriptor(&self, artifact_type: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: self.media_type.to_owned(),
            digest: self.digest.to_string(),
            size: self.bytes.len() as u64,
            artifact_type: artifact_type.map(str::to_owned),
            annotations: BTreeMap::new(),
        }
    }
}

/// The manifest of one package version whose tarball is `tarball`, named `file`.
pub fn package(name: &str, version: &str, file: &str, tarball: &[u8]) -> Encoded {
    let mut layer = Descriptor::of(TARBALL_LAYER, tarball);
    layer.annotations.insert(TITLE.to_owned(), file.to_owned());
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(IMAGE_MANIFEST.to_owned()),
        artifact_type: Some(PACKAGE_TYPE.to_owned()),
        config: Descriptor::of(EMPTY, EMPTY_BLOB),
        layers: vec![layer],
        subject: None,
        annotations: BTreeMap::from([
            (TITLE.to_owned(), name.to_owned()),
            (VERSION.to_owned(), version.to_owned()),
        ]),
    };
    Encoded::new(&manifest, IMAGE_MANIFEST)
}

/// The manifest of a signature (`.minisig` text named `file`) of the package manifest
/// `subject`.
pub fn signature(subject: &Encoded, file: &str, signature: &[u8]) -> Encoded {
    let mut layer = Descriptor::of(SIGNATURE_LAYER, signature);
    layer.annotations.insert(TITLE.to_owned(), file.to_owned());
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(IMAGE_MANIFEST.to_owned()),
        artifact_type: Some(SIGNATURE_TYPE.to_owned()),
        config: Descriptor::of(EMPTY, EMPTY_BLOB),
        layers: vec![layer],
        subject: Some(subject.descriptor(None)),
        annotations: BTreeMap::new(),
    };
    Encoded::new(&manifest, IMAGE_MANIFEST)
}

/// The referrers fallback index `existing` (or a new one) with `referrer` added, or `None`
/// when it already lists it.
pub fn with_referrer(existing: Option<&[u8]>, referrer: Descriptor) -> Option<Encoded> {
    let mut index = existing
        .and_then(|bytes| serde_json::from_slice::<ImageIndex>(bytes).ok())
        .unwrap_or(ImageIndex {
            schema_version: 2,
            media_type: Some(IMAGE_INDEX.to_owned()),
            manifests: Vec::new(),
        });
    if index.manifests.iter().any(|m| m.digest == referrer.digest) {
        return None;
    }
    index.manifests.push(referrer);
    Some(Encoded::new(&index, IMAGE_INDEX))
}

/// The tarball layer of a package manifest read from a registry, after checking that it is
/// one: an image manifest of artifact type [`PACKAGE_TYPE`] with exactly one layer of
/// media type [`TARBALL_LAYER`] and a valid sha256 digest.
pub fn tarball_layer(bytes: &[u8]) -> Result<Descriptor, String> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|error| format!("its manifest is not a valid OCI image manifest: {error}"))?;
    if manifest.schema_version != 2 {
        return Err(format!(
            "its manifest has schema version {}, not 2",
            manifest.schema_version
        ));
    }
    if manifest
        .media_type
        .as_deref()
        .is_some_and(|media_type| media_type != IMAGE_MANIFEST)
    {
        return Err("it is not an OCI image manifest".to_owned());
    }
    if manifest.artifact_type.as_deref() != Some(PACKAGE_TYPE) {
        return Err(format!(
            "its artifact type is `{}`, not `{PACKAGE_TYPE}`",
            manifest
                .artifact_type
                .as_deref()
                .unwrap_or("(none)")
                .escape_debug()
        ));
    }
    if manifest.layers.len() > MAX_DESCRIPTORS {
        return Err(format!("it has more than {MAX_DESCRIPTORS} layers"));
    }
    let mut tarballs = manifest
        .layers
        .into_iter()
        .filter(|layer| layer.media_type == TARBALL_LAYER);
    let (Some(layer), None) = (tarballs.next(), tarballs.next()) else {
        return Err(format!(
            "it does not have exactly one layer of type `{TARBALL_LAYER}`"
        ));
    };
    layer
        .digest
        .parse::<Digest>()
        .map_err(|error| error.to_string())?;
    Ok(layer)
}

/// Checks that `bytes` were what a request for `expected` should have returned.
pub fn check_digest(url: &str, expected: &Digest, bytes: &[u8]) -> Result<(), OciError> {
    let actual = Digest::of_bytes(bytes);
    if &actual == expected {
        Ok(())
    } else {
        Err(OciError::DigestMismatch {
            url: url.to_owned(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_tarball_always_gives_the_same_manifest() {
        let one = package(
            "shopify-osiris",
            "1.0.0",
            "shopify_osiris-1.0.0.tar.gz",
            b"tar",
        );
        let two = package(
            "shopify-osiris",
            "1.0.0",
            "shopify_osiris-1.0.0.tar.gz",
            b"tar",
        );
        assert_eq!(one, two);
        let other = package(
            "shopify-osiris",
            "1.0.0",
            "shopify_osiris-1.0.0.tar.gz",
            b"tar2",
        );
        assert_ne!(one.digest, other.digest);
        let text = String::from_utf8(one.bytes.clone()).expect("utf-8");
        assert!(text.contains(r#""artifactType":"application/vnd.osiris.ocp.package.v1""#));
        assert!(text.contains(
            r#""config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}"#
        ));
        let layer = tarball_layer(&one.bytes).expect("a package");
        assert_eq!(layer.digest, Digest::of_bytes(b"tar").to_string());
        assert_eq!(layer.size, 3);
    }

    #[test]
    fn other_artifacts_are_not_packages() {
        let package = package("a", "1", "a-1.tar.gz", b"x");
        let signature = signature(&package, "a-1.tar.gz.minisig", b"sig");
        let reason = tarball_layer(&signature.bytes).expect_err("a signature");
        assert!(reason.contains("artifact type"), "{reason}");
        assert!(tarball_layer(b"{}").is_err());
        assert!(tarball_layer(b"not json").is_err());
        let two_layers = String::from_utf8(package.bytes.clone())
            .expect("utf-8")
            .replace(
                r#""layers":["#,
                &format!(
                    r#""layers":[{{"mediaType":"{TARBALL_LAYER}","digest":"{}","size":1}},"#,
                    Digest::of_bytes(b"y")
                ),
            );
        let reason = tarball_layer(two_layers.as_bytes()).expect_err("two tarballs");
        assert!(reason.contains("exactly one layer"), "{reason}");
    }

    #[test]
    fn the_referrers_index_lists_each_signature_once() {
        let package = package("a", "1", "a-1.tar.gz", b"x");
        let signature = signature(&package, "a-1.tar.gz.minisig", b"sig");
        let first = with_referrer(None, signature.descriptor(Some(SIGNATURE_TYPE))).expect("new");
        assert!(
            with_referrer(
                Some(&first.bytes),
                signature.descriptor(Some(SIGNATURE_TYPE))
            )
            .is_none()
        );
        let other = signature_of(&package, b"other");
        let second = with_referrer(Some(&first.bytes), other.descriptor(Some(SIGNATURE_TYPE)))
            .expect("added");
        let index: ImageIndex = serde_json::from_slice(&second.bytes).expect("index");
        assert_eq!(index.manifests.len(), 2);
    }

    fn signature_of(package: &Encoded, bytes: &[u8]) -> Encoded {
        signature(package, "a-1.tar.gz.minisig", bytes)
    }
}
