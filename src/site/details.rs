//! What a package page shows beyond its index entries: the summary, license and author from
//! PKG-INFO, the README, the changelog and each component's spec, read from the tarball of
//! the version the page features.
//!
//! The tarball is a trust boundary. It is used only when its sha256 is the one in the
//! signed entry, and it is read through [`crate::intake::read_ocp`], the bounded reader
//! `ocp install` uses: in memory, never unpacked, refused for whatever install would refuse
//! it for (the archive's limits, links, unsafe paths, files its `ocp.json` does not list, a
//! manifest that disagrees with the entry), and keeping only the few files a page shows. A
//! spec nested deeper than [`crate::package::yaml::MAX_DEPTH`] is refused before it is
//! parsed.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use serde_json::Value;

use crate::fetch::{self, Cache, FetchItem, FetchOptions};
use crate::index::Index;
use crate::index::format::IndexEntry;
use crate::index::storage::{self, Source};
use crate::intake::{self, ArchiveError, IntakeError, Limits, Sink};
use crate::model::{Checksum, RelativePath};
use crate::progress::NoReporter;

use super::markdown;

/// How much of the README, the changelog and PKG-INFO is kept: one byte more than a page
/// shows ([`markdown::MAX_SOURCE_BYTES`]), so the page can say that the file was cut.
const KEEP_DOCUMENT_BYTES: u64 = markdown::MAX_SOURCE_BYTES as u64 + 1;

/// A README or changelog: its text (lossy UTF-8) and whether it is Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub text: String,
    pub markdown: bool,
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
    let expected: Checksum = entry
        .sha256
        .parse()
        .map_err(|_| format!("the entry's sha256 `{}` is not valid", entry.sha256))?;
    let location = index.entry_location(entry);
    let path = match storage::locate(&location, index.root()).map_err(|e| e.to_string())? {
        Source::File(path) => path,
        Source::Url(_) | Source::Oci(_) => {
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
            .map_err(|error| crate::error::chain_text(&error))?;
            fetched
                .into_iter()
                .next()
                .map(|f| f.path)
                .ok_or_else(|| "the download gave no file".to_owned())?
        }
    };
    let cannot_read =
        |error: std::io::Error| format!("cannot read the tarball `{}`: {error}", path.display());
    // One open file is hashed, then read from its start: what is read is what was checked.
    let mut file = std::fs::File::open(&path).map_err(cannot_read)?;
    let actual = Checksum::of_reader(&mut file).map_err(cannot_read)?;
    if actual != expected {
        return Err(format!(
            "the tarball at `{location}` has sha256 {}, but the signed entry says {}",
            actual.to_hex(),
            entry.sha256
        ));
    }
    file.rewind().map_err(cannot_read)?;
    read(file, entry)
}

/// Reads the details from a tarball through intake, checking that it holds `entry`'s
/// package.
pub fn read(tarball: impl Read, entry: &IndexEntry) -> Result<Details, String> {
    let mut shown = Shown::default();
    let archive = intake::read_ocp(tarball, &Limits::default(), &mut shown)
        .and_then(|archive| intake::check_entry(&archive.manifest, entry).map(|()| archive))
        .map_err(|error| format!("the tarball is not one ocp would install: {error}"))?;
    let files = shown.files;
    let mut details = Details::default();
    if let Some(text) = files.get(PKG_INFO) {
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
    // Intake has checked that every component's spec is there, UTF-8 and within the size
    // kept here.
    for component in &archive.manifest.components {
        let spec = match files.get(component.spec.as_str()) {
            None => Err(format!("the tarball has no `{}`", component.spec)),
            Some(text) => parse_spec(text),
        };
        details.specs.insert(component.name.to_string(), spec);
    }
    Ok(details)
}

const PKG_INFO: &str = "PKG-INFO";

fn document(files: &BTreeMap<String, String>, names: &[&str]) -> Option<Document> {
    names.iter().find_map(|name| {
        files.get(*name).map(|text| Document {
            text: text.clone(),
            markdown: name.ends_with(".md") || name.ends_with(".markdown"),
        })
    })
}

/// The files a page shows, by path below the archive's top folder, as text (lossy UTF-8, at
/// most the file's limit). Everything else passes through unkept (intake still hashes it
/// against `ocp.json`).
#[derive(Default)]
struct Shown {
    files: BTreeMap<String, String>,
}

impl Shown {
    /// Whether a page shows the file at `path`, and how much of it to keep.
    fn limit(path: &RelativePath) -> Option<u64> {
        let relative = path.as_str();
        let document = !relative.contains('/')
            && ["README", "CHANGELOG", "CHANGES", "HISTORY"]
                .iter()
                .any(|stem| relative.starts_with(stem));
        if relative == PKG_INFO || document {
            return Some(KEEP_DOCUMENT_BYTES);
        }
        // Intake refuses a component's spec past this size and reads at most
        // `intake::MAX_SPEC_FILES` of them, so no more than that is ever kept.
        (path.file_name() == intake::manifest::SPEC_FILE).then_some(intake::MAX_SPEC_BYTES)
    }
}

impl Sink for Shown {
    fn directory(&mut self, _path: &RelativePath) -> Result<(), IntakeError> {
        Ok(())
    }

    fn file(
        &mut self,
        path: &RelativePath,
        _executable: bool,
        data: &mut dyn Read,
    ) -> Result<(), IntakeError> {
        let Some(limit) = Shown::limit(path) else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        data.take(limit)
            .read_to_end(&mut bytes)
            .map_err(|error| IntakeError::Archive(ArchiveError::Damaged(error)))?;
        self.files.insert(
            path.to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        );
        Ok(())
    }
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
        assert!(read(&b"not a tarball"[..], &entry).is_err());
        assert!(read(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0][..], &entry).is_err());
    }

    use crate::intake::tests::{sample_entry, sample_ocp};

    #[test]
    fn a_page_shows_the_readme_changelog_summary_and_specs_of_an_installable_tarball() {
        let (bytes, sha256) = sample_ocp(|sample| {
            sample.files[0].1 =
                b"Metadata-Version: 2.2\nName: demo-osiris\nVersion: 1.0.0\nSummary: A demo\nLicense: MIT\n\nbody\n"
                    .to_vec();
            sample
                .files
                .push(("CHANGELOG.md".into(), b"## 1.0.0\n".to_vec()));
            sample.files.push((
                "README-extra.txt".into(),
                vec![b'x'; KEEP_DOCUMENT_BYTES as usize + 10],
            ));
        });
        let details = read(bytes.as_slice(), &sample_entry(&sha256)).expect("details");
        assert_eq!(details.summary.as_deref(), Some("A demo"));
        assert_eq!(details.license.as_deref(), Some("MIT"));
        let readme = details.readme.expect("a README");
        assert_eq!((readme.text.as_str(), readme.markdown), ("# demo\n", true));
        assert_eq!(details.changelog.expect("a changelog").text, "## 1.0.0\n");
        let spec = details.specs["demo.extractor"].as_ref().expect("a spec");
        assert_eq!(spec["x-runtime"]["driver"], "demo_osiris.driver.Driver");
    }

    #[test]
    fn a_long_readme_is_kept_only_as_far_as_a_page_shows_it_and_says_it_was_cut() {
        let (bytes, sha256) = sample_ocp(|sample| {
            sample.files[1].1 = "word ".repeat(markdown::MAX_SOURCE_BYTES).into_bytes();
        });
        let readme = read(bytes.as_slice(), &sample_entry(&sha256))
            .expect("details")
            .readme
            .expect("a README");
        assert_eq!(readme.text.len() as u64, KEEP_DOCUMENT_BYTES);
        let html = markdown::render(&readme.text).to_string();
        assert!(html.contains("(cut: the file is longer"), "not cut");
    }

    #[test]
    fn a_tarball_install_would_refuse_shows_nothing_and_says_why() {
        let (bytes, sha256) = sample_ocp(|_| {});
        let entry = sample_entry(&sha256);
        // A file its `ocp.json` does not list, a spec that names another component, data
        // after the archive's end, and a tarball of another version than the entry's.
        let (unlisted, _) = sample_ocp(|sample| {
            sample.manifest.files = sample
                .files
                .iter()
                .map(|(path, bytes)| (path.clone(), Checksum::of_bytes(bytes).to_hex()))
                .collect();
            sample.fix_hashes = false;
            sample.files.push(("README.rst".into(), b"hidden".to_vec()));
        });
        let (renamed, _) = sample_ocp(|sample| {
            sample.files[4].1 = b"name: mysql.extractor\n".to_vec();
        });
        // A second gzip member after the archive, which another reader might unpack.
        let mut trailing = bytes.clone();
        let mut hidden = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut hidden, b"hidden").expect("gzip");
        trailing.extend(hidden.finish().expect("gzip"));
        let mut other_version = entry.clone();
        other_version.version = "2.0.0".into();
        for (tarball, entry, expected) in [
            (
                &unlisted,
                &entry,
                "`README.rst` is in the archive but not listed",
            ),
            (&trailing, &entry, "data follows the end of the tar archive"),
            (&renamed, &entry, "says `name: mysql.extractor`"),
            (&bytes, &other_version, "the entry says version `2.0.0`"),
        ] {
            let error = read(tarball.as_slice(), entry).expect_err(expected);
            assert!(
                error.starts_with("the tarball is not one ocp would install: ")
                    && error.contains(expected),
                "{expected}: {error}"
            );
        }
    }
}
