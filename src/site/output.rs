//! The output directory of a site, written incrementally: a page whose bytes did not change
//! is not written again (so its time stamp, and a static host's sync, stay put), a page that
//! changed is replaced by a rename (a reader never sees half a page), and a page from the
//! previous run that is no longer made is removed.
//!
//! `.ocp-site.json` records the files of the last run. ocp writes only into a directory that
//! is new, empty or holds that record, and removes only files the record lists, each checked
//! to be a plain relative path, so a wrong `--out` or a doctored record cannot delete
//! anything else. Pages are not flushed to disk one by one: a site can always be made again,
//! and thousands of fsyncs would cost more than the whole rendering.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::SiteError;

/// The record of the files a run wrote, at the root of the output directory.
pub const RECORD: &str = ".ocp-site.json";

#[derive(Serialize, Deserialize)]
struct Record {
    format_version: u32,
    generator: String,
    files: Vec<String>,
}

/// What writing the site did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files written (new or changed).
    pub written: usize,
    /// Files whose bytes were already there.
    pub unchanged: usize,
    /// Files of the previous run that are no longer part of the site.
    pub removed: usize,
}

/// Writes the files of one run into the output directory; safe to share between threads.
#[derive(Debug)]
pub struct SiteWriter {
    root: PathBuf,
    previous: BTreeSet<String>,
    files: Mutex<BTreeSet<String>>,
    written: AtomicUsize,
    unchanged: AtomicUsize,
}

impl SiteWriter {
    /// Opens `root` for a new run: creates it when missing, refuses a directory that holds
    /// anything but a site made by ocp.
    pub fn open(root: &Path) -> Result<SiteWriter, SiteError> {
        let previous = match fs::symlink_metadata(root) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(root).map_err(|source| SiteError::Write {
                    path: root.to_path_buf(),
                    source,
                })?;
                BTreeSet::new()
            }
            Err(source) => {
                return Err(SiteError::Write {
                    path: root.to_path_buf(),
                    source,
                });
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(SiteError::NotADirectory {
                    path: root.to_path_buf(),
                });
            }
            Ok(_) => previous_files(root)?,
        };
        Ok(SiteWriter {
            root: root.to_path_buf(),
            previous,
            files: Mutex::new(BTreeSet::new()),
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
        })
    }

    /// Writes `bytes` at `relative` (`components/a.b.html`) unless they are already there.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), SiteError> {
        let path = self
            .root
            .join(checked(relative).ok_or_else(|| SiteError::Render {
                page: relative.to_owned(),
                reason: "not a plain relative path".to_owned(),
            })?);
        let write_error = |source| SiteError::Write {
            path: path.clone(),
            source,
        };
        if let Ok(mut files) = self.files.lock() {
            files.insert(relative.to_owned());
        }
        if fs::read(&path).is_ok_and(|existing| existing == bytes) {
            self.unchanged.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let directory = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(directory).map_err(write_error)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".ocp-tmp-")
            .tempfile_in(directory)
            .map_err(write_error)?;
        temp.write_all(bytes).map_err(write_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o644))
                .map_err(write_error)?;
        }
        temp.persist(&path)
            .map_err(|error| write_error(error.error))?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Removes what the previous run made and this one did not, and records this run.
    pub fn finish(self) -> Result<WriteReport, SiteError> {
        let files = self
            .files
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut removed = 0;
        for stale in self.previous.difference(&files) {
            let Some(relative) = checked(stale) else {
                continue;
            };
            let path = self.root.join(relative);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(SiteError::Write { path, source }),
            }
            // Folders left empty go too; a folder that still holds something stays.
            let mut parent = path.parent();
            while let Some(folder) = parent.filter(|p| *p != self.root) {
                if fs::remove_dir(folder).is_err() {
                    break;
                }
                parent = folder.parent();
            }
        }
        let record = Record {
            format_version: 1,
            generator: concat!("ocp ", env!("CARGO_PKG_VERSION")).to_owned(),
            files: files.into_iter().collect(),
        };
        let mut text = serde_json::to_string_pretty(&record).unwrap_or_default();
        text.push('\n');
        let path = self.root.join(RECORD);
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|error| SiteError::Write {
            path,
            source: std::io::Error::other(format!("{error:#}")),
        })?;
        Ok(WriteReport {
            written: self.written.into_inner(),
            unchanged: self.unchanged.into_inner(),
            removed,
        })
    }
}

/// The files of the previous run, from the record; a directory that is empty has none.
fn previous_files(root: &Path) -> Result<BTreeSet<String>, SiteError> {
    let record_path = root.join(RECORD);
    let text = match fs::read_to_string(&record_path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let empty = fs::read_dir(root)
                .map_err(|source| SiteError::Write {
                    path: root.to_path_buf(),
                    source,
                })?
                .next()
                .is_none();
            return if empty {
                Ok(BTreeSet::new())
            } else {
                Err(SiteError::NotASite {
                    path: root.to_path_buf(),
                })
            };
        }
        Err(source) => {
            return Err(SiteError::Write {
                path: record_path,
                source,
            });
        }
    };
    let record: Record = serde_json::from_str(&text).map_err(|error| SiteError::BadRecord {
        path: record_path.clone(),
        reason: error.to_string(),
    })?;
    if record.format_version != 1 {
        return Err(SiteError::BadRecord {
            path: record_path,
            reason: format!("format version {} is not 1", record.format_version),
        });
    }
    Ok(record.files.into_iter().collect())
}

/// `relative` as a path below the root: plain names only, no `..`, no absolute path, not
/// the record itself.
fn checked(relative: &str) -> Option<PathBuf> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && relative != RECORD
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    plain.then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        assert!(checked("components/a.b.html").is_some());
        for bad in ["", "../x", "/etc/passwd", "a/../../b", "./a", RECORD] {
            assert!(checked(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn unchanged_pages_are_not_rewritten_and_stale_ones_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("site");
        let writer = SiteWriter::open(&out).expect("open");
        writer.write("a/one.html", b"1").expect("write");
        writer.write("a/two.html", b"2").expect("write");
        let report = writer.finish().expect("finish");
        assert_eq!(
            (report.written, report.unchanged, report.removed),
            (2, 0, 0)
        );

        let writer = SiteWriter::open(&out).expect("open again");
        writer.write("a/one.html", b"1").expect("write");
        writer.write("b/three.html", b"3").expect("write");
        let report = writer.finish().expect("finish");
        assert_eq!(
            (report.written, report.unchanged, report.removed),
            (1, 1, 1)
        );
        assert!(!out.join("a/two.html").exists());
        assert!(out.join("a/one.html").exists());
    }

    #[test]
    fn a_directory_that_is_not_a_site_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("precious.txt"), "keep").expect("write");
        assert!(matches!(
            SiteWriter::open(dir.path()),
            Err(SiteError::NotASite { .. })
        ));
        fs::write(dir.path().join(RECORD), "{not json").expect("write");
        assert!(matches!(
            SiteWriter::open(dir.path()),
            Err(SiteError::BadRecord { .. })
        ));
    }
}
