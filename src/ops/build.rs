//! `ocp build`: check, refuse on errors, plan the archive and the wheel, and write both
//! atomically.

use std::path::PathBuf;

use anyhow::Context;

use crate::build::{self, BuildPlan};
use crate::model::Checksum;
use crate::ops::check;
use crate::package::Package;
use crate::shell::Shell;

#[derive(Debug, Clone)]
pub struct BuildOpts {
    pub path: PathBuf,
    /// Where the tarball goes; relative paths are relative to the package root.
    pub out_dir: Option<PathBuf>,
    /// Only list the files the archive would hold.
    pub list_only: bool,
    /// The archive timestamp, resolved from `SOURCE_DATE_EPOCH` by the caller.
    pub mtime: u64,
}

/// What a build produced.
#[derive(Debug)]
pub struct BuildOutcome {
    pub plan: BuildPlan,
    /// The tarball's path, size and checksum; `None` with `list_only`.
    pub written: Option<(PathBuf, u64, Checksum)>,
    /// The wheel's path, size and checksum; `None` with `list_only`.
    pub wheel: Option<(PathBuf, u64, Checksum)>,
}

pub fn build(shell: &mut Shell, opts: &BuildOpts) -> anyhow::Result<BuildOutcome> {
    let (package, _report, what) = check::load_checked(shell, &opts.path, "build")?;
    let plan = build::plan(&package)
        .with_context(|| format!("failed to prepare the archive of {what}"))?;
    if opts.list_only {
        return Ok(BuildOutcome {
            plan,
            written: None,
            wheel: None,
        });
    }
    shell.status(
        "Packaging",
        format!(
            "{} v{} ({} files)",
            plan.name,
            plan.version,
            plan.entries.len()
        ),
    )?;
    let out_dir = out_dir(&package, opts);
    std::fs::create_dir_all(&out_dir).with_context(|| {
        format!(
            "failed to create the output directory `{}`",
            out_dir.display()
        )
    })?;
    let written = build::write(&plan, &out_dir, opts.mtime)
        .with_context(|| format!("failed to write the archive of {what}"))?;
    let wheel = build::write_wheel(&plan, &out_dir, opts.mtime)
        .with_context(|| format!("failed to write the wheel of {what}"))?;
    Ok(BuildOutcome {
        plan,
        written: Some(written),
        wheel: Some(wheel),
    })
}

fn out_dir(package: &Package, opts: &BuildOpts) -> PathBuf {
    match &opts.out_dir {
        Some(dir) if dir.is_absolute() => dir.clone(),
        Some(dir) => std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.clone()),
        None => package.root.join("dist"),
    }
}
