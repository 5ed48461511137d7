//! The plugin store: every installed package unpacked once, under
//! `OCP_HOME/store/v1/<name>/<version>-<sha256 prefix>/`, with read-only files. A package is
//! unpacked into a temporary `.unpack-*` folder through [`crate::intake`] (the bounded
//! reader, the manifest, file and PKG-INFO checks) and checked against its index entry
//! before it is renamed into place, so what the store holds is always a whole package that
//! agrees with the entry it was installed from.
//!
//! Everything happens under a file lock (`store/v1/.lock`), so two ocp processes at once
//! never see a half-written package. A process killed half way leaves at most a `.unpack-*`
//! or `.remove-*` folder; since nobody else works in the store while the lock is held, the
//! next process to take the lock removes them.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::index::format::IndexEntry;
use crate::intake::{self, CheckedManifest, IntakeError, Limits, Sink};
use crate::model::{Checksum, PackageName, PackageVersion, RelativePath};

/// Prefixes of the store's temporary folders.
const UNPACK_PREFIX: &str = ".unpack-";
const REMOVE_PREFIX: &str = ".remove-";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the archive was refused: {0}")]
    Refused(#[source] IntakeError),
    #[error("the index entry has an invalid {field}: `{value}`")]
    InvalidEntry { field: &'static str, value: String },
    #[error("failed to write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<IntakeError> for StoreError {
    fn from(error: IntakeError) -> Self {
        StoreError::Refused(error)
    }
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
    pub manifest: CheckedManifest,
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Write { path, source }
}

impl Store {
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a package version with this sha256 lives.
    pub fn package_dir(
        &self,
        name: &PackageName,
        version: &PackageVersion,
        sha256: &Checksum,
    ) -> PathBuf {
        self.root
            .join(name.normalized())
            .join(format!("{version}-{}", &sha256.to_hex()[..16]))
    }

    /// The package `entry` describes, unpacked from `tarball` (already checked against the
    /// entry's sha256 and signature) when the store does not have it yet. Refuses a tarball
    /// that does not agree with the entry, leaving the store as it was.
    pub fn ensure(&self, entry: &IndexEntry, tarball: &Path) -> Result<StoredPackage, StoreError> {
        let session = self.session()?;
        let staged = session.stage(entry, tarball)?;
        session.publish(staged)
    }

    /// Opens the store for adding packages: takes its lock, held until the session is
    /// dropped, and removes what dead processes left behind.
    pub fn session(&self) -> Result<StoreSession<'_>, StoreError> {
        fs::create_dir_all(&self.root).map_err(write_error(&self.root))?;
        let lock_path = self.root.join(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(write_error(&lock_path))?;
        lock.lock().map_err(write_error(&lock_path))?;
        let session = StoreSession {
            store: self,
            _lock: lock,
        };
        session.remove_leftovers();
        Ok(session)
    }
}

/// The store, locked for adding packages. Packages are added in two steps, so a command that
/// adds several can check them all before any becomes visible: [`StoreSession::stage`]
/// unpacks and checks one into a temporary folder, [`StoreSession::publish`] renames it into
/// place. A staged package that is dropped unpublished is removed.
pub struct StoreSession<'a> {
    store: &'a Store,
    _lock: File,
}

/// A package checked and ready to enter the store, or already in it.
#[derive(Debug)]
pub struct Staged(StagedState);

#[derive(Debug)]
enum StagedState {
    Present(StoredPackage),
    Unpacked {
        staging: tempfile::TempDir,
        target: PathBuf,
        manifest: CheckedManifest,
    },
}

impl Staged {
    /// The staged package's manifest.
    pub fn manifest(&self) -> &CheckedManifest {
        match &self.0 {
            StagedState::Present(package) => &package.manifest,
            StagedState::Unpacked { manifest, .. } => manifest,
        }
    }
}

impl StoreSession<'_> {
    /// Unpacks `tarball` into a temporary folder and checks it against `entry`, or finds
    /// the package already in the store and checks it against `entry` again.
    pub fn stage(&self, entry: &IndexEntry, tarball: &Path) -> Result<Staged, StoreError> {
        let root = &self.store.root;
        let invalid = |field: &'static str, value: &str| StoreError::InvalidEntry {
            field,
            value: value.escape_debug().to_string(),
        };
        let name = PackageName::from_str(&entry.name).map_err(|_| invalid("name", &entry.name))?;
        let version = PackageVersion::from_str(&entry.version)
            .map_err(|_| invalid("version", &entry.version))?;
        let sha256 =
            Checksum::from_str(&entry.sha256).map_err(|_| invalid("sha256", &entry.sha256))?;
        let target = self.store.package_dir(&name, &version, &sha256);
        if target.join(intake::manifest::MANIFEST_FILE).is_file() {
            let manifest = read_stored_manifest(&target)?;
            intake::check_entry(&manifest, entry)?;
            return Ok(Staged(StagedState::Present(StoredPackage {
                dir: target,
                manifest,
            })));
        }
        let staging = tempfile::Builder::new()
            .prefix(UNPACK_PREFIX)
            .tempdir_in(root)
            .map_err(write_error(root))?;
        let file = File::open(tarball).map_err(write_error(tarball))?;
        let archive = intake::read_ocp(
            file,
            &Limits::default(),
            &mut DiskSink {
                dest: staging.path(),
            },
        )?;
        intake::check_entry(&archive.manifest, entry)?;
        Ok(Staged(StagedState::Unpacked {
            staging,
            target,
            manifest: archive.manifest,
        }))
    }

    /// Moves a staged package into its place in the store.
    pub fn publish(&self, staged: Staged) -> Result<StoredPackage, StoreError> {
        let (staging, target, manifest) = match staged.0 {
            StagedState::Present(package) => return Ok(package),
            StagedState::Unpacked {
                staging,
                target,
                manifest,
            } => (staging, target, manifest),
        };
        let root = &self.store.root;
        let parent = target.parent().unwrap_or(root);
        fs::create_dir_all(parent).map_err(write_error(parent))?;
        if target.exists() {
            // An earlier run died before the package was whole; move it aside first, so a
            // kill during the removal leaves only a folder the next run removes.
            let aside = tempfile::Builder::new()
                .prefix(REMOVE_PREFIX)
                .tempdir_in(root)
                .map_err(write_error(root))?
                .keep();
            fs::rename(&target, aside.join("package")).map_err(write_error(&target))?;
            remove_tree(&aside);
        }
        let staged = staging.keep();
        if let Err(source) = fs::rename(&staged, &target) {
            remove_tree(&staged);
            return Err(StoreError::Write {
                path: target,
                source,
            });
        }
        Ok(StoredPackage {
            dir: target,
            manifest,
        })
    }

    /// Removes the temporary folders of processes that died. Only called under the lock, so
    /// no living process is using any of them.
    fn remove_leftovers(&self) {
        let Ok(entries) = fs::read_dir(&self.store.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(UNPACK_PREFIX) || name.starts_with(REMOVE_PREFIX) {
                remove_tree(&entry.path());
            }
        }
    }
}

/// The manifest of a package already in the store, parsed again: what the store holds is
/// checked like anything else read from disk.
fn read_stored_manifest(dir: &Path) -> Result<CheckedManifest, StoreError> {
    let path = dir.join(intake::manifest::MANIFEST_FILE);
    let mut bytes = Vec::new();
    File::open(&path)
        .and_then(|file| {
            file.take(intake::MAX_MANIFEST_BYTES)
                .read_to_end(&mut bytes)
        })
        .map_err(write_error(&path))?;
    Ok(CheckedManifest::from_json(&bytes).map_err(IntakeError::from)?)
}

/// Writes unpacked files below a staging folder that ocp created and that holds no links.
struct DiskSink<'a> {
    dest: &'a Path,
}

impl Sink for DiskSink<'_> {
    fn directory(&mut self, path: &RelativePath) -> Result<(), IntakeError> {
        let target = path.under(self.dest);
        fs::create_dir_all(&target).map_err(|source| IntakeError::Write {
            path: target,
            source,
        })
    }

    fn file(
        &mut self,
        path: &RelativePath,
        executable: bool,
        data: &mut dyn Read,
    ) -> Result<(), IntakeError> {
        let target = path.under(self.dest);
        let failed = |source| IntakeError::Write {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(failed)?;
        }
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(failed)?;
        std::io::copy(data, &mut file).map_err(failed)?;
        let mode = if executable { 0o555 } else { 0o444 };
        crate::fsutil::set_mode(&target, mode).map_err(failed)
    }
}

/// Removes a folder of read-only files, ignoring what cannot be removed.
fn remove_tree(dir: &Path) {
    crate::fsutil::make_writable(dir);
    let _ = fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::tests::{sample_entry, sample_ocp};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path().join("store/v1"));
        (dir, store)
    }

    #[test]
    fn ensure_unpacks_once_and_checks_the_entry() {
        let (dir, store) = store();
        let tarball = dir.path().join("demo.tar.gz");
        let (bytes, sha256) = sample_ocp(|_| {});
        fs::write(&tarball, &bytes).expect("write");
        let entry = sample_entry(&sha256);
        let stored = store.ensure(&entry, &tarball).expect("ensure");
        assert!(stored.dir.join("src/demo_osiris/__init__.py").is_file());
        assert_eq!(stored.manifest.name.as_str(), "demo-osiris");
        // Already there: read back, and still checked against the entry.
        let again = store.ensure(&entry, &tarball).expect("ensure");
        assert_eq!(again.dir, stored.dir);
        let mut other = entry.clone();
        other.components = vec!["other.extractor".into()];
        let error = store.ensure(&other, &tarball).expect_err("mismatch");
        assert!(
            format!("{:#}", anyhow::Error::new(error)).contains("other.extractor"),
            "names the component"
        );
    }

    #[test]
    fn a_refused_tarball_leaves_nothing_in_the_store() {
        let (dir, store) = store();
        let tarball = dir.path().join("demo.tar.gz");
        let (bytes, sha256) = sample_ocp(|_| {});
        fs::write(&tarball, &bytes).expect("write");
        let mut entry = sample_entry(&sha256);
        entry.components = vec!["other.extractor".into()];
        store.ensure(&entry, &tarball).expect_err("mismatch");
        let left: Vec<_> = fs::read_dir(store.root())
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec![".lock".to_owned()]);
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed_under_the_lock() {
        let (dir, store) = store();
        for leftover in [".unpack-dead1/src/x", ".remove-dead2/package/y"] {
            let path = store.root().join(leftover);
            fs::create_dir_all(&path).expect("mkdir");
            let file = path.join("file.py");
            fs::write(&file, "x").expect("write");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).expect("chmod");
        }
        let tarball = dir.path().join("demo.tar.gz");
        let (bytes, sha256) = sample_ocp(|_| {});
        fs::write(&tarball, &bytes).expect("write");
        store
            .ensure(&sample_entry(&sha256), &tarball)
            .expect("ensure");
        let mut left: Vec<_> = fs::read_dir(store.root())
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".lock".to_owned(), "demo-osiris".to_owned()]);
    }
}
