//! The file checks of `ocp audit`: RECORD hashes, unclaimed files in an OCP's folders, and
//! `.pth` files added after install.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{Finding, InstalledOcp, Kind};
use crate::record::{self, InstalledRow};

/// How deep the walk of an OCP's folder goes, and how many entries it looks at, before it
/// stops: real packages are a few levels deep with tens of files.
const MAX_DEPTH: usize = 32;
const MAX_ENTRIES: usize = 1_000_000;

/// One OCP's RECORD, checked: the paths it claims and the rows whose hashes are verified.
pub(super) struct PackageRecord<'a> {
    pub ocp: &'a InstalledOcp,
    /// Every path it lists inside site-packages, RECORD itself included.
    pub paths: Vec<String>,
    /// The rows with a hash.
    pub hashed: Vec<InstalledRow>,
}

/// Whether `path` is a plain relative path inside site-packages: no `..`, `.`, empty part,
/// or leading `/`, and no backslash.
fn inside(path: &str) -> bool {
    !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Reads each OCP's RECORD; a missing or unreadable RECORD, a path outside site-packages and
/// a row without a hash are findings.
pub(super) fn read_records<'a>(
    site_packages: &Path,
    ocps: &'a [InstalledOcp],
    findings: &mut Vec<Finding>,
) -> Vec<PackageRecord<'a>> {
    let mut out = Vec::new();
    for ocp in ocps {
        let own = ocp
            .dist_info
            .strip_prefix(site_packages)
            .map(|dir| format!("{}/RECORD", dir.to_string_lossy()))
            .unwrap_or_default();
        let rows = match record::rows(&ocp.dist_info) {
            Ok(rows) => rows,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                findings.push(Finding::about(
                    ocp,
                    Kind::Record,
                    "its dist-info has no RECORD, so none of its files can be checked",
                ));
                continue;
            }
            Err(error) => {
                findings.push(Finding::about(
                    ocp,
                    Kind::Record,
                    format!("its RECORD cannot be read: {error}"),
                ));
                continue;
            }
        };
        let mut record = PackageRecord {
            ocp,
            paths: Vec::new(),
            hashed: Vec::new(),
        };
        for row in rows {
            if !inside(&row.path) {
                findings.push(
                    Finding::about(
                        ocp,
                        Kind::Record,
                        "its RECORD lists a path outside site-packages, which ocp never installs",
                    )
                    .at(row.path.escape_debug().to_string()),
                );
                continue;
            }
            record.paths.push(row.path.clone());
            if row.sha256().is_some() {
                record.hashed.push(row);
            } else if row.path != own {
                findings.push(
                    Finding::about(
                        ocp,
                        Kind::Record,
                        "its RECORD lists this file without a sha256, so a change to it would go unnoticed",
                    )
                    .at(row.path),
                );
            }
        }
        out.push(record);
    }
    out
}

/// Checks every hashed row against the file, in parallel.
pub(super) fn verify_hashes(site_packages: &Path, records: &[PackageRecord<'_>]) -> Vec<Finding> {
    let jobs: Vec<(&InstalledOcp, &InstalledRow)> = records
        .iter()
        .flat_map(|record| record.hashed.iter().map(move |row| (record.ocp, row)))
        .collect();
    jobs.par_iter()
        .filter_map(|(ocp, row)| {
            verify(site_packages, row)
                .map(|(kind, message)| Finding::about(ocp, kind, message).at(row.path.clone()))
        })
        .collect()
}

/// What is wrong with the file a row lists, if anything.
fn verify(site_packages: &Path, row: &InstalledRow) -> Option<(Kind, String)> {
    let path = site_packages.join(&row.path);
    let metadata = match std::fs::symlink_metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Some((
                Kind::Missing,
                "the file its RECORD lists is gone".to_owned(),
            ));
        }
        Err(error) => return Some((Kind::Modified, format!("cannot be read: {error}"))),
    };
    if metadata.file_type().is_symlink() {
        return Some((
            Kind::Modified,
            "is a symbolic link now, not the file that was installed".to_owned(),
        ));
    }
    if !metadata.is_file() {
        return Some((Kind::Modified, "is not a file any more".to_owned()));
    }
    if let Some(size) = row.size
        && size != metadata.len()
    {
        return Some((
            Kind::Modified,
            format!(
                "has {} bytes, but its RECORD says {size}: it was changed after install",
                metadata.len()
            ),
        ));
    }
    let digest = match hash(&path) {
        Ok(digest) => digest,
        Err(error) => return Some((Kind::Modified, format!("cannot be read: {error}"))),
    };
    (Some(digest) != row.sha256()).then(|| {
        (
            Kind::Modified,
            "its sha256 differs from the one its RECORD lists: it was changed after install"
                .to_owned(),
        )
    })
}

fn hash(path: &Path) -> io::Result<[u8; 32]> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().into())
}

/// The paths RECORDs claim: the OCPs' at once, every other distribution's when first needed.
pub(super) struct Claims<'a> {
    ocps: HashSet<String>,
    dist_infos: &'a [PathBuf],
    others: Option<HashSet<String>>,
}

impl<'a> Claims<'a> {
    pub(super) fn new(records: &[PackageRecord<'_>], dist_infos: &'a [PathBuf]) -> Self {
        Claims {
            ocps: records
                .iter()
                .flat_map(|record| record.paths.iter().cloned())
                .collect(),
            dist_infos,
            others: None,
        }
    }

    pub(super) fn contains(&mut self, path: &str) -> bool {
        if self.ocps.contains(path) {
            return true;
        }
        let dist_infos = self.dist_infos;
        self.others
            .get_or_insert_with(|| {
                dist_infos
                    .iter()
                    .flat_map(|dist_info| record::entries(dist_info).unwrap_or_default())
                    .collect()
            })
            .contains(path)
    }
}

/// The folders an OCP installed into: its dist-info, its top-level import packages, and each
/// `components/<name>` folder.
fn roots(site_packages: &Path, record: &PackageRecord<'_>) -> Vec<String> {
    let mut roots: Vec<String> = Vec::new();
    for path in &record.paths {
        let mut parts = path.split('/');
        let first = parts.next().unwrap_or_default();
        let root = match (first, parts.next()) {
            ("components", Some(second)) => format!("components/{second}"),
            (_, None) => continue,
            (first, Some(_)) => first.to_owned(),
        };
        if !roots.contains(&root) && site_packages.join(&root).is_dir() {
            roots.push(root);
        }
    }
    roots
}

/// Files inside the OCPs' folders that no RECORD claims.
pub(super) fn unclaimed(
    site_packages: &Path,
    records: &[PackageRecord<'_>],
    claims: &mut Claims<'_>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut walked: HashSet<String> = HashSet::new();
    for record in records {
        for root in roots(site_packages, record) {
            if !walked.insert(root.clone()) {
                continue;
            }
            let (files, complete) = walk(site_packages, &root);
            if !complete {
                findings.push(
                    Finding::about(
                        record.ocp,
                        Kind::Unclaimed,
                        format!(
                            "holds more than {MAX_ENTRIES} entries or nests deeper than {MAX_DEPTH} folders; the rest was not checked"
                        ),
                    )
                    .at(root.clone()),
                );
            }
            for file in files {
                if claims.contains(&file) {
                    continue;
                }
                if let Some(message) = super::pyc::unclaimed_reason(site_packages, &file, claims) {
                    findings.push(Finding::about(record.ocp, Kind::Unclaimed, message).at(file));
                }
            }
        }
    }
    findings
}

/// Every file and symbolic link below `root` (relative to site-packages), without following
/// links, and whether the walk saw everything.
fn walk(site_packages: &Path, root: &str) -> (Vec<String>, bool) {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_owned(), 0usize)];
    let mut seen = 0usize;
    let mut complete = true;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(site_packages.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return (files, false);
            }
            let relative = format!("{dir}/{}", entry.file_name().to_string_lossy());
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => {
                    if depth + 1 >= MAX_DEPTH {
                        complete = false;
                    } else {
                        stack.push((relative, depth + 1));
                    }
                }
                _ => files.push(relative),
            }
        }
    }
    files.sort();
    (files, complete)
}

/// `.pth` files in site-packages that no RECORD claims and that are newer than the first
/// package ocp installed here.
pub(super) fn added_pth(
    site_packages: &Path,
    ocps: &[InstalledOcp],
    claims: &mut Claims<'_>,
) -> Vec<Finding> {
    let Some(baseline) = ocps
        .iter()
        .filter_map(|ocp| {
            std::fs::metadata(ocp.dist_info.join("ocp_install.json"))
                .and_then(|m| m.modified())
                .ok()
        })
        .min()
    else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(site_packages) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for entry in entries.flatten().take(MAX_ENTRIES) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".pth") || claims.contains(&name) {
            continue;
        }
        let newer = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified > baseline);
        if newer {
            findings.push(Finding {
                kind: Kind::Pth,
                package: None,
                version: None,
                path: Some(name),
                message: "a `.pth` file (Python runs its `import` lines at every start) that no RECORD lists, added after ocp installed packages here".to_owned(),
            });
        }
    }
    findings.sort_by(|a, b| a.path.cmp(&b.path));
    findings
}
