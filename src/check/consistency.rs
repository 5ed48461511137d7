//! Facts stated in more than one place must agree: the version (pyproject.toml, every
//! spec.yaml, `__version__`), the Osiris range and the Python range. pyproject.toml is the
//! source of truth for all three, because it is what pip and ocp's resolver read; the other
//! places are checked against it.

use std::collections::BTreeSet;
use std::str::FromStr;

use pep440_rs::{VersionSpecifier, VersionSpecifiers};
use serde_json::Value;

use super::codes;
use super::pyproject_rules::osiris_requirement;
use crate::diagnostics::Diagnostic;
use crate::model::{
    PackageName, PackageVersion, format_specifiers, semver_to_pep440, single_bound_items,
};
use crate::package::Package;

const FILE: &str = "pyproject.toml";

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    versions(package, out);
    osiris_range(package, out);
    python_range(package, out);
}

/// `python>=3.11` items of `compatibility.requires` must state exactly `requires-python`.
fn python_range(package: &Package, out: &mut Vec<Diagnostic>) {
    let Some(declared) = package
        .pyproject
        .as_ref()
        .and_then(|pyproject| pyproject.project_string("requires-python"))
    else {
        return;
    };
    // An invalid `requires-python` is reported by the pyproject rules.
    let Ok(truth) = VersionSpecifiers::from_str(&declared.value) else {
        return;
    };
    for spec in &package.specs {
        let Some(items) = spec
            .yaml
            .value
            .pointer("/compatibility/requires")
            .and_then(Value::as_array)
        else {
            continue;
        };
        let mut stated: Vec<VersionSpecifier> = Vec::new();
        let mut first = None;
        for (index, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else { continue };
            let Some(bounds) = text.trim().strip_prefix("python") else {
                continue;
            };
            if bounds.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                continue; // another package whose name starts with `python`
            }
            first.get_or_insert(index);
            if let Ok(specifiers) = VersionSpecifiers::from_str(bounds.trim()) {
                stated.extend(specifiers.iter().cloned());
            }
        }
        let Some(first) = first else { continue };
        let agrees = stated.iter().all(|bound| truth.iter().any(|t| t == bound))
            && truth.iter().all(|bound| stated.iter().any(|s| s == bound));
        if agrees {
            continue;
        }
        let stated_text: Vec<String> = stated.iter().map(ToString::to_string).collect();
        let fix = match single_bound_items("python", &truth) {
            Some(items) => {
                let items: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
                format!(
                    "list exactly {} (one bound per item), or remove the Python items",
                    items.join(" and ")
                )
            }
            None => "remove the Python items (the spec schema cannot state this range)".to_owned(),
        };
        out.push(
            Diagnostic::error(
                codes::PYTHON_RANGE_DISAGREES,
                format!(
                    "`compatibility.requires` states the Python range `{}`, but pyproject.toml says `requires-python = \"{}\"`",
                    stated_text.join(","),
                    declared.value
                ),
            )
            .at_opt(&spec.path, spec.yaml.value_span(&format!("/compatibility/requires/{first}")))
            .label("disagrees with pyproject.toml")
            .help(format!("{fix}; `requires-python` in pyproject.toml is the source of truth")),
        );
    }
}

fn versions(package: &Package, out: &mut Vec<Diagnostic>) {
    let Some(pyproject) = &package.pyproject else {
        return;
    };
    let Some(declared) = pyproject.project_string("version") else {
        return;
    };
    let version = match PackageVersion::from_str(&declared.value) {
        Ok(version) => version,
        Err(error) => {
            out.push(
                Diagnostic::error(codes::BAD_VERSION, error.to_string())
                    .at_opt(FILE, declared.span)
                    .help("write a version such as `1.0.0` or `1.0.0rc1`"),
            );
            return;
        }
    };
    let semver = version.to_semver();
    if let Err(error) = &semver {
        out.push(
            Diagnostic::error(codes::BAD_VERSION, format!("{error}; Osiris specs need semantic versions"))
                .at_opt(FILE, declared.span.clone())
                .help("use a `MAJOR.MINOR.PATCH` version, optionally with `a`, `b`, `rc` or `.dev` pre-release parts"),
        );
    }
    let spelled = semver.unwrap_or_else(|_| declared.value.clone());
    for spec in &package.specs {
        let Some(text) = spec.yaml.value.get("version").and_then(Value::as_str) else {
            continue;
        };
        // A spec version that is not semver is reported by the schema rules.
        let Ok(spec_version) = semver_to_pep440(text) else {
            continue;
        };
        if spec_version != version {
            out.push(
                Diagnostic::error(codes::VERSION_MISMATCH, format!("`{}` says version `{text}`, but pyproject.toml says `{}`", spec.path, declared.value))
                    .at_opt(&spec.path, spec.yaml.value_span("/version"))
                    .label("differs from pyproject.toml")
                    .help(format!("write `version: {spelled}` (pyproject.toml is the source of truth; `{}` in PEP 440 is `{spelled}` in semver)", declared.value)),
            );
        }
    }
    // `__version__` in the import package, when it is set there.
    let import = pyproject
        .project_string("name")
        .and_then(|n| n.value.parse::<PackageName>().ok())
        .map(|n| n.import_name());
    if let Some(import) = import
        && let Some(path) = package.module_path(import.as_str())
        && let Some((text, span)) = package.python_module(&path).and_then(|m| m.version.clone())
    {
        let agrees = PackageVersion::from_str(&text).is_ok_and(|v| v == version);
        if !agrees {
            out.push(
                Diagnostic::error(codes::VERSION_MISMATCH, format!("`__version__` is `{text}`, but pyproject.toml says `{}`", declared.value))
                    .at(&path, span)
                    .label("differs from pyproject.toml")
                    .help(format!("write `__version__ = \"{}\"`, or read it with `importlib.metadata.version(...)`", declared.value)),
            );
        }
    }
}

/// A bound stated in a spec: `osiris>=0.5.0` (in `compatibility.requires`) or
/// `osiris-pipeline>=0.5.0,<1.0.0` (in `x-runtime.requirements.packages`).
fn osiris_bounds(text: &str) -> Option<Result<Vec<VersionSpecifier>, String>> {
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(text.len());
    let name = text[..name_end].trim();
    if name != "osiris" && name != "osiris-pipeline" && name != "osiris_pipeline" {
        return None;
    }
    let rest = text[name_end..].trim();
    if rest.is_empty() {
        return Some(Ok(Vec::new()));
    }
    Some(
        VersionSpecifiers::from_str(rest)
            .map(|s| s.iter().cloned().collect())
            .map_err(|e| e.to_string()),
    )
}

fn osiris_range(package: &Package, out: &mut Vec<Diagnostic>) {
    let Some(pyproject) = &package.pyproject else {
        return;
    };
    let Some((truth, _)) = osiris_requirement(pyproject) else {
        return;
    };
    if truth.is_empty() {
        return;
    }
    let truth_set: BTreeSet<String> = truth.iter().map(ToString::to_string).collect();
    let truth_text = format_specifiers(&truth);
    for spec in &package.specs {
        // compatibility.requires states one bound per item; together they must equal the truth.
        let mut stated: Vec<(String, Option<std::ops::Range<usize>>)> = Vec::new();
        let mut pointers = Vec::new();
        if let Some(items) = spec
            .yaml
            .value
            .get("compatibility")
            .and_then(|c| c.get("requires"))
            .and_then(Value::as_array)
        {
            for (index, item) in items.iter().enumerate() {
                let Some(text) = item.as_str() else { continue };
                let pointer = format!("/compatibility/requires/{index}");
                if let Some(Ok(bounds)) = osiris_bounds(text) {
                    for bound in bounds {
                        stated.push((bound.to_string(), spec.yaml.value_span(&pointer)));
                    }
                    pointers.push(pointer);
                }
            }
        }
        if !pointers.is_empty() {
            let stated_set: BTreeSet<String> =
                stated.iter().map(|(bound, _)| bound.clone()).collect();
            let mut stated_in_order: Vec<String> = Vec::new();
            for (bound, _) in &stated {
                if !stated_in_order.contains(bound) {
                    stated_in_order.push(bound.clone());
                }
            }
            if stated_set != truth_set {
                let items: Vec<String> = truth
                    .iter()
                    .map(|bound| format!("`osiris{bound}`"))
                    .collect();
                out.push(
                    Diagnostic::error(
                        codes::OSIRIS_RANGE_DISAGREES,
                        format!("`compatibility.requires` states the Osiris range `{}`, but pyproject.toml says `osiris-pipeline{truth_text}`", stated_in_order.join(",")),
                    )
                    .at_opt(&spec.path, spec.yaml.value_span(&pointers[0]))
                    .label("disagrees with pyproject.toml")
                    .help(format!("list exactly {} (one bound per item), or remove the Osiris items; pyproject.toml is the source of truth", items.join(" and "))),
                );
            }
        }
        if let Some(items) = spec
            .yaml
            .value
            .get("x-runtime")
            .and_then(|r| r.get("requirements"))
            .and_then(|r| r.get("packages"))
            .and_then(Value::as_array)
        {
            for (index, item) in items.iter().enumerate() {
                let Some(text) = item.as_str() else { continue };
                let Some(Ok(bounds)) = osiris_bounds(text) else {
                    continue;
                };
                let stated_set: BTreeSet<String> = bounds.iter().map(ToString::to_string).collect();
                if !bounds.is_empty() && stated_set != truth_set {
                    out.push(
                        Diagnostic::error(codes::OSIRIS_RANGE_DISAGREES, format!("`x-runtime.requirements.packages` says `{text}`, but pyproject.toml says `osiris-pipeline{truth_text}`"))
                            .at_opt(&spec.path, spec.yaml.value_span(&format!("/x-runtime/requirements/packages/{index}")))
                            .label("disagrees with pyproject.toml")
                            .help(format!("write `osiris-pipeline{truth_text}`, or remove the item; pyproject.toml is the source of truth")),
                    );
                }
            }
        }
    }
}
