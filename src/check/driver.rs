//! The driver named by `x-runtime.driver` must exist in the package, inside one of its own
//! import packages (never in Osiris's `osiris`, which belongs to osiris-pipeline), as a class
//! with a `run(self, *, step_id, config, inputs, ctx)` method. Osiris calls `run` with those
//! four keywords, so a signature that only fails to make them keyword-only is a warning, and
//! one Osiris cannot call is an error. Checked by reading the source; the user's code is
//! never run.

use serde_json::Value;

use super::{codes, join_words};
use crate::diagnostics::Diagnostic;
use crate::package::Package;
use crate::package::python::{Function, Parameter};

const KEYWORDS: [&str; 4] = ["step_id", "config", "inputs", "ctx"];

/// The import package of Osiris itself: a component's modules never go there.
pub const OSIRIS_PACKAGE: &str = "osiris";

/// `src` in the src layout; `.` in a flat one.
fn source_prefix(package: &Package) -> &'static str {
    match package.source_root() {
        "" => ".",
        root => root,
    }
}

/// Where a driver outside the package belongs: in the package that holds the spec (or the
/// first import package), pointing at a class of that name if the package already has one.
fn own_driver_help(package: &Package, spec_path: &str, module: &str, class_name: &str) -> String {
    if let Some((path, _)) = package
        .python_modules()
        .find(|(_, parsed)| parsed.class(class_name).is_some())
        && let Some(found) = package.module_name(path)
    {
        return format!(
            "`{path}` defines `class {class_name}`: write `driver: {found}.{class_name}`"
        );
    }
    let home = package
        .spec_import_package(spec_path)
        .or_else(|| {
            package
                .import_packages()
                .into_iter()
                .find(|name| name != OSIRIS_PACKAGE)
        })
        .unwrap_or_else(|| "<your_package>".to_owned());
    let file_name = module.rsplit('.').next().unwrap_or("driver");
    let file_name = if package.module_path(&format!("{home}.driver")).is_none() {
        "driver"
    } else {
        file_name
    };
    format!(
        "move the driver into this package: create `{}/{}/{file_name}.py` with `class {class_name}`, and write `driver: {home}.{file_name}.{class_name}`",
        source_prefix(package),
        home.replace('.', "/")
    )
}

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    for spec in &package.specs {
        let Some(driver) = spec
            .yaml
            .value
            .get("x-runtime")
            .and_then(|r| r.get("driver"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        // The colon form is reported by the spec rules; check what it was meant to name.
        let driver = driver.replace(':', ".");
        let span = spec.yaml.value_span("/x-runtime/driver");
        let Some((module, class_name)) = driver.rsplit_once('.') else {
            continue;
        };
        let own = package.import_packages();
        let top = module.split('.').next().unwrap_or_default();
        if top == OSIRIS_PACKAGE || (!own.is_empty() && !own.iter().any(|name| name == top)) {
            let (label, reason) = if top == OSIRIS_PACKAGE {
                (
                    "a module of Osiris itself",
                    format!(
                        "the driver module `{module}` is inside Osiris's own package `osiris`, which belongs to osiris-pipeline"
                    ),
                )
            } else {
                (
                    "not one of this package's modules",
                    format!("the driver module `{module}` is not in this package"),
                )
            };
            out.push(
                Diagnostic::error(codes::DRIVER_MODULE, reason)
                    .at_opt(&spec.path, span)
                    .label(label)
                    .help(own_driver_help(package, &spec.path, module, class_name)),
            );
            continue;
        }
        let Some(module_path) = package.module_path(module) else {
            out.push(
                Diagnostic::error(
                    codes::DRIVER_MODULE,
                    format!("the driver module `{module}` is not in this package"),
                )
                .at_opt(&spec.path, span)
                .label("no such module")
                .help(format!(
                    "create `{}/{}.py` with `class {class_name}`, or fix the path",
                    source_prefix(package),
                    module.replace('.', "/")
                )),
            );
            continue;
        };
        let Some(parsed) = package.python_module(&module_path) else {
            continue;
        };
        let Some(class) = parsed.class(class_name) else {
            if parsed.imported_names.iter().any(|name| name == class_name) {
                continue; // re-exported from elsewhere; the import is the user's choice
            }
            let classes: Vec<String> = parsed
                .classes
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect();
            let help = if classes.is_empty() {
                format!("define `class {class_name}` in `{module_path}`")
            } else {
                format!(
                    "`{module_path}` defines {}; point `x-runtime.driver` at one of them",
                    classes.join(", ")
                )
            };
            out.push(
                Diagnostic::error(
                    codes::DRIVER_CLASS,
                    format!("`{module_path}` defines no class `{class_name}`"),
                )
                .at_opt(&spec.path, span)
                .label("named here")
                .help(help),
            );
            continue;
        };
        let Some(run) = class.methods.iter().find(|method| method.name == "run") else {
            out.push(
                Diagnostic::error(codes::DRIVER_RUN, format!("driver class `{class_name}` has no `run` method"))
                    .at(&module_path, class.span.clone())
                    .help("add `def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx=None) -> dict:`"),
            );
            continue;
        };
        if let Some(diagnostic) = signature(class_name, run) {
            out.push(diagnostic.at(&module_path, run.span.clone()));
        }
    }
}

/// What is wrong with `run`'s parameters, if anything. Osiris calls
/// `run(step_id=..., config=..., inputs=..., ctx=...)`: a parameter it cannot pass by keyword,
/// or one it never passes, is an error; parameters that are merely not keyword-only work, and
/// are a warning.
fn signature(class_name: &str, run: &Function) -> Option<Diagnostic> {
    let takes_var_keyword = run
        .parameters
        .iter()
        .any(|p| matches!(p, Parameter::VarKeyword(_)));
    let positional_only_end = run
        .parameters
        .iter()
        .position(|p| matches!(p, Parameter::PositionalOnlyMarker));
    let mut missing = Vec::new();
    let mut positional_only = Vec::new();
    let mut positional = Vec::new();
    for keyword in KEYWORDS {
        let found = run
            .parameters
            .iter()
            .enumerate()
            .find_map(|(at, parameter)| match parameter {
                Parameter::Named {
                    name, keyword_only, ..
                } if name == keyword => Some((at, *keyword_only)),
                _ => None,
            });
        match found {
            None if takes_var_keyword => {}
            None => missing.push(format!("`{keyword}`")),
            Some((at, _)) if positional_only_end.is_some_and(|end| at < end) => {
                positional_only.push(format!("`{keyword}`"));
            }
            Some((_, false)) => positional.push(format!("`{keyword}`")),
            Some((_, true)) => {}
        }
    }
    // A required parameter Osiris never passes makes every call fail.
    let unknown_required: Vec<String> = run
        .parameters
        .iter()
        .enumerate()
        .filter_map(|(at, parameter)| match parameter {
            Parameter::Named {
                name, has_default, ..
            } if at > 0 && !has_default && !KEYWORDS.contains(&name.as_str()) => {
                Some(format!("`{name}`"))
            }
            _ => None,
        })
        .collect();
    let mut problems = Vec::new();
    if !positional_only.is_empty() {
        problems.push(format!(
            "takes {} positionally only",
            join_words(&positional_only)
        ));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "has no {} parameter{}",
            join_words(&missing),
            if missing.len() > 1 { "s" } else { "" }
        ));
    }
    if !unknown_required.is_empty() {
        problems.push(format!(
            "requires {}, which Osiris never passes",
            join_words(&unknown_required)
        ));
    }
    let fix = "write `def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx=None) -> dict:`";
    if !problems.is_empty() {
        return Some(
            Diagnostic::error(codes::DRIVER_SIGNATURE, format!("`{class_name}.run` {}; Osiris calls it with the keyword arguments `step_id`, `config`, `inputs` and `ctx`", problems.join(" and ")))
                .label("signature does not match the driver contract")
                .help(fix),
        );
    }
    if positional.is_empty() {
        return None;
    }
    Some(
        Diagnostic::warning(codes::DRIVER_SIGNATURE, format!("`{class_name}.run` also accepts {} positionally; Osiris passes them by keyword, so this works, but the driver contract makes them keyword-only", join_words(&positional)))
            .label("not keyword-only")
            .help(format!("add `*` after `self` to match the contract: {}", &fix["write ".len()..])),
    )
}
