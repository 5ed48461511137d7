//! `ocp migrate`: Osiris's built-in components as packages of their own. Stages:
//!
//! 1. source: read the Osiris to migrate from (`--from`, or the active environment);
//! 2. selection: the components asked for (or all of them), each one Osiris has;
//! 3. reading: each built-in's spec and the code that runs it, refused when either is broken;
//! 4. plan: one package per family (`mysql-osiris`), its Osiris range (no release that
//!    ships the built-ins) and version (the specs'), refused when its folder exists;
//! 5. staging: each package written in a temporary folder beside its destination, the first
//!    component with the machinery of `ocp new` and every further one with that of
//!    `ocp add`, then the migrated spec, code, requirements and changelog;
//! 6. commit: every staged package moved into place, all or none;
//! 7. with `--verify` ([`verify`]): check, build, and compare each component with its
//!    built-in side by side in a fresh environment.
//!
//! Nothing is written before stage 5, so bad input (an unknown component, a spec that does
//! not parse, a driver that is not where the spec says, an existing folder) changes nothing.

mod assemble;
pub mod verify;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pep440_rs::VersionSpecifiers;

use crate::error::{helped, with_help};
use crate::migrate::component::Builtin;
use crate::migrate::source::OsirisSource;
use crate::migrate::{ComponentPlan, MigrateError, range};
use crate::model::{ComponentName, PackageName};
use crate::shell::Shell;

/// What `ocp migrate` was asked to do, with every setting resolved.
#[derive(Debug, Clone)]
pub struct MigrateOpts {
    /// The Osiris to migrate from: an environment, a site-packages folder or a source tree.
    pub source: PathBuf,
    /// The components asked for; empty with `all`.
    pub components: Vec<String>,
    pub all: bool,
    /// The folder the packages are written into (one folder per package).
    pub out: PathBuf,
    /// `--osiris`: the packages' Osiris range.
    pub osiris: Option<VersionSpecifiers>,
    /// `--verify`.
    pub verify: Option<verify::VerifyOpts>,
}

/// One migrated component.
#[derive(Debug, Clone)]
pub struct MigratedComponent {
    pub plan: ComponentPlan,
    /// Filled by `--verify`.
    pub verdict: Option<crate::migrate::verify::Verdict>,
}

/// One package written.
#[derive(Debug, Clone)]
pub struct MigratedPackage {
    pub name: PackageName,
    pub path: PathBuf,
    pub version: String,
    pub osiris: String,
    pub components: Vec<MigratedComponent>,
    /// Filled by `--verify`.
    pub checked: Option<verify::StageOutcome>,
    pub built: Option<verify::StageOutcome>,
}

/// What `ocp migrate` did.
#[derive(Debug, Clone)]
pub struct MigrateReport {
    pub source: String,
    pub source_version: String,
    pub packages: Vec<MigratedPackage>,
    pub verified: bool,
}

impl MigrateReport {
    /// Whether any stage of `--verify` failed.
    pub fn failed(&self) -> bool {
        self.packages.iter().any(|package| {
            package.checked.as_ref().is_some_and(|s| !s.ok)
                || package.built.as_ref().is_some_and(|s| !s.ok)
                || package
                    .components
                    .iter()
                    .any(|c| c.verdict.as_ref().is_some_and(|v| v.failed()))
        })
    }
}

/// A family's package, planned.
struct FamilyPlan {
    name: PackageName,
    destination: PathBuf,
    range: VersionSpecifiers,
    version: String,
    builtins: Vec<Builtin>,
}

pub fn migrate(shell: &mut Shell, opts: &MigrateOpts) -> anyhow::Result<MigrateReport> {
    let source = OsirisSource::open(&opts.source).map_err(|error| {
        with_help(
            error,
            "pass `--from` a virtual environment with osiris-pipeline installed, its site-packages, or a checkout of Osiris",
        )
    })?;
    let names = select(&source, opts)?;
    let quoted: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    shell.status(
        "Migrating",
        format!("{} from {}", quoted.join(", "), source.describe()),
    )?;
    let builtins = names
        .iter()
        .map(|name| Builtin::read(&source, name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            let help = match &error {
                MigrateError::DriverNotFound { .. } | MigrateError::SpecSyntax { .. } => {
                    "the Osiris installation is damaged or modified; reinstall osiris-pipeline, or point `--from` at another one"
                }
                _ => "`--from` must name an intact Osiris installation or source tree",
            };
            with_help(error, help)
        })?;
    let families = plan_families(&source, builtins, opts)?;

    fs::create_dir_all(&opts.out)
        .with_context(|| format!("failed to create `{}`", opts.out.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".ocp-migrate-")
        .tempdir_in(&opts.out)
        .with_context(|| {
            format!(
                "failed to create a temporary directory in `{}`",
                opts.out.display()
            )
        })?;
    let mut packages = Vec::new();
    for family in &families {
        let staged = staging.path().join(family.name.as_str());
        let plans = assemble::stage(&source, family_inputs(family), &staged)
            .with_context(|| format!("failed to write {}; nothing was written", family.name))?;
        packages.push((family, staged, plans));
    }
    commit(&packages)?;
    let mut report = MigrateReport {
        source: source.describe(),
        source_version: source.version.to_string(),
        packages: Vec::new(),
        verified: false,
    };
    for (family, _, plans) in packages {
        shell.status(
            "Created",
            format!(
                "{} v{} in `{}` (Osiris `{}`)",
                family.name,
                family.version,
                family.destination.display(),
                crate::model::format_specifiers(&family.range)
            ),
        )?;
        for plan in &plans {
            for kept in &plan.kept {
                shell.note(format!(
                    "{}: `{}:{}` imports `{}`, which stays a dependency on osiris-pipeline",
                    plan.name(),
                    kept.file,
                    kept.line,
                    kept.module
                ))?;
            }
            if let Some(connector) = &plan.written_over {
                shell.warn(format!(
                    "Osiris {}'s `{}` names no driver, so Osiris cannot run it in a pipeline; ocp wrote `{}` over its connector `{connector}`",
                    source.version,
                    plan.name(),
                    plan.driver
                ))?;
            }
        }
        report.packages.push(MigratedPackage {
            name: family.name.clone(),
            path: family.destination.clone(),
            version: family.version.clone(),
            osiris: crate::model::format_specifiers(&family.range),
            components: plans
                .into_iter()
                .map(|plan| MigratedComponent {
                    plan,
                    verdict: None,
                })
                .collect(),
            checked: None,
            built: None,
        });
    }
    if let Some(verify) = &opts.verify {
        verify::verify(shell, &source, verify, &mut report)?;
        report.verified = true;
    }
    Ok(report)
}

/// The components to migrate, each one the source has.
fn select(source: &OsirisSource, opts: &MigrateOpts) -> anyhow::Result<Vec<ComponentName>> {
    let available = source.components()?;
    let listed = || {
        let names: Vec<String> = available.iter().map(|n| format!("`{n}`")).collect();
        crate::diagnostics::join_words(&names)
    };
    if opts.all {
        if available.is_empty() {
            return Err(helped(
                format!("{} has no components", source.describe()),
                "point `--from` at an Osiris installation with `components/<name>/spec.yaml` folders",
            ));
        }
        return Ok(available);
    }
    if opts.components.is_empty() {
        return Err(helped(
            "name the components to migrate, or pass `--all`",
            format!("{} has {}", source.describe(), listed()),
        ));
    }
    let mut names = Vec::new();
    for text in &opts.components {
        let known = text
            .parse::<ComponentName>()
            .ok()
            .filter(|name| available.contains(name));
        let Some(name) = known else {
            return Err(with_help(
                MigrateError::UnknownComponent {
                    name: text.clone(),
                    version: source.version.to_string(),
                    available: listed(),
                },
                "name one of them, or migrate them all with `--all`",
            ));
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn plan_families(
    source: &OsirisSource,
    builtins: Vec<Builtin>,
    opts: &MigrateOpts,
) -> anyhow::Result<Vec<FamilyPlan>> {
    let mut by_family: BTreeMap<String, Vec<Builtin>> = BTreeMap::new();
    for builtin in builtins {
        by_family
            .entry(builtin.name.family().to_owned())
            .or_default()
            .push(builtin);
    }
    let mut families = Vec::new();
    for builtins in by_family.into_values() {
        let names: Vec<ComponentName> = builtins.iter().map(|b| b.name.clone()).collect();
        let name = names[0].default_package_name();
        let range = range::choose(&names, &source.version, opts.osiris.as_ref()).map_err(|error| {
            let help = match &error {
                range::RangeError::NoReleaseWithout { .. } => format!(
                    "a migrated package keeps the built-in's name, so it installs only on an Osiris without the built-in; pass the range it will support, for example `--osiris '{}'`",
                    error.suggestion()
                ),
                range::RangeError::IncludesBuiltin { .. } => format!(
                    "a migrated package keeps the built-in's name, so its range must exclude every release that ships it, for example `--osiris '{}'`",
                    error.suggestion()
                ),
            };
            helped(error.to_string(), help)
        })?;
        let version = builtins
            .iter()
            .filter_map(|b| semver::Version::parse(&b.version).ok())
            .max()
            .map_or_else(|| "1.0.0".to_owned(), |v| v.to_string());
        let destination = opts.out.join(name.as_str());
        if destination.symlink_metadata().is_ok() {
            return Err(helped(
                format!("destination `{}` already exists", destination.display()),
                "move it away, or write the packages elsewhere with `--out DIR`; ocp never overwrites a folder",
            ));
        }
        families.push(FamilyPlan {
            name,
            destination,
            range,
            version,
            builtins,
        });
    }
    Ok(families)
}

fn family_inputs(family: &FamilyPlan) -> assemble::FamilyInputs<'_> {
    assemble::FamilyInputs {
        name: &family.name,
        range: &family.range,
        version: &family.version,
        builtins: &family.builtins,
    }
}

/// Moves every staged package into place; if one move fails, the ones moved are removed.
fn commit(packages: &[(&FamilyPlan, PathBuf, Vec<ComponentPlan>)]) -> anyhow::Result<()> {
    let mut moved: Vec<&Path> = Vec::new();
    for (family, staged, _) in packages {
        let result = if family.destination.symlink_metadata().is_ok() {
            Err(anyhow::anyhow!(
                "`{}` appeared while the packages were being written",
                family.destination.display()
            ))
        } else {
            fs::rename(staged, &family.destination).with_context(|| {
                format!(
                    "failed to move {} into `{}`",
                    family.name,
                    family.destination.display()
                )
            })
        };
        if let Err(error) = result {
            for done in moved.iter().rev() {
                let _ = fs::remove_dir_all(done);
            }
            return Err(error.context("nothing was written"));
        }
        moved.push(&family.destination);
    }
    Ok(())
}
