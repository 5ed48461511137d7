//! Writes one family's package into a staging folder: the first component as `ocp new` would
//! make its package (the `migrated` template, which brings the tests and README around the
//! built-in's own code), every further component as `ocp add` would add it (a subpackage,
//! its entry point and package data, its tests and README section), each with the migrated
//! spec, carried modules and requirements; then the version and the changelog.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use pep440_rs::VersionSpecifiers;
use pep508_rs::Requirement;

use crate::migrate::component::Builtin;
use crate::migrate::source::OsirisSource;
use crate::migrate::{self, ComponentPlan, scenarios};
use crate::model::{PackageName, normalize_name};
use crate::ops::add;
use crate::package::{Package, edit, python};
use crate::scaffold::{self, NewPackage, Template};

/// The `compatibility.requires` item for the package's `requires-python` (`>=3.11`, what
/// every package ocp makes states).
const PYTHON_ITEM: &str = "python>=3.11";
/// Osiris's license, which the migrated code keeps.
const LICENSE: &str = "Apache-2.0";

/// What one family's package is made from.
pub struct FamilyInputs<'a> {
    pub name: &'a PackageName,
    pub range: &'a VersionSpecifiers,
    /// The package version (semver, which is also valid PEP 440).
    pub version: &'a str,
    pub builtins: &'a [Builtin],
}

/// Writes the package into `staged` (which must not exist) and returns what each component
/// brought.
pub fn stage(
    source: &OsirisSource,
    family: FamilyInputs<'_>,
    staged: &Path,
) -> anyhow::Result<Vec<ComponentPlan>> {
    let Some((first, rest)) = family.builtins.split_first() else {
        return Ok(Vec::new());
    };
    let import = family.name.import_name().to_string();
    let mut plans = Vec::new();

    // The first component: the package itself, as `ocp new` makes it.
    let new = NewPackage {
        component: first.name.clone(),
        package: family.name.clone(),
        template: Template::Migrated,
        author: None,
        license: LICENSE.to_owned(),
        osiris: family.range.clone(),
        year: time::OffsetDateTime::now_utc().year(),
    };
    let mut variables = migrate::template_variables(first, source);
    variables.insert("wheel_version", family.version.to_owned());
    let mut files = scaffold::render_with(&new, &variables)?;
    drop_unused(
        &mut files,
        &format!("src/{import}"),
        "tests/test_pipeline.py",
        first,
    );
    let plan = migrate::plan_component(
        source,
        first,
        &import,
        &format!("src/{import}"),
        family.version,
        PYTHON_ITEM,
    )?;
    files.extend(plan.files.clone());
    let pyproject = files.get("pyproject.toml").cloned().unwrap_or_default();
    let pyproject = edit::set_pyproject_version(&pyproject, family.version)?;
    files.insert(
        "pyproject.toml".to_owned(),
        with_requirements(&pyproject, &plan.requirements)?,
    );
    let init = format!("src/{import}/__init__.py");
    if let Some(text) = files.get(&init).cloned() {
        files.insert(init, at_version(&text, family.version)?);
    }
    write_all(staged, &files)?;
    plans.push(plan);

    // Every further component, as `ocp add` adds it.
    for builtin in rest {
        let package = Package::load(staged)?;
        let variables = migrate::template_variables(builtin, source);
        let mut planned = add::plan(
            &package,
            &builtin.name,
            Some(Template::Migrated),
            &variables,
        )?;
        let directory = planned.placement.directory.clone();
        let pipeline_test = format!("tests/test_{}_pipeline.py", planned.placement.test_prefix);
        let has_scenario = scenarios::for_builtin(builtin.name.as_str()).is_some();
        planned.changes.files.retain(|change| {
            change.old.is_some()
                || (change.path != format!("{directory}/connection.py")
                    && (has_scenario || change.path != pipeline_test))
        });
        let plan = migrate::plan_component(
            source,
            builtin,
            &planned.placement.module,
            &directory,
            family.version,
            PYTHON_ITEM,
        )?;
        for (path, text) in &plan.files {
            planned.changes.create(path, text.clone())?;
        }
        let pyproject = planned.changes.current("pyproject.toml")?;
        planned.changes.edit(
            "pyproject.toml",
            with_requirements(&pyproject, &plan.requirements)?,
        )?;
        planned.changes.apply()?;
        plans.push(plan);
    }

    let changelog = staged.join("CHANGELOG.md");
    let text = fs::read_to_string(&changelog)
        .with_context(|| format!("failed to read `{}`", changelog.display()))?;
    fs::write(
        &changelog,
        changelog_text(&text, family.version, source, &plans),
    )
    .with_context(|| format!("failed to write `{}`", changelog.display()))?;
    Ok(plans)
}

/// Leaves out what a migrated component does not use: the template's connection helper (the
/// built-in reads `resolved_connection` its own way) and, without a scenario, the pipeline
/// test.
fn drop_unused(
    files: &mut BTreeMap<String, String>,
    directory: &str,
    pipeline_test: &str,
    builtin: &Builtin,
) {
    files.remove(&format!("{directory}/connection.py"));
    if scenarios::for_builtin(builtin.name.as_str()).is_none() {
        files.remove(pipeline_test);
    }
}

/// pyproject.toml with the requirements it lacks (by name) added.
fn with_requirements(text: &str, requirements: &[String]) -> anyhow::Result<String> {
    let have: Vec<String> = crate::package::pyproject::Pyproject::parse(text)
        .map(|pyproject| {
            pyproject
                .dependencies()
                .iter()
                .filter_map(|d| Requirement::<pep508_rs::VerbatimUrl>::from_str(&d.value).ok())
                .map(|r| normalize_name(r.name.as_ref()))
                .collect()
        })
        .unwrap_or_default();
    Ok(edit::add_dependencies(
        text,
        None,
        requirements,
        |requirement| {
            Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement)
                .map_or(true, |r| have.contains(&normalize_name(r.name.as_ref())))
        },
    )?)
}

/// `__version__ = "<version>"` in a module that has one.
fn at_version(text: &str, version: &str) -> anyhow::Result<String> {
    match python::parse_module(text).version {
        Some((_, span)) => Ok(edit::replace_text(text, span, version)?),
        None => Ok(text.to_owned()),
    }
}

fn write_all(root: &Path, files: &BTreeMap<String, String>) -> anyhow::Result<()> {
    for (relative, text) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("failed to create `{}`", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("failed to write `{}`", path.display()))?;
    }
    Ok(())
}

/// The template's changelog, with its first release replaced by the migration.
fn changelog_text(
    template: &str,
    version: &str,
    source: &OsirisSource,
    plans: &[ComponentPlan],
) -> String {
    let head = template
        .find("\n## [Unreleased]")
        .map_or(template, |at| &template[..at]);
    let mut text = format!(
        "{}\n\n## [Unreleased]\n\n## [{version}]\n\n### Added\n\n",
        head.trim_end()
    );
    for plan in plans {
        text.push_str(&format!(
            "- `{}`, migrated from the built-in of Osiris {} ({}).\n",
            plan.name(),
            source.version,
            plan.builtin.origin_words()
        ));
    }
    text
}
