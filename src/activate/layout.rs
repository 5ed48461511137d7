//! What a stored package becomes in `site-packages`: its importable files, each component's
//! spec under `components/<name>/spec.yaml`, and the dist-info folder with `RECORD` (the
//! PEP 376/627 hashes pip checks), written into a transaction's staging folder. Also reads
//! the `RECORD` of what is installed. It moves nothing into the environment itself: that is
//! the transaction's job.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{ActivateError, Receipt, dist_info_name, io};
use crate::check::ENTRY_POINT_GROUP;
use crate::intake::CheckedManifest;
use crate::record::RecordRow;
use crate::store::StoredPackage;

/// What staging one package wrote below the staging folder.
#[derive(Debug, Clone)]
pub(super) struct Staged {
    /// The dist-info folder, moved into `site-packages` as a whole.
    pub dist_info: String,
    /// Every other file, relative to `site-packages`.
    pub files: Vec<String>,
}

/// Writes the installed form of `package` below `root` (paths as they will be relative to
/// `site-packages`), `RECORD` included. Only what the checked manifest says an install
/// places ([`CheckedManifest::installed_files`]) is written.
pub(super) fn stage(
    package: &StoredPackage,
    receipt: &Receipt,
    root: &Path,
) -> Result<Staged, ActivateError> {
    let manifest = &package.manifest;
    let files: Vec<(std::path::PathBuf, String)> = manifest
        .installed_files()
        .into_iter()
        .map(|(path, site)| (path.under(&package.dir), site))
        .collect();
    let dist_info = dist_info_name(manifest.name.as_str(), &manifest.version.to_string());
    let mut record = Vec::new();
    for (source, relative) in &files {
        record.push(place(source, &root.join(relative), relative)?);
    }
    let metadata = fs::read(package.dir.join("PKG-INFO"))
        .map_err(io("read", &package.dir.join("PKG-INFO")))?;
    let mut generated: Vec<(&str, Vec<u8>)> = vec![
        ("METADATA", metadata),
        ("INSTALLER", b"ocp\n".to_vec()),
        ("entry_points.txt", entry_points(manifest).into_bytes()),
        (
            "ocp_install.json",
            serde_json::to_vec_pretty(receipt).unwrap_or_default(),
        ),
    ];
    if receipt.requested {
        generated.push(("REQUESTED", Vec::new()));
    }
    for (file, bytes) in &generated {
        let relative = format!("{dist_info}/{file}");
        write_new(&root.join(&relative), bytes)?;
        record.push(RecordRow::of(&relative, bytes)?);
    }
    record.push(RecordRow::unhashed(&format!("{dist_info}/RECORD"))?);
    write_new(
        &root.join(&dist_info).join("RECORD"),
        &crate::record::to_bytes(&record),
    )?;
    Ok(Staged {
        dist_info,
        files: files.into_iter().map(|(_, relative)| relative).collect(),
    })
}

fn entry_points(manifest: &CheckedManifest) -> String {
    let mut text = format!("[{ENTRY_POINT_GROUP}]\n");
    for component in &manifest.components {
        text.push_str(&format!("{} = {}\n", component.name, component.entry_point));
    }
    text
}

/// The paths listed in a dist-info's RECORD, relative to site-packages, without those that
/// leave it (`..`, absolute).
pub(super) fn record_paths(dist_info: &Path) -> Result<Vec<String>, ActivateError> {
    crate::record::paths(dist_info).map_err(io("read", &dist_info.join("RECORD")))
}

/// Every path a dist-info's RECORD lists, as written (relative to site-packages, possibly
/// with `..` for scripts in `bin/`). A missing RECORD lists nothing.
pub(super) fn record_entries(dist_info: &Path) -> Result<Vec<String>, ActivateError> {
    crate::record::entries(dist_info).map_err(io("read", &dist_info.join("RECORD")))
}

/// A writer that hashes what passes through it, so a file is read once to copy and hash it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A new file at `target` with the contents of `source`, and its RECORD row.
fn place(source: &Path, target: &Path, relative: &str) -> Result<RecordRow, ActivateError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    // Copy rather than link: store files are read-only, and an installed file must be
    // writable by its owner like any other (editors, pip).
    let mut from = fs::File::open(source).map_err(io("read", source))?;
    let mode = from
        .metadata()
        .map(|m| crate::fsutil::mode_of(&m))
        .unwrap_or(0o644);
    let file = fs::File::create(target).map_err(io("create", target))?;
    crate::fsutil::set_mode(target, if mode & 0o111 != 0 { 0o755 } else { 0o644 })
        .map_err(io("set permissions of", target))?;
    let mut to = Hashing {
        inner: file,
        hasher: Sha256::new(),
        size: 0,
    };
    std::io::copy(&mut from, &mut to).map_err(io("copy", target))?;
    let digest =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(to.hasher.finalize().as_slice());
    Ok(RecordRow::with_digest(relative, &digest, to.size)?)
}

pub(super) fn write_new(target: &Path, bytes: &[u8]) -> Result<(), ActivateError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    fs::write(target, bytes).map_err(io("write", target))
}
