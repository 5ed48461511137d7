//! `ocp new` and `ocp init`: render a template and write it so that either the whole package
//! appears or nothing does. Files are written into a temporary directory beside the target
//! and moved into place at the end; an existing directory or file is never overwritten.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::check::builtin;
use crate::error::helped;
use crate::scaffold::{self, NewPackage};
use crate::shell::Shell;

/// A request to create a package.
#[derive(Debug, Clone)]
pub struct NewOpts {
    pub package: NewPackage,
    /// The directory to create (`ocp new`) or fill (`ocp init`).
    pub path: PathBuf,
    /// True for `ocp init`: the directory exists and must be empty.
    pub init: bool,
}

/// Creates the package and returns the files written (relative paths).
pub fn new(shell: &mut Shell, opts: &NewOpts) -> anyhow::Result<Vec<String>> {
    let component = &opts.package.component;
    let prefix = opts.package.package.normalized();
    if let Err(refused) = builtin::ensure_allowed(
        component,
        prefix.strip_suffix("-osiris"),
        Some(&opts.package.osiris),
    ) {
        return Err(helped(
            refused.to_string(),
            builtin::refused_help(&refused, component),
        ));
    }
    let files = scaffold::render(&opts.package)?;
    let path = &opts.path;
    if opts.init {
        ensure_empty_directory(path)?;
    } else if path.join("pyproject.toml").is_file() {
        // Most often the family's package: another component belongs in it, not beside it.
        return Err(helped(
            format!("destination `{}` already holds a package", path.display()),
            format!(
                "add `{component}` to it with `ocp add {component} --path {}`, or make a separate package with `--path` and `--name`",
                path.display()
            ),
        ));
    } else if path.symlink_metadata().is_ok() {
        return Err(helped(
            format!("destination `{}` already exists", path.display()),
            "choose another directory with `--path`, or run `ocp init` inside an existing empty directory",
        ));
    }
    let parent = parent_of(path);
    fs::create_dir_all(&parent)
        .with_context(|| format!("failed to create `{}`", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".ocp-new-")
        .tempdir_in(&parent)
        .with_context(|| {
            format!(
                "failed to create a temporary directory in `{}`",
                parent.display()
            )
        })?;
    for (relative, contents) in &files {
        let target = staging.path().join(relative);
        if let Some(directory) = target.parent() {
            fs::create_dir_all(directory)
                .with_context(|| format!("failed to create `{}`", directory.display()))?;
        }
        fs::write(&target, contents)
            .with_context(|| format!("failed to write `{}`", target.display()))?;
    }
    if opts.init {
        move_entries_into(staging.path(), path)?;
    } else {
        // Fails if something appeared at `path` meanwhile; the staging directory is then removed.
        fs::rename(staging.path(), path)
            .with_context(|| format!("failed to move the new package into `{}`", path.display()))?;
        let _ = staging.keep();
    }
    shell.status(
        "Created",
        format!(
            "{} package `{}` ({}) in `{}`",
            opts.package.template,
            opts.package.package,
            opts.package.component,
            path.display()
        ),
    )?;
    Ok(files.into_keys().collect())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `ocp init` works in an existing directory that holds nothing but, perhaps, `.git`.
fn ensure_empty_directory(path: &Path) -> anyhow::Result<()> {
    if !path.is_dir() {
        bail!("`{}` is not a directory", path.display());
    }
    let mut entries: Vec<String> = fs::read_dir(path)
        .with_context(|| format!("failed to read the directory `{}`", path.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".git")
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    entries.sort();
    let shown: Vec<String> = entries
        .iter()
        .take(3)
        .map(|name| format!("`{name}`"))
        .collect();
    let more = if entries.len() > 3 {
        format!(" and {} more", entries.len() - 3)
    } else {
        String::new()
    };
    Err(helped(
        format!(
            "`{}` is not empty: it holds {}{more}",
            path.display(),
            shown.join(", ")
        ),
        "`ocp init` only fills an empty directory; use `ocp new <component> --path <new-dir>` instead",
    ))
}

/// Moves the staged files into `target`; if one move fails, the ones already moved are
/// taken back so the directory is left as it was.
fn move_entries_into(staging: &Path, target: &Path) -> anyhow::Result<()> {
    let mut moved: Vec<PathBuf> = Vec::new();
    let entries: Vec<_> = fs::read_dir(staging)
        .with_context(|| format!("failed to read `{}`", staging.display()))?
        .filter_map(Result::ok)
        .collect();
    for entry in entries {
        let destination = target.join(entry.file_name());
        let result = if destination.symlink_metadata().is_ok() {
            Err(anyhow::anyhow!(
                "`{}` appeared while the package was being created",
                destination.display()
            ))
        } else {
            fs::rename(entry.path(), &destination)
                .with_context(|| format!("failed to move `{}` into place", destination.display()))
        };
        if let Err(error) = result {
            for done in moved.iter().rev() {
                let _ = if done.is_dir() {
                    fs::remove_dir_all(done)
                } else {
                    fs::remove_file(done)
                };
            }
            return Err(error);
        }
        moved.push(destination);
    }
    Ok(())
}
