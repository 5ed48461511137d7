//! What a stored package becomes in `site-packages`: its importable files, each component's
//! spec under `components/<name>/spec.yaml`, and the dist-info folder with `RECORD` (the
//! PEP 376/627 hashes pip checks), written into a transaction's staging folder. Also reads
//! the `RECORD` of what is installed. It moves nothing into the environment itself: that is
//! the transaction's job.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{ActivateError, Receipt, dist_info_name, io};
use crate::build::Manifest;
use crate::check::ENTRY_POINT_GROUP;
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
/// `site-packages`), `RECORD` included.
pub(super) fn stage(
    package: &StoredPackage,
    receipt: &Receipt,
    root: &Path,
) -> Result<Staged, ActivateError> {
    let manifest = &package.manifest;
    let mut files = code_files(&package.dir, manifest)?;
    for component in &manifest.components {
        files.push((
            package.dir.join(&component.spec),
            format!("components/{}/spec.yaml", component.name),
        ));
    }
    let dist_info = dist_info_name(&manifest.name, &manifest.version);
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
        record.push(record_line(&relative, bytes));
    }
    record.push(format!("{dist_info}/RECORD,,"));
    write_new(
        &root.join(&dist_info).join("RECORD"),
        (record.join("\n") + "\n").as_bytes(),
    )?;
    Ok(Staged {
        dist_info,
        files: files.into_iter().map(|(_, relative)| relative).collect(),
    })
}

fn entry_points(manifest: &Manifest) -> String {
    let mut text = format!("[{ENTRY_POINT_GROUP}]\n");
    for component in &manifest.components {
        text.push_str(&format!("{} = {}\n", component.name, component.entry_point));
    }
    text
}

/// The paths listed in a dist-info's RECORD, relative to site-packages, without those that
/// leave it (`..`, absolute).
pub(super) fn record_paths(dist_info: &Path) -> Result<Vec<String>, ActivateError> {
    Ok(record_entries(dist_info)?
        .into_iter()
        .filter(|path| !path.starts_with('/') && !path.split('/').any(|p| p == ".."))
        .collect())
}

/// Every path a dist-info's RECORD lists, as written (relative to site-packages, possibly
/// with `..` for scripts in `bin/`). A missing RECORD lists nothing.
pub(super) fn record_entries(dist_info: &Path) -> Result<Vec<String>, ActivateError> {
    let record = dist_info.join("RECORD");
    let text = match fs::read_to_string(&record) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ActivateError::Io {
                action: "read",
                path: record,
                source,
            });
        }
    };
    Ok(text
        .lines()
        .filter_map(|line| {
            // Paths with commas are quoted in RECORD's CSV.
            let path = if let Some(rest) = line.strip_prefix('"') {
                rest.split('"').next()?
            } else {
                line.split(',').next()?
            };
            (!path.is_empty()).then(|| path.to_owned())
        })
        .collect())
}

pub(super) fn record_line(relative: &str, bytes: &[u8]) -> String {
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
    record_text(relative, &digest, bytes.len() as u64)
}

fn record_text(relative: &str, digest: &str, size: u64) -> String {
    let path = if relative.contains(',') {
        format!("\"{relative}\"")
    } else {
        relative.to_owned()
    };
    format!("{path},sha256={digest},{size}")
}

/// The importable files of a stored package: (source path, path relative to site-packages).
fn code_files(dir: &Path, manifest: &Manifest) -> Result<Vec<(PathBuf, String)>, ActivateError> {
    let roots: Vec<PathBuf> = if dir.join("src").is_dir() {
        vec![dir.join("src")]
    } else {
        vec![dir.to_path_buf()]
    };
    let tops: BTreeSet<String> = manifest
        .components
        .iter()
        .filter_map(|c| c.entry_point.split([':', '.']).next().map(str::to_owned))
        .collect();
    let mut out = Vec::new();
    for root in roots {
        let mut stack = vec![root.clone()];
        while let Some(current) = stack.pop() {
            for entry in fs::read_dir(&current)
                .map_err(io("read", &current))?
                .flatten()
            {
                let path = entry.path();
                let Ok(relative) = path.strip_prefix(&root) else {
                    continue;
                };
                let relative = relative.to_string_lossy().replace('\\', "/");
                let top = relative
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(".py");
                if root == dir && !tops.contains(top) {
                    continue; // flat layout: only the modules the entry points name
                }
                if relative.contains("__pycache__")
                    || relative.ends_with(".pyc")
                    || relative.ends_with(".egg-info")
                {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push((path, relative));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(ActivateError::NoCode);
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
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

/// A new file at `target` with the contents of `source`, and its RECORD line.
fn place(source: &Path, target: &Path, relative: &str) -> Result<String, ActivateError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    // Copy rather than link: store files are read-only, and an installed file must be
    // writable by its owner like any other (editors, pip).
    let mut from = fs::File::open(source).map_err(io("read", source))?;
    let mode = from
        .metadata()
        .map(|m| m.permissions().mode())
        .unwrap_or(0o644);
    let file = fs::File::create(target).map_err(io("create", target))?;
    file.set_permissions(fs::Permissions::from_mode(if mode & 0o111 != 0 {
        0o755
    } else {
        0o644
    }))
    .map_err(io("set permissions of", target))?;
    let mut to = Hashing {
        inner: file,
        hasher: Sha256::new(),
        size: 0,
    };
    std::io::copy(&mut from, &mut to).map_err(io("copy", target))?;
    let digest =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(to.hasher.finalize().as_slice());
    Ok(record_text(relative, &digest, to.size))
}

pub(super) fn write_new(target: &Path, bytes: &[u8]) -> Result<(), ActivateError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    fs::write(target, bytes).map_err(io("write", target))
}
