//! What a package page shows beyond its index entries: the summary, license and author from
//! PKG-INFO, the README, the changelog and each component's spec, read from the tarball of
//! the version the page features.
//!
//! The tarball is a trust boundary. It is used only when its sha256 is the one in the
//! signed entry, and it is read in memory, never unpacked: only a few named files are kept,
//! each under a size limit, the archive as a whole under entry and byte limits, and a spec
//! nested deeper than [`crate::package::yaml::MAX_DEPTH`] is refused before it is parsed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Component;

use serde_json::Value;

use crate::build::Manifest;
use crate::fetch::{self, Cache, FetchItem, FetchOptions};
use crate::index::Index;
use crate::index::format::IndexEntry;
use crate::index::storage::{self, Source};
use crate::model::Checksum;
use crate::progress::NoReporter;

/// A tarball larger than this is not read.
pub const MAX_TARBALL_BYTES: u64 = 64 << 20;
/// Entries in one archive at most.
pub const MAX_ENTRIES: usize = 20_000;
/// Bytes the archive may unpack to in all (what is skipped counts too).
pub const MAX_UNPACKED_BYTES: u64 = 512 << 20;
/// The README and the changelog are read up to this size.
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 20;
/// `ocp.json`, PKG-INFO and each spec are read up to this size.
pub const MAX_METADATA_BYTES: u64 = 256 << 10;
/// Specs in one package at most.
pub const MAX_SPECS: usize = 64;

/// A README or changelog: its text and whether it is Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub text: String,
    pub markdown: bool,
    /// It was longer than [`MAX_DOCUMENT_BYTES`] and was cut.
    pub cut: bool,
}

/// What a package's tarball says about it.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub summary: Option<String>,
    pub license: Option<String>,
    pub author: Option<String>,
    pub readme: Option<Document>,
    pub changelog: Option<Document>,
    /// Component name -> its spec as JSON, or why it could not be read.
    pub specs: BTreeMap<String, Result<Value, String>>,
}

/// How to reach tarballs: the index checkout (relative locations), the download cache and
/// whether downloading is allowed.
#[derive(Debug, Clone)]
pub struct TarballAccess {
    pub cache: Cache,
    pub options: FetchOptions,
}

/// Reads the details of `entry` from its tarball; the error says why they are missing.
pub fn load(index: &Index, entry: &IndexEntry, access: &TarballAccess) -> Result<Details, String> {
    let bytes = tarball_bytes(index, entry, access)?;
    read(&bytes, entry)
}

fn tarball_bytes(
    index: &Index,
    entry: &IndexEntry,
    access: &TarballAccess,
) -> Result<Vec<u8>, String> {
    let expected: Checksum = entry
        .sha256
        .parse()
        .map_err(|_| format!("the entry's sha256 `{}` is not valid", entry.sha256))?;
    let location = index.download_location(&entry.name, &entry.version);
    let path = match storage::locate(&location, index.root()).map_err(|e| e.to_string())? {
        Source::File(path) => path,
        Source::Url(_) => {
            let item = FetchItem {
                name: entry.name.clone(),
                version: entry.version.clone(),
                location: location.clone(),
                sha256: expected.clone(),
            };
            let fetched = fetch::fetch_all(
                &access.cache,
                std::slice::from_ref(&item),
                &access.options,
                &NoReporter,
            )
            .map_err(|error| error.to_string())?;
            fetched
                .into_iter()
                .next()
                .map(|f| f.path)
                .ok_or_else(|| "the download gave no file".to_owned())?
        }
    };
    let file = std::fs::File::open(&path)
        .map_err(|error| format!("cannot read the tarball `{}`: {error}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TARBALL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read the tarball `{}`: {error}", path.display()))?;
    if bytes.len() as u64 > MAX_TARBALL_BYTES {
        return Err(format!(
            "the tarball is larger than {} MiB",
            MAX_TARBALL_BYTES >> 20
        ));
    }
    let actual = Checksum::of_bytes(&bytes);
    if actual != expected {
        return Err(format!(
            "the tarball at `{location}` has sha256 {}, but the signed entry says {}",
            actual.to_hex(),
            entry.sha256
        ));
    }
    Ok(bytes)
}

/// Reads the details from a tarball's bytes, checking that it holds `entry`'s package.
pub fn read(bytes: &[u8], entry: &IndexEntry) -> Result<Details, String> {
    let files = select_files(bytes)?;
    let manifest_text = files
        .get("ocp.json")
        .ok_or_else(|| "the tarball has no ocp.json".to_owned())?;
    let manifest: Manifest = serde_json::from_str(&manifest_text.0)
        .map_err(|error| format!("the tarball's ocp.json is invalid: {error}"))?;
    if crate::model::normalize_name(&manifest.name) != entry.name
        || manifest.version != entry.version
    {
        return Err(format!(
            "the tarball holds {} {}, not {} {}",
            manifest.name, manifest.version, entry.name, entry.version
        ));
    }
    let mut details = Details::default();
    if let Some((text, _)) = files.get("PKG-INFO") {
        let headers = pkg_info_headers(text);
        details.summary = headers.get("summary").cloned();
        details.license = headers.get("license").cloned();
        details.author = headers
            .get("author")
            .or_else(|| headers.get("author-email"))
            .cloned();
    }
    details.readme = document(
        &files,
        &[
            "README.md",
            "README.markdown",
            "README.rst",
            "README.txt",
            "README",
        ],
    );
    details.changelog = document(
        &files,
        &[
            "CHANGELOG.md",
            "CHANGES.md",
            "HISTORY.md",
            "CHANGELOG.rst",
            "CHANGELOG.txt",
            "CHANGELOG",
        ],
    );
    for component in manifest.components.iter().take(MAX_SPECS) {
        let spec = match files.get(component.spec.as_str()) {
            None => Err(format!("the tarball has no `{}`", component.spec)),
            Some((_, true)) => Err(format!("`{}` is larger than ocp reads", component.spec)),
            Some((text, false)) => parse_spec(text),
        };
        details.specs.insert(component.name.clone(), spec);
    }
    Ok(details)
}

fn document(files: &BTreeMap<String, (String, bool)>, names: &[&str]) -> Option<Document> {
    names.iter().find_map(|name| {
        files.get(*name).map(|(text, cut)| Document {
            text: text.clone(),
            markdown: name.ends_with(".md") || name.ends_with(".markdown"),
            cut: *cut,
        })
    })
}

/// Whether a file below the top folder is one the details need, and how much of it to read.
fn wanted(relative: &str) -> Option<u64> {
    match relative {
        "ocp.json" | "PKG-INFO" => Some(MAX_METADATA_BYTES),
        _ if !relative.contains('/')
            && ["README", "CHANGELOG", "CHANGES", "HISTORY"]
                .iter()
                .any(|stem| relative.starts_with(stem)) =>
        {
            Some(MAX_DOCUMENT_BYTES)
        }
        _ if relative.ends_with(".yaml") || relative.ends_with(".yml") => Some(MAX_METADATA_BYTES),
        _ => None,
    }
}

/// The wanted files of the archive, by path below its one top folder: text (lossy UTF-8,
/// at most the file's limit) and whether it was cut.
fn select_files(bytes: &[u8]) -> Result<BTreeMap<String, (String, bool)>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|error| format!("the tarball cannot be read: {error}"))?;
    let mut files = BTreeMap::new();
    let mut top: Option<String> = None;
    let mut total: u64 = 0;
    let mut yaml_files = 0usize;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(format!("the tarball has more than {MAX_ENTRIES} entries"));
        }
        let entry = entry.map_err(|error| format!("the tarball cannot be read: {error}"))?;
        let size = entry.header().size().unwrap_or(u64::MAX);
        total = total.saturating_add(size);
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "the tarball unpacks to more than {} MiB",
                MAX_UNPACKED_BYTES >> 20
            ));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let Ok(path) = entry.path() else { continue };
        let mut parts = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                _ => {
                    return Err(format!(
                        "the tarball has an unsafe path `{}`",
                        path.display()
                    ));
                }
            }
        }
        let Some((first, rest)) = parts.split_first() else {
            continue;
        };
        match &top {
            None => top = Some(first.clone()),
            Some(top) if top != first => {
                return Err("the tarball has more than one top folder".to_owned());
            }
            Some(_) => {}
        }
        let relative = rest.join("/");
        let Some(limit) = wanted(&relative) else {
            continue;
        };
        if relative.ends_with(".yaml") || relative.ends_with(".yml") {
            yaml_files += 1;
            if yaml_files > MAX_SPECS {
                continue;
            }
        }
        let mut data = Vec::new();
        entry
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|error| format!("the tarball cannot be read: {error}"))?;
        let cut = data.len() as u64 > limit;
        data.truncate(limit as usize);
        files.insert(relative, (String::from_utf8_lossy(&data).into_owned(), cut));
    }
    Ok(files)
}

/// The header fields of PKG-INFO, by lowercase name (continuation lines joined).
fn pkg_info_headers(text: &str) -> BTreeMap<String, String> {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(value) = last.as_ref().and_then(|key| headers.get_mut(key)) {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().to_ascii_lowercase();
            // Repeated fields (Classifier) are not shown; the first one stays.
            headers
                .entry(key.clone())
                .or_insert_with(|| value.trim().to_owned());
            last = Some(key);
        }
    }
    headers
}

/// Parses a spec from a tarball; the YAML loader refuses nesting deep enough to exhaust the
/// stack before it parses.
pub fn parse_spec(text: &str) -> Result<Value, String> {
    use crate::package::yaml::{self, YamlError};
    let loaded = yaml::load(text).map_err(|error| match error {
        YamlError::Syntax { message, .. } => format!("the spec is not valid YAML: {message}"),
        YamlError::Empty => "the spec is empty".to_owned(),
        YamlError::MultipleDocuments { .. } => {
            "the spec holds more than one YAML document".to_owned()
        }
        YamlError::TooDeep { .. } => format!(
            "the spec is nested more than {} levels deep",
            yaml::MAX_DEPTH
        ),
    })?;
    if !loaded.value.is_object() {
        return Err("the spec is not a mapping".to_owned());
    }
    Ok(loaded.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkg_info_headers_join_continuations() {
        let headers = pkg_info_headers(
            "Metadata-Version: 2.2\nName: a\nSummary: one\n        two\nLicense: MIT\n\nbody: x\n",
        );
        assert_eq!(headers.get("summary").map(String::as_str), Some("one two"));
        assert_eq!(headers.get("license").map(String::as_str), Some("MIT"));
        assert!(!headers.contains_key("body"));
    }

    #[test]
    fn deep_specs_are_refused_before_parsing() {
        let flow = format!("name: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let error = parse_spec(&flow).expect_err("too deep");
        assert!(
            error.contains("nested") || error.contains("recursion"),
            "{error}"
        );
        let ok = parse_spec("name: a.b\nconfigSchema:\n  type: object\n").expect("parses");
        assert_eq!(ok["name"], "a.b");
        assert!(parse_spec("- a\n- b\n").is_err());
        assert!(parse_spec("a: [").is_err());
    }

    #[test]
    fn garbage_tarballs_are_errors() {
        let entry: IndexEntry = serde_json::from_value(serde_json::json!({
            "name": "a-osiris", "version": "1.0.0", "components": [], "dependencies": [],
            "osiris": "", "python": "", "sha256": "0".repeat(64), "signature": "",
            "key_id": "", "published": "2026-01-01T00:00:00Z"
        }))
        .expect("an entry");
        assert!(read(b"not a tarball", &entry).is_err());
        assert!(read(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0], &entry).is_err());
    }
}
