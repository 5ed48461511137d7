//! Turning a checked package into an OCP tarball and a wheel: which files go in, the
//! generated `PKG-INFO` and `ocp.json`, the reproducible archive, and the pure-Python wheel
//! beside it (`wheel`). The caller runs `check` first; this module
//! assumes a package without check errors and reports anything else as a [`BuildError`].

mod archive;
mod manifest;
mod pkg_info;
pub mod wheel;

use std::path::Path;

pub use archive::{ArchiveEntry, write_tar_gz};
pub use manifest::{Manifest, ManifestComponent, ManifestDependency};

use crate::model::{Checksum, PackageName, PackageVersion};
use crate::package::Package;

/// The fixed timestamp of every archive entry when `SOURCE_DATE_EPOCH` is not set
/// (2000-01-01T00:00:00Z: after the 1980 floor of zip, which wheel builds need).
pub const DEFAULT_MTIME: u64 = 946_684_800;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("pyproject.toml has no usable `{0}`")]
    MissingField(&'static str),
    #[error("failed to read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the file list holds `{0}` twice")]
    DuplicatePath(String),
    #[error("the spec file `{0}` is not among the package's files")]
    MissingSpec(String),
    #[error("the component name `{name}` cannot name a folder in the wheel")]
    UnsafeComponentName { name: String },
    #[error("`ocp install` would refuse the archive")]
    Uninstallable(#[source] crate::intake::IntakeError),
}

/// Everything that goes into the archive, in archive order.
#[derive(Debug)]
pub struct BuildPlan {
    pub name: PackageName,
    pub version: PackageVersion,
    /// `{file_stem}-{version}`: the archive's one top folder, and the file name without `.tar.gz`.
    pub base_name: String,
    pub entries: Vec<ArchiveEntry>,
    pub manifest: Manifest,
    /// The wheel written beside the tarball.
    pub wheel: wheel::WheelPlan,
}

impl BuildPlan {
    pub fn file_name(&self) -> String {
        format!("{}.tar.gz", self.base_name)
    }

    /// Paths inside the archive, in order.
    pub fn archive_paths(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|entry| format!("{}/{}", self.base_name, entry.path))
            .collect()
    }
}

/// Plans the archive of a package that passed `ocp check`.
pub fn plan(package: &Package) -> Result<BuildPlan, BuildError> {
    let pyproject = package
        .pyproject
        .as_ref()
        .ok_or(BuildError::MissingField("[project]"))?;
    let name: PackageName = pyproject
        .project_string("name")
        .and_then(|n| n.value.parse().ok())
        .ok_or(BuildError::MissingField("name"))?;
    let version: PackageVersion = pyproject
        .project_string("version")
        .and_then(|v| v.value.parse().ok())
        .ok_or(BuildError::MissingField("version"))?;
    let base_name = format!("{}-{}", name.file_stem(), version);
    let mut entries = Vec::with_capacity(package.files.len() + 2);
    for file in &package.files {
        let bytes = std::fs::read(&file.absolute).map_err(|source| BuildError::Read {
            path: file.relative.clone(),
            source,
        })?;
        entries.push(ArchiveEntry {
            path: file.relative.clone(),
            bytes,
            executable: file.executable,
        });
    }
    let readme = pyproject
        .project_string("readme")
        .and_then(|r| package.sources.get(&r.value).map(str::to_owned));
    entries.push(ArchiveEntry {
        path: "PKG-INFO".to_owned(),
        bytes: pkg_info::render(pyproject, readme.as_deref()).into_bytes(),
        executable: false,
    });
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(BuildError::DuplicatePath(pair[0].path.clone()));
    }
    let files = entries
        .iter()
        .map(|entry| {
            (
                entry.path.clone(),
                Checksum::of_bytes(&entry.bytes).to_hex(),
            )
        })
        .collect();
    let manifest = manifest::build(package, pyproject, &name, &version, files);
    let manifest_bytes = manifest.to_json_bytes();
    entries.push(ArchiveEntry {
        path: manifest::FILE_NAME.to_owned(),
        bytes: manifest_bytes,
        executable: false,
    });
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut plan = BuildPlan {
        name,
        version,
        base_name,
        entries,
        manifest,
        wheel: wheel::WheelPlan {
            file_name: String::new(),
            entries: Vec::new(),
        },
    };
    plan.wheel = wheel::plan(pyproject, &plan)?;
    Ok(plan)
}

/// The archive timestamp: `SOURCE_DATE_EPOCH` when set to a number, else [`DEFAULT_MTIME`].
pub fn mtime_from_env(value: Option<&str>) -> Result<u64, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(DEFAULT_MTIME),
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| format!("SOURCE_DATE_EPOCH must be a number of seconds, not `{text}`")),
    }
}

/// Reads a built archive as `ocp install` would (the same reader and checks), so nothing is
/// written or published that an install would refuse.
pub fn check_installable(bytes: &[u8]) -> Result<(), BuildError> {
    use crate::intake::{Discard, Limits, read_ocp};
    read_ocp(bytes, &Limits::default(), &mut Discard)
        .map(|_| ())
        .map_err(BuildError::Uninstallable)
}

/// Writes the plan's archive to `out_dir`, atomically, and returns its path, size and checksum.
pub fn write(
    plan: &BuildPlan,
    out_dir: &Path,
    mtime: u64,
) -> anyhow::Result<(std::path::PathBuf, u64, Checksum)> {
    let bytes = write_tar_gz(&plan.base_name, &plan.entries, mtime)?;
    check_installable(&bytes)?;
    let path = out_dir.join(plan.file_name());
    crate::fsutil::write_atomic(&path, &bytes)?;
    Ok((path, bytes.len() as u64, Checksum::of_bytes(&bytes)))
}

/// Writes the plan's wheel to `out_dir`, atomically, and returns its path, size and checksum.
pub fn write_wheel(
    plan: &BuildPlan,
    out_dir: &Path,
    mtime: u64,
) -> anyhow::Result<(std::path::PathBuf, u64, Checksum)> {
    let bytes = wheel::write_wheel(&plan.wheel.entries, mtime)?;
    let path = out_dir.join(&plan.wheel.file_name);
    crate::fsutil::write_atomic(&path, &bytes)?;
    Ok((path, bytes.len() as u64, Checksum::of_bytes(&bytes)))
}
