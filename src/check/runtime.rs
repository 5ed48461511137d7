//! What a component needs at run time must be what pip installs with it: every distribution
//! named in `x-runtime.requirements.packages`, and every third-party module the driver imports
//! (read statically from the driver module and the package modules it imports), must be in
//! pyproject.toml's `project.dependencies`. The standard library, the package's own modules
//! and Osiris are never asked for; imports inside `try:`/`except:` (optional) or
//! `if TYPE_CHECKING:` are left out.

use std::collections::BTreeSet;
use std::str::FromStr;

use pep508_rs::Requirement;
use serde_json::Value;

use super::codes;
use super::driver::OSIRIS_PACKAGE;
use super::pyproject_rules::OSIRIS_DISTRIBUTION;
use crate::diagnostics::Diagnostic;
use crate::model::normalize_name;
use crate::package::imports::Import;
use crate::package::{Package, SpecFile};

/// The standard library's top-level modules.
const STDLIB: &str = include_str!("python-stdlib.txt");

/// How many of the package's own modules one driver's imports are followed through.
const MAX_MODULES: usize = 256;

/// Import names whose distribution is named differently (import -> distributions).
const DISTRIBUTIONS: &[(&str, &[&str])] = &[
    ("yaml", &["pyyaml"]),
    ("sklearn", &["scikit-learn"]),
    ("PIL", &["pillow"]),
    ("bs4", &["beautifulsoup4"]),
    ("cv2", &["opencv-python", "opencv-python-headless"]),
    ("MySQLdb", &["mysqlclient"]),
    ("Crypto", &["pycryptodome"]),
    ("jwt", &["pyjwt"]),
    ("attr", &["attrs"]),
    ("serial", &["pyserial"]),
    ("zmq", &["pyzmq"]),
    ("OpenSSL", &["pyopenssl"]),
    ("fitz", &["pymupdf"]),
    ("docx", &["python-docx"]),
    ("pptx", &["python-pptx"]),
    ("psycopg2", &["psycopg2", "psycopg2-binary"]),
    ("websocket", &["websocket-client"]),
    ("jose", &["python-jose"]),
    ("pkg_resources", &["setuptools"]),
    ("google", &[]),
];

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    let Some(pyproject) = &package.pyproject else {
        return;
    };
    let declared: BTreeSet<String> = pyproject
        .dependencies()
        .iter()
        .filter_map(|dependency| {
            Requirement::<pep508_rs::VerbatimUrl>::from_str(&dependency.value).ok()
        })
        .map(|requirement| normalize_name(requirement.name.as_ref()))
        .collect();
    for spec in &package.specs {
        runtime_packages(spec, &declared, out);
    }
    driver_imports(package, &declared, out);
}

fn runtime_packages(spec: &SpecFile, declared: &BTreeSet<String>, out: &mut Vec<Diagnostic>) {
    let Some(items) = spec
        .yaml
        .value
        .pointer("/x-runtime/requirements/packages")
        .and_then(Value::as_array)
    else {
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let Some(text) = item.as_str() else { continue };
        let Ok(requirement) = Requirement::<pep508_rs::VerbatimUrl>::from_str(text) else {
            continue;
        };
        let name = normalize_name(requirement.name.as_ref());
        if name == OSIRIS_DISTRIBUTION || name == OSIRIS_PACKAGE || declared.contains(&name) {
            continue;
        }
        out.push(
            Diagnostic::error(
                codes::RUNTIME_PACKAGE,
                format!("the spec says the component needs `{text}`, but pyproject.toml does not depend on it"),
            )
            .at_opt(&spec.path, spec.yaml.value_span(&format!("/x-runtime/requirements/packages/{index}")))
            .label("not in `project.dependencies`")
            .help(format!("add `\"{text}\"` to `dependencies` in pyproject.toml, so installing the package installs it")),
        );
    }
}

fn driver_imports(package: &Package, declared: &BTreeSet<String>, out: &mut Vec<Diagnostic>) {
    let own = package.import_packages();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut visited: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = package
        .specs
        .iter()
        .filter_map(|spec| spec.yaml.value.pointer("/x-runtime/driver")?.as_str())
        .filter_map(|driver| Some(driver.replace(':', ".").rsplit_once('.')?.0.to_owned()))
        .filter_map(|module| package.module_path(&module))
        .collect();
    while let Some(path) = queue.pop() {
        if visited.len() >= MAX_MODULES || !visited.insert(path.clone()) {
            continue;
        }
        let Some(module) = package.python_module(&path) else {
            continue;
        };
        let this = package.module_name(&path).unwrap_or_default();
        let is_package = path.ends_with("__init__.py");
        for import in module
            .imports
            .iter()
            .filter(|i| !i.optional && !i.type_only)
        {
            match import.top_level() {
                Some(top) if own.iter().any(|name| name == top) => {
                    queue.extend(local_modules(package, &import.module, import));
                }
                Some(top) => {
                    if is_provided(top, declared) || !reported.insert(top.to_owned()) {
                        continue;
                    }
                    out.push(undeclared(&path, import, top));
                }
                None => {
                    let Some(base) = relative_base(&this, is_package, import.level) else {
                        continue;
                    };
                    let absolute = match import.module.as_str() {
                        "" => base,
                        module => format!("{base}.{module}"),
                    };
                    queue.extend(local_modules(package, &absolute, import));
                }
            }
        }
    }
}

/// The files of a local import: the module itself and, for `from m import a`, submodule `m.a`.
fn local_modules(package: &Package, module: &str, import: &Import) -> Vec<String> {
    std::iter::once(module.to_owned())
        .chain(import.names.iter().map(|name| format!("{module}.{name}")))
        .filter_map(|candidate| package.module_path(&candidate))
        .collect()
}

/// The package a relative import starts from: `a.b` for `from . import x` in `a/b/c.py`.
fn relative_base(this: &str, is_package: bool, level: usize) -> Option<String> {
    let mut parts: Vec<&str> = this.split('.').filter(|p| !p.is_empty()).collect();
    let drop = if is_package {
        level.saturating_sub(1)
    } else {
        level
    };
    if drop > parts.len() {
        return None;
    }
    parts.truncate(parts.len() - drop);
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Whether the import `top` is the standard library, Osiris, or a declared distribution.
fn is_provided(top: &str, declared: &BTreeSet<String>) -> bool {
    if top.starts_with('_') || top == OSIRIS_PACKAGE {
        return true;
    }
    if STDLIB
        .lines()
        .any(|line| !line.starts_with('#') && line.trim() == top)
    {
        return true;
    }
    let normalized = normalize_name(top);
    let known = DISTRIBUTIONS
        .iter()
        .find(|(import, _)| *import == top)
        .map_or(&[][..], |(_, distributions)| *distributions);
    declared.iter().any(|name| {
        *name == normalized || known.contains(&name.as_str()) || name.contains(&normalized)
    })
}

/// The distribution a package depends on for the top-level import `top` (`yaml` needs
/// `pyyaml`); `None` for the standard library, Osiris, private modules and namespace
/// packages such as `google`, whose distribution the top-level name does not tell.
pub fn distribution_for_import(top: &str) -> Option<String> {
    if top.starts_with('_')
        || top == OSIRIS_PACKAGE
        || STDLIB
            .lines()
            .any(|line| !line.starts_with('#') && line.trim() == top)
    {
        return None;
    }
    match DISTRIBUTIONS.iter().find(|(known, _)| *known == top) {
        Some((_, distributions)) => distributions.last().map(|d| (*d).to_owned()),
        None => Some(normalize_name(top)),
    }
}

fn undeclared(path: &str, import: &Import, top: &str) -> Diagnostic {
    // A namespace package (`google.cloud.bigquery`) is provided by a distribution named
    // after the whole path.
    let distribution = match DISTRIBUTIONS.iter().find(|(known, _)| *known == top) {
        Some((_, [])) => normalize_name(&import.module),
        Some((_, distributions)) => distributions
            .last()
            .map_or_else(String::new, |d| (*d).to_owned()),
        None => normalize_name(top),
    };
    Diagnostic::error(
        codes::DRIVER_IMPORT,
        format!("the driver imports `{top}`, but pyproject.toml does not depend on a distribution that provides it"),
    )
    .at(path, import.span.clone())
    .label("not provided by `project.dependencies`")
    .help(format!("add `\"{distribution}\"` (the distribution that provides `{top}`) to `dependencies` in pyproject.toml; if the import is optional, put it in a `try:` block"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_match_their_distributions() {
        let declared: BTreeSet<String> = [
            "pyyaml",
            "python-dateutil",
            "scikit-learn",
            "google-cloud-bigquery",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        for provided in [
            "yaml", "dateutil", "sklearn", "google", "json", "os", "osiris", "_csv",
        ] {
            assert!(is_provided(provided, &declared), "{provided}");
        }
        for missing in ["boto3", "requests", "PIL"] {
            assert!(!is_provided(missing, &declared), "{missing}");
        }
    }

    #[test]
    fn imports_name_the_distribution_to_depend_on() {
        assert_eq!(distribution_for_import("yaml").as_deref(), Some("pyyaml"));
        assert_eq!(
            distribution_for_import("psycopg2").as_deref(),
            Some("psycopg2-binary")
        );
        assert_eq!(
            distribution_for_import("jsonpath_ng").as_deref(),
            Some("jsonpath-ng")
        );
        for provided in ["json", "osiris", "_csv", "google"] {
            assert_eq!(distribution_for_import(provided), None, "{provided}");
        }
    }

    #[test]
    fn relative_imports_start_from_the_right_package() {
        assert_eq!(relative_base("a.b.c", false, 1).as_deref(), Some("a.b"));
        assert_eq!(relative_base("a.b", true, 1).as_deref(), Some("a.b"));
        assert_eq!(relative_base("a.b.c", false, 2).as_deref(), Some("a"));
        assert_eq!(relative_base("a", false, 2), None);
    }
}
