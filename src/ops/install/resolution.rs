//! Stage 2, the resolution: pubgrub over the index for the request, and the lock file that
//! records the result. `--locked` is decided here, before anything is downloaded.

use std::path::Path;

use anyhow::Context;

use super::InstallOpts;
use super::policy::Gate;
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
    let gate = Gate::new(&opts.policy);
    let outcome = resolve::resolve_with(&source, &request.request, &resolve_options, &gate);
    let mut resolution = outcome.map_err(|error| match (&error, gate.help()) {
        (resolve::ResolveError::NoSolution { suggestions, .. }, None)
            if !suggestions.is_empty() =>
        {
            helped(format!("cannot install {what}"), error.to_string())
        }
        (resolve::ResolveError::NoSolution { .. }, Some(help)) => {
            crate::error::with_help(error, help).context(format!("cannot install {what}"))
        }
        _ => match error.help() {
            Some(help) => crate::error::with_help(error, help),
            None => anyhow::Error::new(error),
        }
        .context(format!("cannot install {what}")),
    })?;
    gate.check_resolution(&resolution)?;
    resolution.notes.extend(gate.notes(&resolution));
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
        |name, version| {
            // A registry location names the entry's manifest digest.
            resolution
                .packages
                .values()
                .find(|package| package.entry.name == name && package.entry.version == version)
                .map_or_else(
                    || index.download_location(name, version),
                    |package| index.entry_location(&package.entry),
                )
        },
    )
    .context("the index holds an entry ocp cannot lock")?;
    if let Some(path) = &opts.lockfile {
        let kept = request.request.preferences.keys().cloned().collect();
        super::checks::refuse_rewritten_versions(request.old_lock.as_ref(), &lock, &kept, path)?;
    }
    if opts.locked {
        check_locked(request.old_lock.as_ref(), &lock, opts.lockfile.as_deref()).map_err(
            |error| match gate.help() {
                Some(help) => crate::error::with_help(error, help),
                None => error,
            },
        )?;
    }
    Ok(Resolved { resolution, lock })
}

/// `--locked`: the lock file must exist and stay as it is.
fn check_locked(old: Option<&Lockfile>, new: &Lockfile, path: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = path else {
        return Err(helped(
            "`--locked` needs a lock file, and outside an Osiris project there is none",
            "run it in the project (the folder with `osiris.yaml`), name the project with `--project DIR`, or name the lock file with `--lockfile PATH`",
        ));
    };
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
