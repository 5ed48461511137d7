//! The plugin store: every installed package unpacked once, under
//! `OCP_HOME/store/v1/<name>/<version>-<sha256 prefix>/`, with read-only files. A package is
//! unpacked into a temporary folder and renamed into place under a file lock, so two ocp
//! processes at once, or one killed half way, never leave a half-written package. Unpacking
//! refuses what a hostile tarball could use to escape or exhaust the machine: absolute paths,
//! `..`, links that leave the package, hard links, device files, and archives past a size limit.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::build::Manifest;

/// What unpacking allows at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_file_bytes: u64,
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 512 << 20,
            max_file_bytes: 256 << 20,
            max_entries: 20_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("refusing to unpack `{entry}`: {reason}")]
    Unsafe { entry: String, reason: &'static str },
    #[error("the archive is larger than ocp unpacks ({limit})")]
    TooLarge { limit: String },
    #[error("the archive is not an OCP: {reason}")]
    NotAnOcp { reason: String },
    #[error("failed to unpack the archive: {0}")]
    Archive(#[source] std::io::Error),
    #[error("failed to write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The store rooted at `OCP_HOME/store/v1`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A package in the store.
#[derive(Debug, Clone)]
pub struct StoredPackage {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Store {
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a package version with this sha256 lives.
    pub fn package_dir(&self, name: &str, version: &str, sha256: &str) -> PathBuf {
        self.root
            .join(name)
            .join(format!("{version}-{}", &sha256[..sha256.len().min(16)]))
    }

    /// The package unpacked from `tarball` (already checked against its sha256 and signature),
    /// unpacking it first when the store does not have it yet.
    pub fn ensure(
        &self,
        name: &str,
        version: &str,
        sha256: &str,
        tarball: &Path,
    ) -> Result<StoredPackage, StoreError> {
        let target = self.package_dir(name, version, sha256);
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Write { path, source }
        };
        fs::create_dir_all(&self.root).map_err(write_error(&self.root))?;
        let lock_path = self.root.join(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(write_error(&lock_path))?;
        lock.lock().map_err(write_error(&lock_path))?;
        if !target.join("ocp.json").is_file() {
            let staging = tempfile::Builder::new()
                .prefix(".unpack-")
                .tempdir_in(&self.root)
                .map_err(write_error(&self.root))?;
            let file = File::open(tarball).map_err(write_error(tarball))?;
            unpack(file, staging.path(), Limits::default())?;
            let manifest = read_manifest(staging.path())?;
            if crate::model::normalize_name(&manifest.name) != name || manifest.version != version {
                return Err(StoreError::NotAnOcp {
                    reason: format!(
                        "it holds {} {}, not {name} {version}",
                        manifest.name, manifest.version
                    ),
                });
            }
            let parent = target.parent().unwrap_or(&self.root);
            fs::create_dir_all(parent).map_err(write_error(parent))?;
            if target.exists() {
                // An earlier run died after a rename it could not finish checking; start over.
                make_writable(&target);
                fs::remove_dir_all(&target).map_err(write_error(&target))?;
            }
            let staged = staging.keep();
            fs::rename(&staged, &target).map_err(write_error(&target))?;
        }
        let manifest = read_manifest(&target)?;
        Ok(StoredPackage {
            dir: target,
            manifest,
        })
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest, StoreError> {
    let text = fs::read_to_string(dir.join("ocp.json")).map_err(|_| StoreError::NotAnOcp {
        reason: "it has no ocp.json".to_owned(),
    })?;
    serde_json::from_str(&text).map_err(|error| StoreError::NotAnOcp {
        reason: format!("its ocp.json is invalid: {error}"),
    })
}

fn make_writable(dir: &Path) {
    for entry in walk(dir) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        let _ = crate::fsutil::set_mode(&entry, mode);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        if let Ok(entries) = fs::read_dir(&current) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() && !path.is_symlink() {
                    stack.push(path.clone());
                }
                out.push(path);
            }
        }
    }
    out
}

/// Unpacks a gzipped OCP tarball into `dest`, dropping its one top folder.
pub fn unpack(reader: impl Read, dest: &Path, limits: Limits) -> Result<(), StoreError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let mut total: u64 = 0;
    let mut top: Option<String> = None;
    let entries = archive.entries().map_err(StoreError::Archive)?;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(StoreError::Archive)?;
        if count >= limits.max_entries {
            return Err(StoreError::TooLarge {
                limit: format!("{} entries", limits.max_entries),
            });
        }
        let raw = entry.path().map_err(StoreError::Archive)?.into_owned();
        let shown = raw.display().to_string();
        let unsafe_entry = |reason| StoreError::Unsafe {
            entry: shown.clone(),
            reason,
        };
        let mut parts = Vec::new();
        for component in raw.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => return Err(unsafe_entry("its path contains `..`")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(unsafe_entry("its path is absolute"));
                }
            }
        }
        let Some(first) = parts.first().cloned() else {
            continue;
        };
        match &top {
            None => top = Some(first),
            Some(top) if *top != first => {
                return Err(unsafe_entry("an OCP has exactly one top folder"));
            }
            Some(_) => {}
        }
        let relative: PathBuf = parts[1..].iter().collect();
        let kind = entry.header().entry_type();
        if relative.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&relative);
        let parent = target.parent().unwrap_or(dest).to_path_buf();
        refuse_symlinked_parent(dest, &relative)
            .map_err(|_| unsafe_entry("it would be written through a link"))?;
        match kind {
            tar::EntryType::Directory => {
                fs::create_dir_all(&target).map_err(|source| StoreError::Write {
                    path: target.clone(),
                    source,
                })?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.header().size().map_err(StoreError::Archive)?;
                if size > limits.max_file_bytes {
                    return Err(StoreError::TooLarge {
                        limit: format!("{} MiB in one file", limits.max_file_bytes >> 20),
                    });
                }
                total = total.saturating_add(size);
                if total > limits.max_total_bytes {
                    return Err(StoreError::TooLarge {
                        limit: format!("{} MiB in all", limits.max_total_bytes >> 20),
                    });
                }
                fs::create_dir_all(&parent).map_err(|source| StoreError::Write {
                    path: parent.clone(),
                    source,
                })?;
                let mut file = File::create(&target).map_err(|source| StoreError::Write {
                    path: target.clone(),
                    source,
                })?;
                let written = std::io::copy(&mut (&mut entry).take(size), &mut file)
                    .map_err(StoreError::Archive)?;
                if written != size {
                    return Err(StoreError::Archive(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the archive ends inside a file",
                    )));
                }
                let executable = entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0);
                crate::fsutil::set_mode(&target, if executable { 0o555 } else { 0o444 }).map_err(
                    |source| StoreError::Write {
                        path: target.clone(),
                        source,
                    },
                )?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(StoreError::Archive)?
                    .ok_or_else(|| unsafe_entry("a link without a target"))?
                    .into_owned();
                if link.is_absolute() || !stays_inside(&relative, &link) {
                    return Err(unsafe_entry("it is a link that leaves the package"));
                }
                fs::create_dir_all(&parent).map_err(|source| StoreError::Write {
                    path: parent.clone(),
                    source,
                })?;
                crate::fsutil::symlink(&link, &target).map_err(|source| StoreError::Write {
                    path: target.clone(),
                    source,
                })?;
            }
            tar::EntryType::Link => {
                return Err(unsafe_entry("hard links are not allowed in an OCP"));
            }
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => {}
            _ => {
                return Err(unsafe_entry(
                    "device files, fifos and other special files are not allowed in an OCP",
                ));
            }
        }
    }
    if top.is_none() {
        return Err(StoreError::NotAnOcp {
            reason: "the archive is empty".to_owned(),
        });
    }
    Ok(())
}

/// True when `link`, relative to the folder of `entry`, stays inside the package root.
fn stays_inside(entry: &Path, link: &Path) -> bool {
    let mut depth: i64 = entry.components().count() as i64 - 1;
    for component in link.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Refuses to write a file whose parent folders pass through a symlink (made by an earlier
/// entry of the same archive), which could point anywhere.
fn refuse_symlinked_parent(dest: &Path, relative: &Path) -> Result<(), ()> {
    let mut current = dest.to_path_buf();
    let parents: Vec<_> = relative
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    for component in parents {
        current.push(component);
        if current.is_symlink() {
            return Err(());
        }
    }
    if dest.join(relative).is_symlink() {
        return Err(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, kind, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            // Write the raw name so hostile paths reach the unpacker unchanged.
            let name = header.as_old_mut();
            name.name[..path.len()].copy_from_slice(path.as_bytes());
            if let Some(link) = link {
                name.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            header.set_cksum();
            builder.append(&header, *data).expect("append");
        }
        builder.into_inner().expect("tar").finish().expect("gzip")
    }

    fn try_unpack(bytes: &[u8]) -> Result<tempfile::TempDir, StoreError> {
        let dir = tempfile::tempdir().expect("tempdir");
        unpack(bytes, dir.path(), Limits::default()).map(|()| dir)
    }

    #[test]
    fn unpacks_a_plain_archive_without_its_top_folder() {
        let bytes = archive(&[
            ("pkg-1.0/ocp.json", tar::EntryType::Regular, b"{}", None),
            (
                "pkg-1.0/src/a.py",
                tar::EntryType::Regular,
                b"x = 1\n",
                None,
            ),
        ]);
        let dir = try_unpack(&bytes).expect("unpacks");
        assert_eq!(
            fs::read_to_string(dir.path().join("src/a.py")).expect("read"),
            "x = 1\n"
        );
    }

    #[test]
    fn refuses_hostile_entries() {
        for (entries, expected) in [
            (
                vec![("pkg/../../evil", tar::EntryType::Regular, &b"x"[..], None)],
                "`..`",
            ),
            (
                vec![("/etc/evil", tar::EntryType::Regular, &b"x"[..], None)],
                "absolute",
            ),
            (
                vec![(
                    "pkg/link",
                    tar::EntryType::Symlink,
                    &b""[..],
                    Some("../../etc/passwd"),
                )],
                "leaves the package",
            ),
            (
                vec![(
                    "pkg/link",
                    tar::EntryType::Symlink,
                    &b""[..],
                    Some("/etc/passwd"),
                )],
                "leaves the package",
            ),
            (
                vec![("pkg/hard", tar::EntryType::Link, &b""[..], Some("pkg/a"))],
                "hard links",
            ),
            (
                vec![("pkg/dev", tar::EntryType::Char, &b""[..], None)],
                "device files",
            ),
            (
                vec![
                    ("pkg/a", tar::EntryType::Regular, &b"x"[..], None),
                    ("other/b", tar::EntryType::Regular, &b"x"[..], None),
                ],
                "one top folder",
            ),
        ] {
            let error = try_unpack(&archive(&entries))
                .expect_err(expected)
                .to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn refuses_writing_through_a_link_made_by_the_archive() {
        let bytes = archive(&[
            ("pkg/dir", tar::EntryType::Symlink, b"", Some("sub")),
            ("pkg/dir/x", tar::EntryType::Regular, b"x", None),
        ]);
        let error = try_unpack(&bytes).expect_err("through a link").to_string();
        assert!(error.contains("through a link"), "{error}");
    }

    #[test]
    fn refuses_archives_past_the_size_limit() {
        let big = vec![0u8; 4096];
        let bytes = archive(&[
            ("pkg/a", tar::EntryType::Regular, &big, None),
            ("pkg/b", tar::EntryType::Regular, &big, None),
        ]);
        let dir = tempfile::tempdir().expect("tempdir");
        let limits = Limits {
            max_total_bytes: 6000,
            ..Limits::default()
        };
        let error = unpack(bytes.as_slice(), dir.path(), limits)
            .expect_err("too large")
            .to_string();
        assert!(error.contains("larger than ocp unpacks"), "{error}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(try_unpack(b"not gzip at all").is_err());
        let mut bytes = archive(&[("pkg/a", tar::EntryType::Regular, &[7u8; 2000], None)]);
        bytes.truncate(bytes.len() / 2);
        assert!(try_unpack(&bytes).is_err());
    }
}
