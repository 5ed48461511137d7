//! `ocp add <family.role>`: one more component in an existing package, from the same
//! templates `ocp new` uses. The component gets a subpackage of the package's import package
//! (`src/acme_osiris/processor/`: `load_spec()`, spec.yaml at the package's version, the
//! driver), its own tests (`tests/test_processor_*.py`), an entry point, package data, the
//! template's dependencies the package lacks, a README section and a CHANGELOG entry under
//! Unreleased. The version is left alone. Every file is planned before any is written, and
//! nothing is written when one cannot be.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use pep508_rs::Requirement;

use crate::check::{ENTRY_POINT_GROUP, builtin};
use crate::error::helped;
use crate::model::{ComponentName, PackageName, PackageVersion, normalize_name};
use crate::ops::changes::Changes;
use crate::package::pyproject::{Pyproject, Spanned};
use crate::package::{Package, edit, python, yaml};
use crate::scaffold::component::{self, Placement};
use crate::scaffold::{NewPackage, Template, parse_osiris_range};
use crate::shell::Shell;

/// The range written when the package states none (the one `ocp new` uses).
const DEFAULT_OSIRIS: &str = ">=0.5.0,<1.0.0";

/// Python's keywords, which cannot name a subpackage.
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

pub struct AddOpts {
    /// The package's root directory.
    pub path: PathBuf,
    pub component: ComponentName,
    /// `None`: the template that fits the role.
    pub template: Option<Template>,
}

/// What `ocp add` did.
#[derive(Debug)]
pub struct Added {
    pub package: String,
    pub version: String,
    pub template: Template,
    pub created: Vec<String>,
    pub edited: Vec<String>,
}

pub fn add(shell: &mut Shell, opts: &AddOpts) -> anyhow::Result<Added> {
    let component = &opts.component;
    let package = Package::load(&opts.path)?;
    let planned = plan(
        &package,
        component,
        opts.template,
        &std::collections::BTreeMap::new(),
    )?;
    let Planned {
        changes,
        distribution,
        version,
        template,
        ..
    } = planned;
    changes
        .apply()
        .with_context(|| format!("failed to add `{component}`; nothing was changed"))?;
    let (created, edited): (Vec<_>, Vec<_>) = changes
        .files
        .iter()
        .partition(|change| change.old.is_none());
    shell.status(
        "Added",
        format!("`{component}` to {distribution} v{version} ({template} template)"),
    )?;
    Ok(Added {
        package: distribution.to_string(),
        version: version.to_string(),
        template,
        created: created.into_iter().map(|c| c.path.clone()).collect(),
        edited: edited.into_iter().map(|c| c.path.clone()).collect(),
    })
}

/// An addition planned but not yet written.
#[derive(Debug)]
pub struct Planned {
    pub changes: Changes,
    pub placement: Placement,
    pub distribution: PackageName,
    pub version: PackageVersion,
    pub template: Template,
}

/// Plans `component` into `package` (nothing is written): the rendered files, the
/// pyproject.toml, README and CHANGELOG edits. `extra` holds values for the template's own
/// placeholders (`ocp migrate` uses it for the migrated template).
pub fn plan(
    package: &Package,
    component: &ComponentName,
    template: Option<Template>,
    extra: &std::collections::BTreeMap<&'static str, String>,
) -> anyhow::Result<Planned> {
    let pyproject = package.pyproject.as_ref().ok_or_else(|| {
        helped(
            format!("no readable `pyproject.toml` in `{}`", package.root.display()),
            format!("run ocp in the package's root directory or pass `--path DIR`; to start a new package, run `ocp new {component}`"),
        )
    })?;
    let distribution = pyproject
        .project_string("name")
        .and_then(|name| name.value.parse::<PackageName>().ok())
        .ok_or_else(|| {
            helped(
                "pyproject.toml has no valid `project.name`",
                "fix it first; `ocp check` shows what is wrong",
            )
        })?;
    let version = pyproject
        .project_string("version")
        .and_then(|version| PackageVersion::from_str(&version.value).ok())
        .ok_or_else(|| {
            helped(
                "pyproject.toml has no valid `project.version`",
                "fix it first; `ocp check` shows what is wrong",
            )
        })?;
    let semver = version.to_semver().map_err(|error| {
        helped(
            error.to_string(),
            "use a `MAJOR.MINOR.PATCH` version first (`ocp version`)",
        )
    })?;
    let normalized = distribution.normalized();
    builtin::ensure_allowed(
        component,
        normalized.strip_suffix("-osiris"),
        crate::check::osiris_range(pyproject).as_ref(),
    )
    .map_err(|refused| {
        helped(
            refused.to_string(),
            builtin::refused_help(&refused, component),
        )
    })?;
    if provides(package, pyproject, component) {
        return Err(helped(
            format!("{distribution} already provides `{component}`"),
            "choose another role, or edit the component's spec.yaml and driver",
        ));
    }
    let template = match template {
        Some(template) => template,
        None => Template::for_role(component.role()).ok_or_else(|| {
            helped(
                format!("the role `{}` has no default template", component.role()),
                "choose one with `--template api-extractor|db-writer|sql-processor`",
            )
        })?,
    };
    let placement = placement(package, &distribution, component)?;
    let osiris = crate::check::osiris_range(pyproject)
        .filter(|range| !range.is_empty())
        .map_or_else(|| parse_osiris_range(DEFAULT_OSIRIS), Ok)?;
    let new = NewPackage {
        component: component.clone(),
        package: distribution.clone(),
        template,
        author: None,
        license: pyproject
            .project_string("license")
            .map_or_else(|| "Apache-2.0".to_owned(), |license| license.value),
        osiris,
        year: time::OffsetDateTime::now_utc().year(),
    };
    let mut variables = extra.clone();
    variables
        .entry("wheel_version")
        .or_insert_with(|| version.to_string());
    let rendered = component::render_with(&new, &placement, &variables)?;

    let mut changes = Changes::new(&package.root);
    for (path, text) in &rendered.files {
        let text = at_version(path, text, &semver, &version)?;
        changes.create(path, text)?;
    }
    for (path, text) in &rendered.shared_test_files {
        if !package.root.join(path).exists() {
            changes.create(path, text.clone())?;
        }
    }
    plan_pyproject(
        &mut changes,
        pyproject,
        component,
        &placement,
        &rendered.pyproject,
    )?;
    if let Some(readme) = file_named(package, &["README.md"]) {
        let existing: Vec<String> = package
            .specs
            .iter()
            .filter_map(|spec| Some(spec.yaml.value.get("name")?.as_str()?.to_owned()))
            .collect();
        let text = changes.current(&readme)?;
        let merged =
            edit::add_readme_component(&text, &rendered.readme, component.as_str(), &existing);
        changes.edit(&readme, merged)?;
    }
    if let Some(changelog) = file_named(package, &["CHANGELOG.md"]) {
        let text = changes.current(&changelog)?;
        let entry = format!("The `{component}` component.");
        changes.edit(&changelog, edit::add_changelog_entry(&text, &entry))?;
    }
    Ok(Planned {
        changes,
        placement,
        distribution,
        version,
        template,
    })
}

/// Whether the package already has a spec or an entry point named `component`.
fn provides(package: &Package, pyproject: &Pyproject, component: &ComponentName) -> bool {
    let spec = package.specs.iter().any(|spec| {
        spec.yaml.value.get("name").and_then(|n| n.as_str()) == Some(component.as_str())
    });
    let entry_point = pyproject
        .entry_points(ENTRY_POINT_GROUP)
        .is_some_and(|entries| entries.iter().any(|e| e.name == component.as_str()));
    spec || entry_point
}

/// Where the component goes: a subpackage named after the role (or `family_role` when the
/// family is not the package's own) of the package's import package.
fn placement(
    package: &Package,
    distribution: &PackageName,
    component: &ComponentName,
) -> anyhow::Result<Placement> {
    let import = distribution.import_name().to_string();
    let root = package.source_root();
    let package_dir = if root.is_empty() {
        import.clone()
    } else {
        format!("{root}/{import}")
    };
    if package.module_path(&import).is_none() {
        return Err(helped(
            format!(
                "{distribution} has no import package `{import}` (`{package_dir}/__init__.py`)"
            ),
            "`ocp add` puts the component in a subpackage of it; create it, or check the distribution name",
        ));
    }
    let own_family = distribution
        .normalized()
        .strip_suffix("-osiris")
        .is_some_and(|prefix| prefix == normalize_name(component.family()));
    let mut name = if own_family {
        component.role().to_owned()
    } else {
        format!(
            "{}_{}",
            component.family().replace('-', "_"),
            component.role()
        )
    };
    if KEYWORDS.contains(&name.as_str()) {
        name.push('_');
    }
    let directory = format!("{package_dir}/{name}");
    let taken = package.files.iter().any(|file| {
        file.relative == format!("{directory}.py")
            || file.relative.starts_with(&format!("{directory}/"))
    }) || package.root.join(&directory).exists();
    if taken {
        return Err(helped(
            format!("`{directory}` already exists, and `ocp add` would put `{component}` there"),
            "move it away, or pick a role whose name is free",
        ));
    }
    Ok(Placement {
        module: format!("{import}.{name}"),
        directory,
        test_prefix: name,
    })
}

/// A rendered file at the package's version: spec.yaml's `version:` in semver, and
/// `__version__` in PEP 440 (the templates write the version a new package starts at).
fn at_version(
    path: &str,
    text: &str,
    semver: &str,
    version: &PackageVersion,
) -> anyhow::Result<String> {
    if path.ends_with("/spec.yaml") {
        let Ok(located) = yaml::load(text) else {
            return Ok(text.to_owned());
        };
        return Ok(match located.value_span("/version") {
            Some(span) => edit::replace_scalar(text, span, semver)?,
            None => text.to_owned(),
        });
    }
    if path.ends_with(".py")
        && let Some((_, span)) = python::parse_module(text).version
    {
        return Ok(edit::replace_text(text, span, &version.to_string())?);
    }
    Ok(text.to_owned())
}

/// The entry point, package data, and the dependencies of the component's template that the
/// package lacks (read from the pyproject.toml `ocp new` would write for it).
fn plan_pyproject(
    changes: &mut Changes,
    pyproject: &Pyproject,
    component: &ComponentName,
    placement: &Placement,
    rendered: &str,
) -> anyhow::Result<()> {
    let mut text = changes.current("pyproject.toml")?;
    text = edit::add_entry_point(
        &text,
        ENTRY_POINT_GROUP,
        component.as_str(),
        &format!("{}:load_spec", placement.module),
    )?;
    let setuptools = pyproject
        .build_backend()
        .is_none_or(|backend| backend.value.starts_with("setuptools"));
    text = edit::add_package_data(&text, &placement.module, "spec.yaml", setuptools)?;
    if let Ok(template) = Pyproject::parse(rendered) {
        let names = |requirements: &[Spanned<String>]| -> Vec<String> {
            requirements
                .iter()
                .filter_map(|d| Requirement::<pep508_rs::VerbatimUrl>::from_str(&d.value).ok())
                .map(|r| normalize_name(r.name.as_ref()))
                .collect()
        };
        // The runtime dependencies, and the `dev` extra the template's tests need.
        for extra in [None, Some("dev")] {
            let (have, wanted) = match extra {
                None => (pyproject.dependencies(), template.dependencies()),
                Some(extra) => (
                    pyproject.optional_dependencies(extra).unwrap_or_default(),
                    template.optional_dependencies(extra).unwrap_or_default(),
                ),
            };
            let have = names(&have);
            let wanted: Vec<String> = wanted.into_iter().map(|d| d.value).collect();
            text = edit::add_dependencies(&text, extra, &wanted, |requirement| {
                Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement)
                    .map_or(true, |r| have.contains(&normalize_name(r.name.as_ref())))
            })?;
        }
    }
    changes.edit("pyproject.toml", text)
}

/// The package's file with one of these names (any case), if it has one.
fn file_named(package: &Package, names: &[&str]) -> Option<String> {
    package
        .files
        .iter()
        .map(|file| file.relative.clone())
        .find(|path| names.iter().any(|name| path.eq_ignore_ascii_case(name)))
}
