//! pyproject.toml: the fields a package needs, `requires-python`, the `osiris-pipeline`
//! dependency, one entry point per component, and spec.yaml shipped as package data.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::VersionOrUrl;

use super::{ENTRY_POINT_GROUP, codes, join_words};
use crate::diagnostics::Diagnostic;
use crate::model::{ComponentName, PackageName, normalize_name};
use crate::package::Package;
use crate::package::pyproject::Pyproject;

const FILE: &str = "pyproject.toml";
/// The distribution that is Osiris on PyPI.
pub const OSIRIS_DISTRIBUTION: &str = "osiris-pipeline";

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    let Some(pyproject) = &package.pyproject else {
        return;
    };
    if pyproject.project().is_none() {
        out.push(
            Diagnostic::error(codes::PROJECT_FIELD, "pyproject.toml has no `[project]` table")
                .in_file(FILE)
                .help("add a `[project]` table with name, version, description, readme, license and requires-python"),
        );
        return;
    }
    required_fields(package, pyproject, out);
    requires_python(pyproject, out);
    osiris_dependency(pyproject, out);
    entry_points(package, pyproject, out);
    package_data(package, pyproject, out);
}

fn required_fields(package: &Package, pyproject: &Pyproject, out: &mut Vec<Diagnostic>) {
    for field in [
        "name",
        "version",
        "description",
        "readme",
        "license",
        "requires-python",
    ] {
        match pyproject.project_item(field) {
            None if field == "version" && pyproject.is_dynamic("version") => out.push(
                Diagnostic::error(codes::PROJECT_FIELD, "`project.version` is dynamic; ocp needs the version written in pyproject.toml")
                    .at_opt(FILE, pyproject.project_span())
                    .help("write `version = \"1.0.0\"` in `[project]` and remove \"version\" from `dynamic`"),
            ),
            None => out.push(
                Diagnostic::error(codes::PROJECT_FIELD, format!("`[project]` has no `{field}`"))
                    .at_opt(FILE, pyproject.project_span())
                    .help(format!("add `{}` under `[project]`", example_field(field))),
            ),
            Some(_) => {}
        }
    }
    if let Some(name) = pyproject.project_string("name") {
        match name.value.parse::<PackageName>() {
            Err(error) => out.push(
                Diagnostic::error(codes::PROJECT_FIELD, error.to_string()).at_opt(FILE, name.span),
            ),
            Ok(distribution) => distribution_name(package, &distribution, name.span, out),
        }
    }
    if let Some(readme) = pyproject.project_string("readme")
        && !package
            .files
            .iter()
            .any(|file| file.relative == readme.value)
    {
        out.push(
            Diagnostic::error(
                codes::README_FIELD,
                format!(
                    "`project.readme` names `{}`, which is not in the package",
                    readme.value
                ),
            )
            .at_opt(FILE, readme.span)
            .help("create the file, or point `readme` at the README you have"),
        );
    }
}

/// P009: a distribution is named after the family of its components: `acme-osiris`, or
/// `acme-<anything>-osiris` when the family is split over several packages.
fn distribution_name(
    package: &Package,
    distribution: &PackageName,
    span: Option<std::ops::Range<usize>>,
    out: &mut Vec<Diagnostic>,
) {
    // A name Osiris ships is refused outright (S023); naming advice for it would mislead.
    let mut components: Vec<ComponentName> = package
        .specs
        .iter()
        .filter_map(|spec| spec.yaml.value.get("name")?.as_str()?.parse().ok())
        .filter(|name: &ComponentName| super::builtin::shipped_by(name.as_str()).is_empty())
        .collect();
    components.sort();
    let mut families: Vec<&str> = components.iter().map(ComponentName::family).collect();
    families.sort_unstable();
    families.dedup();
    let name = distribution.normalized();
    let fits = families.iter().any(|family| {
        let family = normalize_name(family);
        name == format!("{family}-osiris")
            || (name.starts_with(&format!("{family}-")) && name.ends_with("-osiris"))
    });
    if fits || families.is_empty() {
        return;
    }
    let quoted: Vec<String> = components.iter().map(|c| format!("`{c}`")).collect();
    let diagnostic = match (families.as_slice(), components.as_slice()) {
        ([family], [component]) => Diagnostic::warning(
            codes::DISTRIBUTION_NAME,
            format!("component `{component}` is conventionally shipped as `{family}-osiris`, not `{distribution}`"),
        )
        .help(format!(
            "rename the distribution to `{family}-osiris`, or to `{family}-{}-osiris` if `{family}-osiris` is another package of yours; to ship it in `{family}-osiris` itself, run `ocp add {component}` there",
            component.role().replace('_', "-")
        )),
        ([family], _) => Diagnostic::warning(
            codes::DISTRIBUTION_NAME,
            format!("components {} are conventionally shipped together as `{family}-osiris`, not `{distribution}`", join_words(&quoted)),
        )
        .help(format!("rename the distribution to `{family}-osiris` (or `{family}-<name>-osiris`) unless you publish under this name on purpose")),
        _ => Diagnostic::warning(
            codes::DISTRIBUTION_NAME,
            format!("the distribution `{distribution}` is named after none of the families of its components {}", join_words(&quoted)),
        )
        .help(format!("name it after one of them, such as `{}-osiris`, unless you publish under this name on purpose", families[0])),
    };
    out.push(diagnostic.at_opt(FILE, span));
}

fn example_field(field: &str) -> &'static str {
    match field {
        "name" => "name = \"shopify-osiris\"",
        "version" => "version = \"1.0.0\"",
        "description" => "description = \"Shopify extractor for Osiris\"",
        "readme" => "readme = \"README.md\"",
        "license" => "license = \"Apache-2.0\"",
        _ => "requires-python = \">=3.11\"",
    }
}

fn requires_python(pyproject: &Pyproject, out: &mut Vec<Diagnostic>) {
    let Some(value) = pyproject.project_string("requires-python") else {
        return;
    };
    let specifiers = match VersionSpecifiers::from_str(&value.value) {
        Ok(specifiers) => specifiers,
        Err(error) => {
            out.push(
                Diagnostic::error(
                    codes::REQUIRES_PYTHON,
                    format!(
                        "`requires-python = \"{}\"` is not a valid version range: {error}",
                        value.value
                    ),
                )
                .at_opt(FILE, value.span)
                .help("write `requires-python = \">=3.11\"`"),
            );
            return;
        }
    };
    let too_old = ["2.7", "3.0", "3.8", "3.9", "3.10", "3.10.99"]
        .iter()
        .filter_map(|probe| Version::from_str(probe).ok())
        .find(|probe| specifiers.contains(probe));
    if let Some(probe) = too_old {
        out.push(
            Diagnostic::error(codes::REQUIRES_PYTHON, format!("`requires-python = \"{}\"` allows Python {probe}, but Osiris needs 3.11 or later", value.value))
                .at_opt(FILE, value.span)
                .label("allows Python older than 3.11")
                .help("write `requires-python = \">=3.11\"`"),
        );
    }
}

/// The `osiris-pipeline` requirement of `project.dependencies`: the one place a package states
/// which Osiris versions it works with.
pub fn osiris_requirement(
    pyproject: &Pyproject,
) -> Option<(VersionSpecifiers, Option<std::ops::Range<usize>>)> {
    pyproject.dependencies().into_iter().find_map(|dependency| {
        let requirement = crate::model::parse_pep508(&dependency.value).ok()?;
        if requirement.name.as_ref() != OSIRIS_DISTRIBUTION {
            return None;
        }
        match requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => Some((specifiers, dependency.span)),
            _ => Some((VersionSpecifiers::empty(), dependency.span)),
        }
    })
}

fn osiris_dependency(pyproject: &Pyproject, out: &mut Vec<Diagnostic>) {
    let mut found = false;
    for dependency in pyproject.dependencies() {
        let requirement = match crate::model::parse_pep508(&dependency.value) {
            Ok(requirement) => requirement,
            Err(reason) => {
                out.push(
                    Diagnostic::error(codes::BAD_REQUIREMENT, format!("`{}` is not a valid dependency: {reason}", dependency.value))
                        .at_opt(FILE, dependency.span)
                        .help("write dependencies as PEP 508 requirements, for example `requests>=2.31,<3`"),
                );
                continue;
            }
        };
        if requirement.name.as_ref() != OSIRIS_DISTRIBUTION {
            continue;
        }
        found = true;
        let specifiers = match &requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) if !specifiers.is_empty() => {
                specifiers.clone()
            }
            _ => {
                out.push(
                    Diagnostic::error(codes::OSIRIS_DEPENDENCY, "the `osiris-pipeline` dependency has no version range")
                        .at_opt(FILE, dependency.span)
                        .label("which Osiris versions does this work with?")
                        .help("write `osiris-pipeline>=0.5.0,<1.0.0` (the versions you have tested against)"),
                );
                continue;
            }
        };
        let has_upper = specifiers.iter().any(|s| {
            matches!(
                s.operator(),
                pep440_rs::Operator::LessThan
                    | pep440_rs::Operator::LessThanEqual
                    | pep440_rs::Operator::Equal
                    | pep440_rs::Operator::TildeEqual
                    | pep440_rs::Operator::EqualStar
                    | pep440_rs::Operator::ExactEqual
            )
        });
        if !has_upper {
            out.push(
                Diagnostic::warning(
                    codes::OSIRIS_UPPER_BOUND,
                    format!(
                        "`{}` has no upper bound; a future Osiris release may break this component",
                        dependency.value
                    ),
                )
                .at_opt(FILE, dependency.span)
                .help("add an upper bound such as `<1.0.0`"),
            );
        }
    }
    if !found {
        out.push(
            Diagnostic::error(codes::OSIRIS_DEPENDENCY, "`project.dependencies` has no `osiris-pipeline` requirement")
                .at_opt(FILE, pyproject.project_key_span("dependencies").or(pyproject.project_span()))
                .help("add `\"osiris-pipeline>=0.5.0,<1.0.0\"` to `dependencies`; this is the one place that states the Osiris versions a package supports"),
        );
    }
}

fn entry_points(package: &Package, pyproject: &Pyproject, out: &mut Vec<Diagnostic>) {
    let spec_names: Vec<(String, &str)> = package
        .specs
        .iter()
        .filter_map(|spec| {
            Some((
                spec.yaml.value.get("name")?.as_str()?.to_owned(),
                spec.path.as_str(),
            ))
        })
        .collect();
    let Some(entry_points) = pyproject.entry_points(ENTRY_POINT_GROUP) else {
        let example = spec_names
            .first()
            .map_or_else(|| "shopify.extractor".to_owned(), |(name, _)| name.clone());
        let import = pyproject
            .project_string("name")
            .and_then(|n| n.value.parse::<PackageName>().ok())
            .map_or_else(
                || "shopify_osiris".to_owned(),
                |n| n.import_name().to_string(),
            );
        out.push(
            Diagnostic::error(codes::NO_ENTRY_POINTS, format!("pyproject.toml declares no `{ENTRY_POINT_GROUP}` entry points, so Osiris cannot discover the component"))
                .at_opt(FILE, pyproject.project_span())
                .help(format!("add:\n[project.entry-points.\"{ENTRY_POINT_GROUP}\"]\n\"{example}\" = \"{import}:load_spec\"")),
        );
        return;
    };
    // With no readable spec (missing or broken), the spec's own finding says enough.
    let specs_readable = !package.specs.is_empty()
        && package.broken_specs.is_empty()
        && package
            .specs
            .iter()
            .all(|spec| spec.yaml.value.get("name").is_some_and(|n| n.is_string()));
    for entry in &entry_points {
        if specs_readable && !spec_names.iter().any(|(name, _)| *name == entry.name) {
            let known: Vec<String> = spec_names
                .iter()
                .map(|(name, _)| format!("`{name}`"))
                .collect();
            let help = if known.is_empty() {
                "add the component's spec.yaml".to_owned()
            } else {
                format!(
                    "the specs in this package are named {}; name the entry point after one of them",
                    known.join(", ")
                )
            };
            out.push(
                Diagnostic::error(
                    codes::ENTRY_POINT_NAME,
                    format!("entry point `{}` matches no spec.yaml `name`", entry.name),
                )
                .at_opt(FILE, entry.name_span.clone())
                .help(help),
            );
        }
        let (module, attribute) = entry.module_and_attribute();
        let Some(attribute) = attribute else {
            out.push(
                Diagnostic::error(
                    codes::ENTRY_POINT_TARGET,
                    format!(
                        "entry point `{}` = `{}` names no function",
                        entry.name, entry.target
                    ),
                )
                .at_opt(FILE, entry.target_span.clone())
                .help(format!("write `\"{module}:load_spec\"`")),
            );
            continue;
        };
        match package.module_path(module) {
            None => out.push(
                Diagnostic::error(
                    codes::ENTRY_POINT_TARGET,
                    format!(
                        "entry point `{}` names the module `{module}`, which is not in the package",
                        entry.name
                    ),
                )
                .at_opt(FILE, entry.target_span.clone())
                .help(format!(
                    "create `src/{}/__init__.py`, or fix the module name",
                    module.replace('.', "/")
                )),
            ),
            Some(path) => {
                let defined = package.python_module(&path).is_some_and(|m| {
                    m.function(attribute).is_some()
                        || m.imported_names.iter().any(|n| n == attribute)
                });
                if !defined {
                    out.push(
                        Diagnostic::error(codes::ENTRY_POINT_TARGET, format!("entry point `{}` names `{module}:{attribute}`, but `{path}` defines no `{attribute}`", entry.name))
                            .at_opt(FILE, entry.target_span.clone())
                            .help(format!("define `def {attribute}() -> dict:` in `{path}`, returning the parsed spec.yaml")),
                    );
                }
            }
        }
    }
    for (name, spec_path) in &spec_names {
        if !entry_points.iter().any(|entry| entry.name == *name) {
            out.push(
                Diagnostic::error(codes::ENTRY_POINT_NAME, format!("component `{name}` (in `{spec_path}`) has no `{ENTRY_POINT_GROUP}` entry point"))
                    .at_opt(FILE, pyproject.entry_point_group_span(ENTRY_POINT_GROUP))
                    .help(format!("add `\"{name}\" = \"<module>:load_spec\"` to `[project.entry-points.\"{ENTRY_POINT_GROUP}\"]`")),
            );
        }
    }
}

fn package_data(package: &Package, pyproject: &Pyproject, out: &mut Vec<Diagnostic>) {
    let backend = pyproject
        .build_backend()
        .map(|b| b.value)
        .unwrap_or_else(|| "setuptools.build_meta:__legacy__".to_owned());
    if !backend.starts_with("setuptools") {
        // hatchling, flit, pdm and poetry ship every file inside the package directory.
        return;
    }
    let source_root = package.source_root();
    let data = pyproject.setuptools_package_data();
    for spec in &package.specs {
        let relative = spec
            .path
            .strip_prefix(&format!("{source_root}/"))
            .unwrap_or(&spec.path);
        let Some((directory, file_name)) = relative.rsplit_once('/') else {
            continue;
        };
        let import_package = directory.replace('/', ".");
        let shipped = data.as_ref().is_some_and(|(entries, _)| {
            entries.iter().any(|(name, patterns)| {
                (name == &import_package || name == "*" || name.is_empty())
                    && patterns
                        .iter()
                        .any(|pattern| glob_matches(pattern, file_name))
            })
        });
        if !shipped {
            out.push(
                Diagnostic::error(codes::PACKAGE_DATA, format!("`{}` is not shipped as package data, so the installed package cannot load its spec", spec.path))
                    .at_opt(FILE, data.as_ref().and_then(|(_, span)| span.clone()).or(pyproject.project_span()))
                    .help(format!("add:\n[tool.setuptools.package-data]\n{import_package} = [\"{file_name}\"]")),
            );
        }
    }
}

/// Matches the simple globs setuptools package-data uses (`*`, `?`, literal text).
fn glob_matches(pattern: &str, name: &str) -> bool {
    fn matches(pattern: &[char], name: &[char]) -> bool {
        match (pattern.first(), name.first()) {
            (None, None) => true,
            (Some('*'), _) => {
                matches(&pattern[1..], name) || (!name.is_empty() && matches(pattern, &name[1..]))
            }
            (Some('?'), Some(_)) => matches(&pattern[1..], &name[1..]),
            (Some(p), Some(n)) if p == n => matches(&pattern[1..], &name[1..]),
            _ => false,
        }
    }
    let pattern = pattern.rsplit('/').next().unwrap_or(pattern);
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches(&pattern, &name)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn package_data_globs() {
        assert!(glob_matches("spec.yaml", "spec.yaml"));
        assert!(glob_matches("*.yaml", "spec.yaml"));
        assert!(glob_matches("**/*.yaml", "spec.yaml"));
        assert!(!glob_matches("*.yml", "spec.yaml"));
    }
}
