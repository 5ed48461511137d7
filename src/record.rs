//! RECORD, the list of a distribution's installed files in its dist-info folder (the wheel
//! specification): CSV rows `path,sha256=<urlsafe base64, unpadded>,size`, written and read
//! by the `csv` crate's rules, so a path with a comma or a quote is quoted and can never
//! split a row. Paths with a control character are refused outright: no reader, not even a
//! careless one, can then take one path for two rows. pip reads the same file to uninstall.

use std::io;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

/// Why a RECORD row could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{shown}` cannot be listed in RECORD: it holds a control character")]
pub struct RecordError {
    pub shown: String,
}

/// One row of RECORD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    path: String,
    hash: String,
    size: String,
}

impl RecordRow {
    /// The row of a file at `path` (relative to site-packages) with these contents.
    pub fn of(path: &str, bytes: &[u8]) -> Result<RecordRow, RecordError> {
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        RecordRow::with_digest(path, &digest, bytes.len() as u64)
    }

    /// The row of a file whose sha256 (urlsafe base64, unpadded) and size are already known,
    /// for files hashed while they were copied.
    pub fn with_digest(path: &str, digest: &str, size: u64) -> Result<RecordRow, RecordError> {
        check(path)?;
        Ok(RecordRow {
            path: path.to_owned(),
            hash: format!("sha256={digest}"),
            size: size.to_string(),
        })
    }

    /// A row without hash or size: RECORD's own row.
    pub fn unhashed(path: &str) -> Result<RecordRow, RecordError> {
        check(path)?;
        Ok(RecordRow {
            path: path.to_owned(),
            hash: String::new(),
            size: String::new(),
        })
    }
}

fn check(path: &str) -> Result<(), RecordError> {
    if path.chars().any(char::is_control) {
        return Err(RecordError {
            shown: path.escape_debug().to_string(),
        });
    }
    Ok(())
}

/// RECORD's bytes for these rows.
pub fn to_bytes(rows: &[RecordRow]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for row in rows {
        // Writing to memory cannot fail.
        let _ = writer.write_record([&row.path, &row.hash, &row.size]);
    }
    writer.into_inner().unwrap_or_default()
}

/// The paths a dist-info's RECORD lists, relative to site-packages; paths that leave
/// site-packages (absolute, or with `..`, as pip records scripts) or hold control characters
/// are left out. A missing RECORD lists nothing.
pub fn paths(dist_info: &Path) -> io::Result<Vec<String>> {
    Ok(entries(dist_info)?
        .into_iter()
        .filter(|path| !path.starts_with('/') && !path.split('/').any(|part| part == ".."))
        .collect())
}

/// Every path a dist-info's RECORD lists, as written: relative to site-packages, possibly
/// leaving it with `..` (scripts in `bin/`, as pip and uv record them). Rows that are not
/// UTF-8, are empty or hold control characters are left out. A missing RECORD lists nothing.
pub fn entries(dist_info: &Path) -> io::Result<Vec<String>> {
    let bytes = match std::fs::read(dist_info.join("RECORD")) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut out = Vec::new();
    for row in reader.byte_records() {
        let Ok(row) = row else { continue };
        let Some(path) = row.get(0).and_then(|p| std::str::from_utf8(p).ok()) else {
            continue;
        };
        if !path.is_empty() && !path.chars().any(char::is_control) {
            out.push(path.to_owned());
        }
    }
    Ok(out)
}

/// One row of an installed RECORD, as read back: the path as written (relative to
/// site-packages), and the hash and size when the row has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRow {
    pub path: String,
    /// `sha256=<urlsafe base64, unpadded>` as written; `None` for an empty field.
    pub hash: Option<String>,
    pub size: Option<u64>,
}

impl InstalledRow {
    /// The sha256 digest this row records, decoded; `None` when it has none, names another
    /// algorithm, or is not valid base64.
    pub fn sha256(&self) -> Option<[u8; 32]> {
        let encoded = self.hash.as_deref()?.strip_prefix("sha256=")?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .ok()?;
        bytes.try_into().ok()
    }
}

/// The most rows ocp reads from one RECORD; an OCP has tens of files, the largest wheels
/// tens of thousands.
pub const MAX_ROWS: usize = 1_000_000;

/// Every row of a dist-info's RECORD with its hash and size, as written (paths may leave
/// site-packages with `..`). Rows that are not UTF-8, are empty or hold control characters
/// are left out; more than [`MAX_ROWS`] rows are an error. A missing RECORD is `NotFound`.
pub fn rows(dist_info: &Path) -> io::Result<Vec<InstalledRow>> {
    let file = std::fs::File::open(dist_info.join("RECORD"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(io::BufReader::new(file));
    let mut out = Vec::new();
    for row in reader.byte_records() {
        let Ok(row) = row else { continue };
        let field = |index: usize| {
            row.get(index)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .map(str::trim)
                .filter(|text| !text.is_empty())
        };
        let Some(path) = field(0).filter(|path| !path.chars().any(char::is_control)) else {
            continue;
        };
        if out.len() == MAX_ROWS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("RECORD has more than {MAX_ROWS} rows"),
            ));
        }
        out.push(InstalledRow {
            path: path.to_owned(),
            hash: field(1).map(str::to_owned),
            size: field(2).and_then(|size| size.parse().ok()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_use_urlsafe_unpadded_sha256_and_csv_quoting() {
        let rows = [
            RecordRow::of("a/b.py", b"").expect("row"),
            RecordRow::of("a/x,\"y\".txt", b"x").expect("row"),
            RecordRow::unhashed("a-1.0.dist-info/RECORD").expect("row"),
        ];
        let text = String::from_utf8(to_bytes(&rows)).expect("utf-8");
        assert_eq!(
            text,
            "a/b.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\"a/x,\"\"y\"\".txt\",sha256=LXEWQrcmsEQBYnyp-6wy9chTD7GQPMTbAiWHF5IaSIE,1\na-1.0.dist-info/RECORD,,\n"
        );
    }

    #[test]
    fn control_characters_are_refused() {
        let error = RecordRow::of("x\n../pip/__init__.py,,", b"").expect_err("newline");
        assert!(error.to_string().contains("control character"));
    }

    #[test]
    fn reading_follows_csv_quoting_and_skips_paths_outside() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("RECORD"),
            "\"a,b.py\",sha256=x,1\n\"multi\nline\",,\n../../bin/tool,,\n/abs,,\nok.py,,\n",
        )
        .expect("write");
        assert_eq!(
            paths(dir.path()).expect("read"),
            vec!["a,b.py".to_owned(), "ok.py".to_owned()]
        );
        assert!(paths(&dir.path().join("missing")).expect("read").is_empty());
    }

    #[test]
    fn rows_keep_hashes_and_sizes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = [
            RecordRow::of("a/b.py", b"x").expect("row"),
            RecordRow::unhashed("a-1.0.dist-info/RECORD").expect("row"),
        ];
        std::fs::write(dir.path().join("RECORD"), to_bytes(&written)).expect("write");
        let read = rows(dir.path()).expect("read");
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].size, Some(1));
        let digest: [u8; 32] = Sha256::digest(b"x").into();
        assert_eq!(read[0].sha256(), Some(digest));
        assert_eq!(read[1].hash, None);
        assert_eq!(read[1].sha256(), None);
        assert_eq!(
            rows(&dir.path().join("missing"))
                .expect_err("missing")
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
