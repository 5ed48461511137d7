//! Activation: turning a package in the store into a real install in a Python environment,
//! one that Python and pip recognize. Its modules are placed in `site-packages`, its
//! `{name}-{version}.dist-info/` holds `METADATA`, `INSTALLER` (`ocp`), `RECORD` with hashes,
//! `REQUESTED` and `entry_points.txt` (the `osiris.components` entries), and each component's
//! spec is also placed at `site-packages/components/<name>/spec.yaml`, where Osiris 0.5.x's
//! `ComponentRegistry` reads specs. `pip uninstall` removes all of it.
//!
//! Changes are transactions: new files are staged beside `site-packages`, the old version's
//! files are moved aside, the new ones moved in, and only then is the old copy deleted. A
//! journal in the transaction folder lets the next ocp run undo a transaction that a killed
//! process left half done, so an environment is always in the old state or the new one.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::build::Manifest;
use crate::check::ENTRY_POINT_GROUP;
use crate::model::normalize_name;
use crate::pyenv::{EnvError, PythonEnv};
use crate::store::StoredPackage;

const TXN_PREFIX: &str = ".ocp-txn-";

#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    #[error(
        "the component `{component}` is already provided by {owner}; two packages cannot provide one component"
    )]
    ComponentTaken { component: String, owner: String },
    #[error("`{path}` in site-packages already belongs to {owner}")]
    FileTaken { path: String, owner: String },
    #[error("`{name}` was installed by {installer}, not by ocp")]
    NotOurs { name: String, installer: String },
    #[error("`{name}` is not installed in `{env}`")]
    NotInstalled { name: String, env: PathBuf },
    #[error(
        "the stored package has no importable code (no `src/` and no module named by its entry points)"
    )]
    NoCode,
    #[error("failed to {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Env(#[from] EnvError),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ActivateError {
    let path = path.to_path_buf();
    move |source| ActivateError::Io {
        action,
        path,
        source,
    }
}

/// Where an installed package came from, kept in its dist-info as `ocp_install.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub key_id: String,
    pub index: String,
    pub requested: bool,
    pub components: Vec<String>,
    pub dependencies: Vec<String>,
}

/// An activation that has moved in but may still be undone (for example when installing the
/// package's Python requirements fails afterwards).
#[derive(Debug)]
pub struct Pending {
    txn: PathBuf,
    site_packages: PathBuf,
}

impl Pending {
    /// Keeps the new state and deletes the old copy.
    pub fn commit(self) -> Result<(), ActivateError> {
        finish(&self.txn)
    }

    /// Puts the environment back as it was before the activation.
    pub fn rollback(self) -> Result<(), ActivateError> {
        undo(&self.site_packages, &self.txn)
    }
}

/// The dist-info folder name of a distribution.
pub fn dist_info_name(name: &str, version: &str) -> String {
    format!(
        "{}-{version}.dist-info",
        normalize_name(name).replace('-', "_")
    )
}

/// Installs `package` into `env`, replacing any version of it there. Returns a pending
/// change to commit or roll back.
pub fn activate(
    env: &PythonEnv,
    package: &StoredPackage,
    receipt: &Receipt,
) -> Result<Pending, ActivateError> {
    recover(env)?;
    let site = &env.site_packages;
    let manifest = &package.manifest;
    let old = env.find(&manifest.name)?;
    let old_paths: BTreeSet<String> = match &old {
        Some(installed) => record_paths(&installed.dist_info)?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    check_components(env, manifest, &old_paths)?;

    let txn = tempfile::Builder::new()
        .prefix(TXN_PREFIX)
        .tempdir_in(site)
        .map_err(io("create a folder in", site))?
        .keep();
    let staged = txn.join("new");
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
        let target = staged.join(relative);
        place(source, &target)?;
        record.push(record_line(
            relative,
            &fs::read(&target).map_err(io("read", &target))?,
        ));
    }
    let metadata = fs::read(package.dir.join("PKG-INFO"))
        .map_err(io("read", &package.dir.join("PKG-INFO")))?;
    let mut generated: Vec<(String, Vec<u8>)> = vec![
        ("METADATA".into(), metadata),
        ("INSTALLER".into(), b"ocp\n".to_vec()),
        (
            "entry_points.txt".into(),
            entry_points(manifest).into_bytes(),
        ),
        (
            "ocp_install.json".into(),
            serde_json::to_vec_pretty(receipt).unwrap_or_default(),
        ),
    ];
    if receipt.requested {
        generated.push(("REQUESTED".into(), Vec::new()));
    }
    for (file, bytes) in &generated {
        let relative = format!("{dist_info}/{file}");
        let target = staged.join(&relative);
        write_new(&target, bytes)?;
        record.push(record_line(&relative, bytes));
    }
    record.push(format!("{dist_info}/RECORD,,"));
    write_new(
        &staged.join(&dist_info).join("RECORD"),
        (record.join("\n") + "\n").as_bytes(),
    )?;
    let new_paths: Vec<String> = files
        .iter()
        .map(|(_, relative)| relative.clone())
        .chain(generated.iter().map(|(f, _)| format!("{dist_info}/{f}")))
        .chain([format!("{dist_info}/RECORD")])
        .collect();

    // The journal: which files this transaction moves in, and which it moved aside.
    write_new(&txn.join("new-files"), new_paths.join("\n").as_bytes())?;
    let mut old_files: Vec<String> = old_paths
        .iter()
        .filter(|p| site.join(p).is_file() || site.join(p).is_symlink())
        .cloned()
        .collect();
    if let Some(installed) = &old {
        // Files in the old dist-info that RECORD does not list (rare, but pip removes them too).
        for entry in fs::read_dir(&installed.dist_info)
            .map_err(io("read", &installed.dist_info))?
            .flatten()
        {
            if let Ok(relative) = entry.path().strip_prefix(site) {
                let relative = relative.to_string_lossy().into_owned();
                if !old_files.contains(&relative) {
                    old_files.push(relative);
                }
            }
        }
    }
    write_new(&txn.join("old-files"), old_files.join("\n").as_bytes())?;
    // A module another distribution installed must never be overwritten.
    if let Some(clash) = new_paths
        .iter()
        .find(|p| (site.join(p).exists() || site.join(p).is_symlink()) && !old_files.contains(p))
    {
        let owner = owner_of(env, clash)?.unwrap_or_else(|| "another installer".to_owned());
        let _ = finish(&txn);
        return Err(ActivateError::FileTaken {
            path: clash.clone(),
            owner,
        });
    }
    write_new(&txn.join("state"), b"swapping")?;
    let result = (|| {
        for relative in &old_files {
            move_file(&site.join(relative), &txn.join("old").join(relative))?;
        }
        for relative in &new_paths {
            move_file(&staged.join(relative), &site.join(relative))?;
        }
        fs::write(txn.join("state"), b"done").map_err(io("write", &txn.join("state")))
    })();
    if let Err(error) = result {
        let _ = undo(site, &txn);
        return Err(error);
    }
    if let Some(installed) = &old {
        remove_empty_dirs(site, &old_paths);
        let _ = fs::remove_dir(&installed.dist_info);
    }
    Ok(Pending {
        txn,
        site_packages: site.clone(),
    })
}

/// Removes an ocp-installed package (by distribution or component name) from `env`.
pub fn deactivate(env: &PythonEnv, name: &str) -> Result<Receipt, ActivateError> {
    recover(env)?;
    let site = &env.site_packages;
    let installed = find_installed(env, name)?.ok_or_else(|| ActivateError::NotInstalled {
        name: name.to_owned(),
        env: env.root.clone(),
    })?;
    let installer = installed
        .installer
        .clone()
        .unwrap_or_else(|| "an unknown installer".to_owned());
    if installer != "ocp" {
        return Err(ActivateError::NotOurs {
            name: installed.name,
            installer,
        });
    }
    let receipt: Receipt = fs::read_to_string(installed.dist_info.join("ocp_install.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Receipt {
            name: installed.name.clone(),
            version: installed.version.clone(),
            sha256: String::new(),
            key_id: String::new(),
            index: String::new(),
            requested: false,
            components: Vec::new(),
            dependencies: Vec::new(),
        });
    let paths: BTreeSet<String> = record_paths(&installed.dist_info)?.into_iter().collect();
    let txn = tempfile::Builder::new()
        .prefix(TXN_PREFIX)
        .tempdir_in(site)
        .map_err(io("create a folder in", site))?
        .keep();
    let files: Vec<String> = paths
        .iter()
        .filter(|p| site.join(p).is_file())
        .cloned()
        .collect();
    write_new(&txn.join("new-files"), b"")?;
    write_new(&txn.join("old-files"), files.join("\n").as_bytes())?;
    write_new(&txn.join("state"), b"swapping")?;
    for relative in &files {
        if let Err(error) = move_file(&site.join(relative), &txn.join("old").join(relative)) {
            let _ = undo(site, &txn);
            return Err(error);
        }
    }
    fs::write(txn.join("state"), b"done").map_err(io("write", &txn.join("state")))?;
    remove_empty_dirs(site, &paths);
    let _ = fs::remove_dir_all(&installed.dist_info);
    finish(&txn)?;
    Ok(receipt)
}

/// The install receipts of every package ocp installed in `env`.
pub fn installed_receipts(env: &PythonEnv) -> Result<Vec<Receipt>, ActivateError> {
    recover(env)?;
    let mut out = Vec::new();
    for installed in env.installed()? {
        if installed.installer.as_deref() != Some("ocp") {
            continue;
        }
        if let Some(receipt) = fs::read_to_string(installed.dist_info.join("ocp_install.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
        {
            out.push(receipt);
        }
    }
    Ok(out)
}

fn find_installed(
    env: &PythonEnv,
    name: &str,
) -> Result<Option<crate::pyenv::Installed>, ActivateError> {
    if let Some(found) = env.find(name)? {
        return Ok(Some(found));
    }
    // A component name: the ocp package whose receipt lists it.
    for installed in env.installed()? {
        let Ok(text) = fs::read_to_string(installed.dist_info.join("ocp_install.json")) else {
            continue;
        };
        if serde_json::from_str::<Receipt>(&text)
            .is_ok_and(|r| r.components.iter().any(|c| c == name))
        {
            return Ok(Some(installed));
        }
    }
    Ok(None)
}

/// Undoes, or finishes, transactions a killed ocp left behind in `env`.
pub fn recover(env: &PythonEnv) -> Result<(), ActivateError> {
    let site = &env.site_packages;
    let Ok(entries) = fs::read_dir(site) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(TXN_PREFIX))
        {
            continue;
        }
        match fs::read_to_string(path.join("state"))
            .unwrap_or_default()
            .as_str()
        {
            "done" => finish(&path)?,
            _ => undo(site, &path)?,
        }
    }
    Ok(())
}

fn finish(txn: &Path) -> Result<(), ActivateError> {
    make_writable(txn);
    match fs::remove_dir_all(txn) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(ActivateError::Io {
            action: "remove",
            path: txn.to_path_buf(),
            source: error,
        }),
        _ => Ok(()),
    }
}

fn undo(site: &Path, txn: &Path) -> Result<(), ActivateError> {
    let list = |file: &str| {
        fs::read_to_string(txn.join(file))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let new_files = list("new-files");
    let old_files = list("old-files");
    for relative in &new_files {
        let path = site.join(relative);
        // An old file not yet moved aside still sits at its place: leave it. Anything else
        // there is a new file this transaction moved in.
        let unmoved_old = old_files.contains(relative) && !txn.join("old").join(relative).exists();
        if path.exists() && !unmoved_old {
            let _ = fs::remove_file(&path);
        }
    }
    for relative in &old_files {
        let backup = txn.join("old").join(relative);
        if backup.exists() || backup.is_symlink() {
            move_file(&backup, &site.join(relative))?;
        }
    }
    remove_empty_dirs(site, &new_files.into_iter().collect());
    finish(txn)
}

fn check_components(
    env: &PythonEnv,
    manifest: &Manifest,
    own: &BTreeSet<String>,
) -> Result<(), ActivateError> {
    let own_name = normalize_name(&manifest.name);
    // Every other distribution's entry points, read once for all components.
    let mut declared: Vec<(String, String)> = Vec::new();
    for installed in env.installed()? {
        if normalize_name(&installed.name) == own_name {
            continue;
        }
        if let Ok(text) = fs::read_to_string(installed.dist_info.join("entry_points.txt")) {
            declared.push((format!("`{}` {}", installed.name, installed.version), text));
        }
    }
    for component in &manifest.components {
        let spec = format!("components/{}/spec.yaml", component.name);
        if env.site_packages.join(&spec).exists() && !own.contains(&spec) {
            let owner = owner_of(env, &spec)?
                .unwrap_or_else(|| "Osiris itself (a built-in component)".to_owned());
            return Err(ActivateError::ComponentTaken {
                component: component.name.clone(),
                owner,
            });
        }
        if let Some((owner, _)) = declared
            .iter()
            .find(|(_, text)| declares(text, &component.name))
        {
            return Err(ActivateError::ComponentTaken {
                component: component.name.clone(),
                owner: owner.clone(),
            });
        }
    }
    Ok(())
}

fn owner_of(env: &PythonEnv, relative: &str) -> Result<Option<String>, ActivateError> {
    for installed in env.installed()? {
        if record_paths(&installed.dist_info)?
            .iter()
            .any(|p| p == relative)
        {
            return Ok(Some(format!("`{}` {}", installed.name, installed.version)));
        }
    }
    Ok(None)
}

/// True when an entry_points.txt declares `component` in the Osiris group.
fn declares(text: &str, component: &str) -> bool {
    let mut in_group = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_group = line == format!("[{ENTRY_POINT_GROUP}]");
        } else if in_group && line.split('=').next().map(str::trim) == Some(component) {
            return true;
        }
    }
    false
}

fn entry_points(manifest: &Manifest) -> String {
    let mut text = format!("[{ENTRY_POINT_GROUP}]\n");
    for component in &manifest.components {
        text.push_str(&format!("{} = {}\n", component.name, component.entry_point));
    }
    text
}

/// The paths listed in a dist-info's RECORD, relative to site-packages.
fn record_paths(dist_info: &Path) -> Result<Vec<String>, ActivateError> {
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
            (!path.is_empty() && !path.starts_with('/') && !path.split('/').any(|p| p == ".."))
                .then(|| path.to_owned())
        })
        .collect())
}

fn record_line(relative: &str, bytes: &[u8]) -> String {
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
    let path = if relative.contains(',') {
        format!("\"{relative}\"")
    } else {
        relative.to_owned()
    };
    format!("{path},sha256={digest},{}", bytes.len())
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

/// A new file at `target` with the contents of `source`: a hard link into the store when the
/// filesystem allows it, else a copy, always writable by its owner so pip can remove it.
fn place(source: &Path, target: &Path) -> Result<(), ActivateError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    // Copy rather than link: store files are read-only, and an installed file must be
    // writable by its owner like any other (editors, pip).
    fs::copy(source, target).map_err(io("copy", target))?;
    let mode = if crate::fsutil::is_executable(source) {
        0o755
    } else {
        0o644
    };
    crate::fsutil::set_mode(target, mode).map_err(io("set permissions of", target))
}

fn write_new(target: &Path, bytes: &[u8]) -> Result<(), ActivateError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    fs::write(target, bytes).map_err(io("write", target))
}

fn move_file(from: &Path, to: &Path) -> Result<(), ActivateError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    fs::rename(from, to).map_err(io("move", from))
}

/// Removes folders that held `paths` and are now empty (deepest first), and `__pycache__`
/// folders Python made beside them.
fn remove_empty_dirs(site: &Path, paths: &BTreeSet<String>) {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for relative in paths {
        let mut current = Path::new(relative).parent();
        while let Some(dir) = current.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(site.join(dir));
            current = dir.parent();
        }
    }
    let mut ordered: Vec<PathBuf> = dirs.into_iter().collect();
    ordered.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in ordered {
        if dir.file_name().is_some_and(|n| n == "components") && dir.parent() == Some(site) {
            continue; // Osiris's own folder
        }
        let _ = fs::remove_dir_all(dir.join("__pycache__"));
        let _ = fs::remove_dir(&dir);
    }
}

fn make_writable(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let _ = crate::fsutil::set_mode(&current, 0o755);
        if let Ok(entries) = fs::read_dir(&current) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() && !path.is_symlink() {
                    stack.push(path);
                } else if !path.is_symlink() {
                    let _ = crate::fsutil::set_mode(&path, 0o644);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{Manifest, ManifestComponent};

    /// A virtual environment on disk (no interpreter needed) and a stored package version.
    fn fixture(version: &str, body: &str) -> (tempfile::TempDir, PythonEnv, StoredPackage) {
        let dir = tempfile::tempdir().expect("tempdir");
        let env_dir = dir.path().join("venv");
        fs::create_dir_all(env_dir.join("lib/python3.11/site-packages/components")).expect("mkdir");
        fs::write(env_dir.join("pyvenv.cfg"), "version = 3.11.7\n").expect("cfg");
        let env = PythonEnv::from_env_dir(&env_dir).expect("env");
        let stored = dir.path().join(format!("store-{version}"));
        fs::create_dir_all(stored.join("src/demo_osiris")).expect("mkdir");
        fs::write(stored.join("src/demo_osiris/__init__.py"), body).expect("write");
        fs::write(
            stored.join("src/demo_osiris/spec.yaml"),
            format!("name: demo.extractor\nversion: {version}\n"),
        )
        .expect("write");
        fs::write(
            stored.join("PKG-INFO"),
            format!("Metadata-Version: 2.2\nName: demo-osiris\nVersion: {version}\n"),
        )
        .expect("write");
        let manifest = Manifest {
            format_version: 1,
            name: "demo-osiris".into(),
            version: version.into(),
            components: vec![ManifestComponent {
                name: "demo.extractor".into(),
                spec: "src/demo_osiris/spec.yaml".into(),
                entry_point: "demo_osiris:load_spec".into(),
                driver: None,
            }],
            dependencies: Vec::new(),
            python_dependencies: Vec::new(),
            osiris: String::new(),
            python: String::new(),
            files: Default::default(),
        };
        (
            dir,
            env,
            StoredPackage {
                dir: stored,
                manifest,
            },
        )
    }

    fn receipt(version: &str) -> Receipt {
        Receipt {
            name: "demo-osiris".into(),
            version: version.into(),
            sha256: String::new(),
            key_id: String::new(),
            index: "test".into(),
            requested: true,
            components: vec!["demo.extractor".into()],
            dependencies: Vec::new(),
        }
    }

    #[test]
    fn a_rollback_restores_the_previous_version() {
        let (dir, env, old) = fixture("1.0.0", "OLD = 1\n");
        activate(&env, &old, &receipt("1.0.0"))
            .expect("activate")
            .commit()
            .expect("commit");
        let (_new_dir, _, mut new) = fixture("2.0.0", "NEW = 2\n");
        new.dir = dir.path().join("new-store");
        fs::rename(_new_dir.path().join("store-2.0.0"), &new.dir).expect("move");
        let pending = activate(&env, &new, &receipt("2.0.0")).expect("activate");
        assert_eq!(
            fs::read_to_string(env.site_packages.join("demo_osiris/__init__.py")).expect("read"),
            "NEW = 2\n"
        );
        pending.rollback().expect("rollback");
        assert_eq!(
            fs::read_to_string(env.site_packages.join("demo_osiris/__init__.py")).expect("read"),
            "OLD = 1\n"
        );
        assert!(
            env.site_packages
                .join("demo_osiris-1.0.0.dist-info/RECORD")
                .is_file()
        );
        assert!(
            !env.site_packages
                .join("demo_osiris-2.0.0.dist-info")
                .exists()
        );
    }

    #[test]
    fn a_transaction_killed_half_way_is_undone_by_the_next_run() {
        let (dir, env, old) = fixture("1.0.0", "OLD = 1\n");
        activate(&env, &old, &receipt("1.0.0"))
            .expect("activate")
            .commit()
            .expect("commit");
        let (new_dir, _, mut new) = fixture("2.0.0", "NEW = 2\n");
        new.dir = dir.path().join("new-store");
        fs::rename(new_dir.path().join("store-2.0.0"), &new.dir).expect("move");
        let pending = activate(&env, &new, &receipt("2.0.0")).expect("activate");
        // The process dies after moving files but before it recorded success.
        fs::write(pending.txn.join("state"), "swapping").expect("write");
        std::mem::forget(pending);
        recover(&env).expect("recover");
        assert_eq!(
            fs::read_to_string(env.site_packages.join("demo_osiris/__init__.py")).expect("read"),
            "OLD = 1\n"
        );
        assert!(
            !env.site_packages
                .join("demo_osiris-2.0.0.dist-info")
                .exists()
        );
        let leftovers: Vec<_> = fs::read_dir(&env.site_packages)
            .expect("read")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TXN_PREFIX))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn another_distributions_component_is_never_replaced() {
        let (_dir, env, package) = fixture("1.0.0", "X = 1\n");
        fs::create_dir_all(env.site_packages.join("components/demo.extractor")).expect("mkdir");
        fs::write(
            env.site_packages
                .join("components/demo.extractor/spec.yaml"),
            "name: demo.extractor\n",
        )
        .expect("write");
        let error = activate(&env, &package, &receipt("1.0.0"))
            .expect_err("taken")
            .to_string();
        assert!(
            error.contains("already provided by Osiris itself"),
            "{error}"
        );
        assert!(!env.site_packages.join("demo_osiris").exists());
    }

    #[test]
    fn record_lines_use_urlsafe_unpadded_sha256() {
        assert_eq!(
            record_line("a/b.py", b""),
            "a/b.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0"
        );
        assert_eq!(record_line("a,b.py", b"x").split(',').count(), 4);
    }

    #[test]
    fn finds_osiris_entry_points() {
        let text = "[console_scripts]\nshopify.extractor = x:y\n[osiris.components]\nshopify.extractor = shopify_osiris:load_spec\n";
        assert!(declares(text, "shopify.extractor"));
        assert!(!declares(
            "[console_scripts]\nshopify.extractor = x:y\n",
            "shopify.extractor"
        ));
    }
}
