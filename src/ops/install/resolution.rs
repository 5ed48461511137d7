//! Stage 2, the resolution: pubgrub over the index for the request, and the lock file that
//! records the result. `--locked` is decided here, before anything is downloaded.

use std::path::Path;

use anyhow::Context;

use super::InstallOpts;
use super::request::InstallRequest;
use crate::error::helped;
use crate::index::Index;
use crate::lockfile::{self, LockedEnvironment, LockedIndex, Lockfile};
use crate::resolve::{self, IndexSource, Resolution, ResolveOptions};

/// Which version of each package to install, and the lock file that says so.
pub struct Resolved {
    pub resolution: Resolution,
    pub lock: Lockfile,
}

pub fn resolve(
    request: &InstallRequest,
    index: &Index,
    opts: &InstallOpts,
) -> anyhow::Result<Resolved> {
    let source = IndexSource::over(index.reader());
    let resolve_options = ResolveOptions {
        allow_prereleases: opts.allow_prereleases,
        time_limit: Some(opts.time_limit),
    };
    let what = &request.what;
    let resolution = resolve::resolve(&source, &request.request, &resolve_options).map_err(
        |error| match &error {
            resolve::ResolveError::NoSolution { suggestions, .. } if !suggestions.is_empty() => {
                helped(format!("cannot install {what}"), error.to_string())
            }
            _ => match error.help() {
                Some(help) => crate::error::with_help(error, help),
                None => anyhow::Error::new(error),
            }
            .context(format!("cannot install {what}")),
        },
    )?;
    let lock = Lockfile::from_resolution(
        LockedIndex {
            name: opts.location.name.clone(),
            url: opts.location.remote.clone(),
        },
        LockedEnvironment {
            osiris: request.osiris.clone(),
            python: request.python.clone(),
        },
        &resolution,
        |name, version| index.download_location(name, version),
    )
    .context("the index holds an entry ocp cannot lock")?;
    if let Some(path) = &opts.lockfile {
        let kept = request.request.preferences.keys().cloned().collect();
        super::checks::refuse_rewritten_versions(request.old_lock.as_ref(), &lock, &kept, path)?;
    }
    if opts.locked {
        check_locked(request.old_lock.as_ref(), &lock, opts.lockfile.as_deref())?;
    }
    Ok(Resolved { resolution, lock })
}

/// `--locked`: the lock file must exist and stay as it is.
fn check_locked(old: Option<&Lockfile>, new: &Lockfile, path: Option<&Path>) -> anyhow::Result<()> {
    let path = path.unwrap_or(Path::new(lockfile::FILE_NAME));
    let Some(old) = old else {
        return Err(helped(
            format!(
                "`--locked` needs a lock file, and `{}` does not exist",
                path.display()
            ),
            "run `ocp lock` (or `ocp install` without `--locked`) to write one",
        ));
    };
    let differences = lockfile::diff(old, new);
    if differences.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = differences.iter().map(|d| format!("  {d}")).collect();
    Err(helped(
        format!(
            "`{}` would change, and `--locked` forbids it:\n{}",
            path.display(),
            list.join("\n")
        ),
        "run without `--locked` to accept the change, or `ocp lock` to write it",
    ))
}
