//! `ocp version`: show the package's version, or set it everywhere it is written at once:
//! pyproject.toml (through `toml_edit`, so the file keeps its layout), every spec.yaml's
//! `version:` (the value replaced in place, in its semver spelling), every `__version__`
//! that held the old version, and a `## [x.y.z] - date` heading under `## [Unreleased]` in
//! CHANGELOG.md. Nothing is written unless every edit could be planned.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use pep440_rs::Version;

use crate::error::helped;
use crate::model::PackageVersion;
use crate::ops::changes::Changes;
use crate::package::{Package, edit};
use crate::shell::Shell;

/// Which version to move to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bump {
    /// `1.2.3` -> `1.2.4`; a pre-release `1.2.3rc1` -> `1.2.3`.
    Patch,
    /// `1.2.3` -> `1.3.0`; `1.3.0rc1` -> `1.3.0`.
    Minor,
    /// `1.2.3` -> `2.0.0`; `2.0.0rc1` -> `2.0.0`.
    Major,
    /// Exactly this version, which must be newer.
    To(PackageVersion),
}

pub struct VersionOpts {
    pub path: PathBuf,
    /// `None`: only report the current version.
    pub bump: Option<Bump>,
    pub dry_run: bool,
    /// The date for the CHANGELOG heading, `YYYY-MM-DD`.
    pub date: String,
}

/// What `ocp version` did (or would do).
#[derive(Debug)]
pub struct VersionChange {
    pub name: String,
    pub from: PackageVersion,
    pub to: PackageVersion,
    /// The files changed, relative to the package root.
    pub files: Vec<String>,
    /// `__version__` assignments left alone because they held another version.
    pub skipped: Vec<String>,
}

pub fn version(shell: &mut Shell, opts: &VersionOpts) -> anyhow::Result<VersionChange> {
    let package = Package::load(&opts.path)?;
    let pyproject = package.pyproject.as_ref().ok_or_else(|| {
        helped(
            format!("no readable `pyproject.toml` in `{}`", opts.path.display()),
            "run ocp in the package's root directory, or pass `--path DIR`; `ocp check` shows what is wrong",
        )
    })?;
    let name = pyproject
        .project_string("name")
        .map_or_else(|| "the package".to_owned(), |name| name.value);
    let declared = pyproject.project_string("version").ok_or_else(|| {
        helped(
            "pyproject.toml has no `project.version` written out",
            "write `version = \"0.1.0\"` in `[project]` (ocp needs the version in the file, not `dynamic`)",
        )
    })?;
    let from = PackageVersion::from_str(&declared.value).map_err(|error| {
        helped(
            error.to_string(),
            "fix `project.version` in pyproject.toml, or give the new version: `ocp version 1.0.0`",
        )
    })?;
    let Some(bump) = &opts.bump else {
        return Ok(VersionChange {
            name,
            from: from.clone(),
            to: from,
            files: Vec::new(),
            skipped: Vec::new(),
        });
    };
    let to = next(&from, bump)?;
    if to <= from {
        return Err(helped(
            format!("{to} is not newer than the current version {from}"),
            "versions only go up, so a published version never changes; give a greater one",
        ));
    }
    let semver = to.to_semver().map_err(|error| {
        helped(
            error.to_string(),
            "Osiris specs need a semantic version: `MAJOR.MINOR.PATCH`, optionally with `a`, `b`, `rc` or `.dev` parts",
        )
    })?;

    let mut changes = Changes::new(&package.root);
    let text = changes.current("pyproject.toml")?;
    changes.edit(
        "pyproject.toml",
        edit::set_pyproject_version(&text, &to.to_string())?,
    )?;
    for spec in &package.specs {
        let Some(span) = spec.yaml.value_span("/version") else {
            continue;
        };
        let text = changes.current(&spec.path)?;
        changes.edit(&spec.path, edit::replace_scalar(&text, span, &semver)?)?;
    }
    let mut skipped = Vec::new();
    for (path, module) in package.python_modules() {
        let Some((value, span)) = &module.version else {
            continue;
        };
        if PackageVersion::from_str(value).ok().as_ref() != Some(&from) {
            skipped.push(format!("{path} (`__version__ = \"{value}\"`)"));
            continue;
        }
        let text = changes.current(path)?;
        changes.edit(
            path,
            edit::replace_text(&text, span.clone(), &to.to_string())?,
        )?;
    }
    if let Some(changelog) = package
        .files
        .iter()
        .map(|file| file.relative.clone())
        .find(|path| path.eq_ignore_ascii_case("CHANGELOG.md"))
    {
        let text = changes.current(&changelog)?;
        if let Some(new) = edit::add_changelog_release(&text, &to.to_string(), &opts.date) {
            changes.edit(&changelog, new)?;
        }
    }
    let files = changes.paths();
    if !opts.dry_run {
        changes
            .apply()
            .with_context(|| format!("failed to set the version of {name}; nothing was changed"))?;
    }
    let verb = if opts.dry_run { "Would bump" } else { "Bumped" };
    shell.status(verb, format!("{name} from {from} to {to}"))?;
    Ok(VersionChange {
        name,
        from,
        to,
        files,
        skipped,
    })
}

/// The version `bump` leads to from `from`, in cargo-release and npm's sense: bumping a
/// pre-release to the release it precedes finishes it rather than skipping it.
fn next(from: &PackageVersion, bump: &Bump) -> anyhow::Result<PackageVersion> {
    let version = Version::from_str(&from.to_string())
        .map_err(|error| helped(error.to_string(), "fix `project.version` in pyproject.toml"))?;
    let release = version.release();
    let part = |index: usize| release.get(index).copied().unwrap_or(0);
    let (major, minor, patch) = (part(0), part(1), part(2));
    let unfinished = version.any_prerelease();
    let release = match bump {
        Bump::To(exact) => return Ok(exact.clone()),
        Bump::Patch if unfinished => [major, minor, patch],
        Bump::Patch => [major, minor, patch + 1],
        Bump::Minor if unfinished && patch == 0 => [major, minor, 0],
        Bump::Minor => [major, minor + 1, 0],
        Bump::Major if unfinished && minor == 0 && patch == 0 => [major, 0, 0],
        Bump::Major => [major + 1, 0, 0],
    };
    PackageVersion::from_str(&format!("{}.{}.{}", release[0], release[1], release[2]))
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bumped(from: &str, bump: Bump) -> String {
        next(&from.parse().expect("version"), &bump)
            .expect("bump")
            .to_string()
    }

    #[test]
    fn bumps_follow_semver_and_finish_pre_releases() {
        assert_eq!(bumped("1.2.3", Bump::Patch), "1.2.4");
        assert_eq!(bumped("1.2.3", Bump::Minor), "1.3.0");
        assert_eq!(bumped("1.2.3", Bump::Major), "2.0.0");
        assert_eq!(bumped("0.1", Bump::Patch), "0.1.1");
        assert_eq!(bumped("1.2.3rc1", Bump::Patch), "1.2.3");
        assert_eq!(bumped("1.3.0rc1", Bump::Minor), "1.3.0");
        assert_eq!(bumped("1.3.1rc1", Bump::Minor), "1.4.0");
        assert_eq!(bumped("2.0.0b2", Bump::Major), "2.0.0");
        assert_eq!(bumped("2.1.0.dev3", Bump::Major), "3.0.0");
    }
}
