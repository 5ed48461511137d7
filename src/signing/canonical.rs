//! The fields of one published version that its owner's signature covers, and their
//! canonical form.
//!
//! Everything resolution and installation act on is covered: the name, the version, the
//! components, the OCP dependencies, the Python requirements, the Osiris and Python ranges
//! and the tarball's sha256. The trusted comment of the signature carries the sha256 of the
//! canonical form (`entry:<64 hex digits>`, see [`super::package`]), so editing any covered
//! field of an index entry breaks its signature. Not covered: `yanked` (a yank is a signed
//! event in the package's owner log) and `published` (informational).
//!
//! The canonical form is the RFC 8785 (JCS) serialization of the JSON object
//!
//! ```text
//! {"components":[..],"dependencies":[{"name":..,"requirement":..},..],"name":..,
//!  "osiris":..,"python":..,"python_dependencies":[..],"sha256":..,"version":..}
//! ```
//!
//! with the lists in the order the entry gives them. With only strings, arrays and objects in
//! it, JCS is compact JSON with members sorted by name and only `"`, `\` and control
//! characters escaped, which is exactly what `serde_json` writes for [`SignedFields`], whose
//! members are declared in sorted order. This module computes; it never reads files or
//! prints.

use serde::Serialize;

use crate::build::Manifest;
use crate::model::{Checksum, normalize_name};

/// The covered fields of one version, borrowed from an index entry or a manifest.
///
/// The members are declared in the order JCS sorts them; do not reorder them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedFields<'a> {
    pub components: Vec<&'a str>,
    pub dependencies: Vec<SignedDependency<'a>>,
    /// The normalized distribution name.
    pub name: String,
    pub osiris: &'a str,
    pub python: &'a str,
    pub python_dependencies: Vec<&'a str>,
    /// The tarball's sha256, 64 lowercase hex digits.
    pub sha256: &'a str,
    pub version: &'a str,
}

/// One OCP dependency, as the signature covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedDependency<'a> {
    pub name: &'a str,
    pub requirement: &'a str,
}

impl<'a> SignedDependency<'a> {
    pub fn new(name: &'a str, requirement: &'a str) -> Self {
        SignedDependency { name, requirement }
    }
}

/// The strings of a list, borrowed.
pub fn borrowed(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}

impl<'a> SignedFields<'a> {
    /// The covered fields of the version a built tarball holds, as `ocp publish` writes its
    /// index entry from the tarball's `ocp.json`.
    pub fn of_manifest(manifest: &'a Manifest, sha256: &'a str) -> SignedFields<'a> {
        SignedFields {
            components: manifest
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect(),
            dependencies: manifest
                .dependencies
                .iter()
                .map(|d| SignedDependency::new(&d.name, &d.requirement))
                .collect(),
            name: normalize_name(&manifest.name),
            osiris: &manifest.osiris,
            python: &manifest.python,
            python_dependencies: borrowed(&manifest.python_dependencies),
            sha256,
            version: &manifest.version,
        }
    }

    /// The canonical bytes (RFC 8785).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // A struct of strings always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The sha256 of the canonical bytes: what the trusted comment carries as `entry:`.
    pub fn digest(&self) -> Checksum {
        Checksum::of_bytes(&self.canonical_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> SignedFields<'static> {
        SignedFields {
            components: vec!["shopify.extractor"],
            dependencies: vec![SignedDependency {
                name: "base-osiris",
                requirement: ">=1.0,<2",
            }],
            name: "shopify-osiris".to_owned(),
            osiris: ">=0.5.0,<1.0.0",
            python: ">=3.11",
            python_dependencies: vec!["requests>=2.31"],
            sha256: "ab",
            version: "1.0.0",
        }
    }

    #[test]
    fn the_canonical_form_is_compact_json_with_sorted_members() {
        assert_eq!(
            String::from_utf8(fields().canonical_bytes()).expect("utf-8"),
            r#"{"components":["shopify.extractor"],"dependencies":[{"name":"base-osiris","requirement":">=1.0,<2"}],"name":"shopify-osiris","osiris":">=0.5.0,<1.0.0","python":">=3.11","python_dependencies":["requests>=2.31"],"sha256":"ab","version":"1.0.0"}"#
        );
    }

    #[test]
    fn the_members_are_declared_in_sorted_order() {
        let value = serde_json::to_value(fields()).expect("json");
        let text = String::from_utf8(fields().canonical_bytes()).expect("utf-8");
        let mut names: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let positions: Vec<usize> = names
            .iter()
            .map(|name| text.find(&format!("\"{name}\":")).expect("member"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn every_covered_field_changes_the_digest() {
        let base = fields().digest();
        let mut edits: Vec<SignedFields<'static>> = Vec::new();
        let mut edit = |change: fn(&mut SignedFields<'static>)| {
            let mut changed = fields();
            change(&mut changed);
            edits.push(changed);
        };
        edit(|f| f.components = vec!["other.extractor"]);
        edit(|f| f.dependencies[0].requirement = ">=1.0");
        edit(|f| f.dependencies[0].name = "evil-osiris");
        edit(|f| f.name = "other-osiris".to_owned());
        edit(|f| f.osiris = ">=0.5.0");
        edit(|f| f.python = ">=3.8");
        edit(|f| f.python_dependencies.push("--no-build-isolation"));
        edit(|f| f.sha256 = "cd");
        edit(|f| f.version = "1.0.1");
        for changed in edits {
            assert_ne!(changed.digest(), base, "{changed:?}");
        }
    }
}
