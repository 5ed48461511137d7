//! The manifest a checkpoint signs: the sha256 of every file ocp reads from an index
//! (`config.json` and everything below `packages/`, `owners/` and `components/`), one line
//! per file in the format of `sha256sum` (so `sha256sum -c checkpoint/manifest` checks a
//! checkout), sorted by path:
//!
//! ```text
//! 4b1c…e0  components/sh/op/shopify.extractor
//! 9f0a…12  config.json
//! ```
//!
//! A reader looks a file up by path (a binary search over the parsed lines) and refuses bytes
//! whose sha256 differs: so a file from another moment than the checkpoint (mix-and-match) is
//! caught, and trust rests on sha256 rather than on git's SHA-1. Parsing is strict and
//! bounded: every line well formed, paths of plain names, strictly sorted, no duplicates.

use crate::model::Checksum;

/// The largest manifest ocp reads: about a million files.
pub const MAX_MANIFEST_BYTES: u64 = 128 * 1024 * 1024;

/// The folders whose files the manifest lists, besides `config.json`.
pub const COVERED_FOLDERS: [&str; 3] = ["packages", "owners", "components"];

/// Whether the manifest lists `path`: `config.json` and files below the covered folders.
pub fn covers(path: &str) -> bool {
    path == "config.json"
        || COVERED_FOLDERS.iter().any(|folder| {
            path.strip_prefix(folder)
                .is_some_and(|r| r.starts_with('/'))
        })
}

/// A line of the manifest that is not `<64 hex>  <path>`, or out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ManifestError {
    pub line: usize,
    pub reason: String,
}

/// A parsed manifest: its text and where each line's path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    text: String,
    /// (start of the line, end of the line without its newline), in path order.
    lines: Vec<(usize, usize)>,
}

/// The length of the hash and the two spaces before a path.
const PATH_OFFSET: usize = 64 + 2;

impl Manifest {
    /// Parses and checks a manifest's text.
    pub fn parse(text: String) -> Result<Manifest, ManifestError> {
        let mut lines = Vec::new();
        let mut start = 0;
        let mut previous: Option<&str> = None;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let number = number + 1;
            let error = |reason: String| ManifestError {
                line: number,
                reason,
            };
            let Some(content) = line.strip_suffix('\n') else {
                return Err(error(
                    "the last line does not end with a newline".to_owned(),
                ));
            };
            let hash = content.get(..64).unwrap_or_default();
            if hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(error(
                    "it does not start with 64 lowercase hex digits".to_owned(),
                ));
            }
            let path = content
                .get(64..)
                .and_then(|rest| rest.strip_prefix("  "))
                .ok_or_else(|| error("the hash is not followed by two spaces".to_owned()))?;
            check_path(path).map_err(error)?;
            if let Some(previous) = previous
                && previous >= path
            {
                return Err(error(format!(
                    "`{path}` is not after `{previous}`: the lines must be sorted by path, each path once"
                )));
            }
            previous = Some(path);
            lines.push((start, start + content.len()));
            start += line.len();
        }
        Ok(Manifest { text, lines })
    }

    /// Builds the manifest of `files` (path, contents), which must be the covered files.
    pub fn build<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Manifest {
        let mut rows: Vec<(String, String)> = files
            .into_iter()
            .map(|(path, bytes)| (path.to_owned(), Checksum::of_bytes(bytes).to_hex()))
            .collect();
        Self::from_hashes(&mut rows)
    }

    /// Builds the manifest from (path, sha256 hex) rows.
    pub fn from_hashes(rows: &mut [(String, String)]) -> Manifest {
        rows.sort();
        let mut text = String::new();
        let mut lines = Vec::with_capacity(rows.len());
        for (path, hash) in rows.iter() {
            let start = text.len();
            text.push_str(hash);
            text.push_str("  ");
            text.push_str(path);
            lines.push((start, text.len()));
            text.push('\n');
        }
        Manifest { text, lines }
    }

    /// The manifest's text, as it is signed and served.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its sha256, which the checkpoint states.
    pub fn digest(&self) -> Checksum {
        Checksum::of_bytes(self.text.as_bytes())
    }

    /// How many files it lists.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn path_at(&self, position: usize) -> &str {
        let (start, end) = self.lines[position];
        &self.text[start + PATH_OFFSET..end]
    }

    fn hash_at(&self, position: usize) -> &str {
        let (start, _) = self.lines[position];
        &self.text[start..start + 64]
    }

    /// The sha256 (hex) the manifest lists for `path`, `None` when it lists no such file.
    pub fn hash_of(&self, path: &str) -> Option<&str> {
        let mut low = 0;
        let mut high = self.lines.len();
        while low < high {
            let middle = low + (high - low) / 2;
            match self.path_at(middle).cmp(path) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(self.hash_at(middle)),
            }
        }
        None
    }

    /// Every listed path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        (0..self.lines.len()).map(|position| self.path_at(position))
    }

    /// Every (path, sha256 hex), sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        (0..self.lines.len()).map(|position| (self.path_at(position), self.hash_at(position)))
    }
}

/// A path of plain names: `[A-Za-z0-9._-]` parts separated by `/`, none empty, `.` or `..`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > 1024 {
        return Err("the path is empty or longer than 1024 bytes".to_owned());
    }
    for part in path.split('/') {
        let plain = !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !plain {
            return Err(format!(
                "`{}` is not a path of plain names",
                path.escape_debug()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_manifest_parses_back_and_finds_every_file() {
        let built = Manifest::build([
            ("packages/sh/op/shopify-osiris", b"{}\n".as_slice()),
            ("config.json", b"{\"format_version\":2}\n".as_slice()),
            ("owners/sh/op/shopify-osiris", b"".as_slice()),
        ]);
        let parsed = Manifest::parse(built.text().to_owned()).expect("parses");
        assert_eq!(parsed, built);
        assert_eq!(parsed.len(), 3);
        assert_eq!(
            parsed.hash_of("packages/sh/op/shopify-osiris"),
            Some(Checksum::of_bytes(b"{}\n").to_hex().as_str())
        );
        assert_eq!(parsed.hash_of("packages/sh/op/other-osiris"), None);
        assert_eq!(parsed.hash_of(""), None);
        assert_eq!(
            parsed.paths().collect::<Vec<_>>(),
            vec![
                "config.json",
                "owners/sh/op/shopify-osiris",
                "packages/sh/op/shopify-osiris"
            ]
        );
    }

    #[test]
    fn malformed_unsorted_and_escaping_lines_are_refused() {
        let hash = "a".repeat(64);
        for (text, reason) in [
            (format!("{hash}  b\n{hash}  a\n"), "sorted"),
            (format!("{hash}  a\n{hash}  a\n"), "sorted"),
            (format!("{hash}  ../etc/passwd\n"), "plain names"),
            (format!("{hash}  a//b\n"), "plain names"),
            (format!("{hash} a\n"), "two spaces"),
            (format!("{}  a\n", "A".repeat(64)), "hex"),
            (format!("{hash}  a"), "newline"),
            (format!("{hash}  a b\n"), "plain names"),
        ] {
            let error = Manifest::parse(text.clone()).expect_err(&text);
            assert!(error.reason.contains(reason), "{text:?}: {error}");
        }
        assert!(Manifest::parse(String::new()).expect("empty").is_empty());
    }

    #[test]
    fn only_the_files_ocp_reads_are_covered() {
        assert!(covers("config.json"));
        assert!(covers("packages/sh/op/shopify-osiris"));
        assert!(covers("components/sh/op/shopify.extractor"));
        assert!(!covers("packagesx/a"));
        assert!(!covers("tarballs/sh/op/shopify_osiris-1.0.0.tar.gz"));
        assert!(!covers("checkpoint/manifest"));
        assert!(!covers("README.md"));
    }
}
