//! The driver named by `x-runtime.driver` must exist in the package, as a class with a
//! `run(self, *, step_id, config, inputs, ctx)` method. Checked by reading the source; the
//! user's code is never run.

use serde_json::Value;

use super::codes;
use crate::diagnostics::Diagnostic;
use crate::package::Package;
use crate::package::python::Parameter;

const KEYWORDS: [&str; 4] = ["step_id", "config", "inputs", "ctx"];

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
        let Some(module_path) = package.module_path(module) else {
            out.push(
                Diagnostic::error(
                    codes::DRIVER_MODULE,
                    format!("the driver module `{module}` is not in this package"),
                )
                .at_opt(&spec.path, span)
                .label("no such module")
                .help(format!(
                    "create `src/{}.py` with `class {class_name}`, or fix the path",
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
        let mut missing = Vec::new();
        let mut positional = Vec::new();
        let takes_var_keyword = run
            .parameters
            .iter()
            .any(|p| matches!(p, Parameter::VarKeyword(_)));
        for keyword in KEYWORDS {
            let found = run.parameters.iter().find_map(|parameter| match parameter {
                Parameter::Named {
                    name, keyword_only, ..
                } if name == keyword => Some(*keyword_only),
                _ => None,
            });
            match found {
                None if takes_var_keyword => {}
                None => missing.push(format!("`{keyword}`")),
                Some(false) => positional.push(format!("`{keyword}`")),
                Some(true) => {}
            }
        }
        let mut problems = Vec::new();
        if !positional.is_empty() {
            problems.push(format!("takes {} positionally", join_words(&positional)));
        }
        if !missing.is_empty() {
            problems.push(format!(
                "has no {} parameter{}",
                join_words(&missing),
                if missing.len() > 1 { "s" } else { "" }
            ));
        }
        if !problems.is_empty() {
            out.push(
                Diagnostic::error(codes::DRIVER_SIGNATURE, format!("`{class_name}.run` {}; Osiris calls it with keyword arguments only", problems.join(" and ")))
                    .at(&module_path, run.span.clone())
                    .label("signature does not match the driver contract")
                    .help("write `def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx=None) -> dict:`"),
            );
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
