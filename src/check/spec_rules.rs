//! spec.yaml against the Osiris 0.5.7 schema, with a precise finding (and, where the fix is
//! mechanical, the fix) for each place the published plan and the real schema disagree.

use std::collections::BTreeSet;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::{OSIRIS_SCHEMA_VERSION, builtin, codes};
use crate::diagnostics::Diagnostic;
use crate::model::{ComponentName, PackageName};
use crate::package::yaml::escape_pointer;
use crate::package::{Package, SpecFile};
use crate::schemas;

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    for spec in &package.specs {
        check_spec(spec, out);
        builtin_name(package, spec, out);
    }
}

/// A component name that Osiris itself ships can never be installed beside that Osiris: the
/// package's range must exclude every release that ships it.
fn builtin_name(package: &Package, spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let Some(name) = spec
        .yaml
        .value
        .get("name")
        .and_then(Value::as_str)
        .and_then(|name| name.parse::<ComponentName>().ok())
    else {
        return;
    };
    let prefix = package
        .pyproject
        .as_ref()
        .and_then(|pyproject| pyproject.project_string("name"))
        .and_then(|distribution| distribution.value.parse::<PackageName>().ok())
        .map(|distribution| distribution.normalized())
        .and_then(|normalized| normalized.strip_suffix("-osiris").map(str::to_owned));
    let range = package.pyproject.as_ref().and_then(super::osiris_range);
    if let Err(refused) = builtin::ensure_allowed(&name, prefix.as_deref(), range.as_ref()) {
        out.push(
            Diagnostic::error(codes::BUILTIN_NAME, refused.to_string())
                .at_opt(&spec.path, spec.yaml.value_span("/name"))
                .label("a name Osiris already uses")
                .help(format!(
                    "choose another name, such as `{}`, and rename the spec `name` and the entry point to match; or, for a package that replaces the built-in, exclude those releases from the `osiris-pipeline` range in pyproject.toml",
                    refused.suggestion
                )),
        );
    }
}

fn check_spec(spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let path = spec.path.as_str();
    let yaml = &spec.yaml;
    let Some(root) = yaml.value.as_object() else {
        let kind = json_kind(&yaml.value);
        out.push(
            Diagnostic::error(codes::SPEC_NOT_MAPPING, format!("`{path}` is {kind}, but a component spec is a mapping"))
                .at_opt(path, yaml.header_span("").or_else(|| yaml.value_span("")))
                .label(format!("this is {kind}"))
                .help("a spec starts with `name: family.role` and `version: 1.0.0` at the top level, with no leading `-`"),
        );
        return;
    };
    for (pointer, word) in &yaml.yaml11_booleans {
        let boolean = yaml
            .value
            .pointer(pointer)
            .and_then(Value::as_bool)
            .unwrap_or_default();
        out.push(
            Diagnostic::warning(codes::YAML11_BOOLEAN, format!("`{word}` is the boolean `{boolean}` to Osiris (PyYAML reads YAML 1.1), but a string to YAML 1.2 tools"))
                .at_opt(path, yaml.value_span(pointer))
                .label(format!("read as `{boolean}`"))
                .help(format!("write `{boolean}` for a boolean, or `\"{word}\"` for the text")),
        );
    }
    // Pointers explained by a specific finding; generic schema errors there are left out.
    let mut explained: BTreeSet<String> = BTreeSet::new();
    let mut explain = |pointer: String| {
        explained.insert(pointer);
    };
    let v = OSIRIS_SCHEMA_VERSION;

    for field in ["family", "role"] {
        if root.contains_key(field) {
            let name = root
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("family.role");
            out.push(
                Diagnostic::error(
                    codes::PLAN_FAMILY_ROLE,
                    format!("Osiris {v} rejects the top-level field `{field}`"),
                )
                .at_opt(path, yaml.key_span(&format!("/{field}")))
                .label("not allowed by the spec schema")
                .help(format!(
                    "remove this line; the {field} is already part of the component name `{name}`"
                )),
            );
            explain(format!("/{field}"));
        }
    }
    if root.contains_key("deprecated") {
        out.push(
            Diagnostic::error(codes::DEPRECATED_FIELD, format!("Osiris {v} rejects the top-level field `deprecated`"))
                .at_opt(path, yaml.key_span("/deprecated"))
                .label("not allowed by the spec schema")
                .help("remove this line and say that the component is deprecated in `description` and the README"),
        );
        explain("/deprecated".into());
    }
    if let Some(runtime) = root.get("x-runtime").and_then(Value::as_object) {
        for field in ["min_osiris_version", "max_osiris_version"] {
            if runtime.contains_key(field) {
                out.push(
                    Diagnostic::error(codes::PLAN_OSIRIS_VERSION, format!("Osiris {v} rejects `x-runtime.{field}`"))
                        .at_opt(path, yaml.key_span(&format!("/x-runtime/{field}")))
                        .label("`x-runtime` allows only `driver` and `requirements`")
                        .help("remove this line; the Osiris range lives in pyproject.toml as the `osiris-pipeline` dependency (for example `osiris-pipeline>=0.5.0,<1.0.0`)"),
                );
                explain(format!("/x-runtime/{field}"));
            }
        }
        if runtime.contains_key("plugin_version") {
            out.push(
                Diagnostic::error(codes::PLAN_PLUGIN_VERSION, format!("Osiris {v} rejects `x-runtime.plugin_version`"))
                    .at_opt(path, yaml.key_span("/x-runtime/plugin_version"))
                    .label("`x-runtime` allows only `driver` and `requirements`")
                    .help("remove this line; the package version is `version` at the top of the spec and in pyproject.toml"),
            );
            explain("/x-runtime/plugin_version".into());
        }
        if let Some(driver) = runtime.get("driver").and_then(Value::as_str)
            && driver.contains(':')
        {
            let dotted = driver.replace(':', ".");
            out.push(
                Diagnostic::error(
                    codes::DRIVER_COLON,
                    format!("Osiris {v} cannot load the driver `{driver}`: the path uses `:`"),
                )
                .at_opt(path, yaml.value_span("/x-runtime/driver"))
                .label(
                    "the schema allows only dotted paths, and the runtime splits at the last `.`",
                )
                .help(format!("write `driver: {dotted}`")),
            );
            explain("/x-runtime/driver".into());
        }
    }
    if let Some(requires) = root
        .get("compatibility")
        .and_then(|c| c.get("requires"))
        .and_then(Value::as_array)
    {
        for (index, item) in requires.iter().enumerate() {
            let Some(text) = item.as_str() else { continue };
            if text.contains(',') {
                let (name, bounds) = split_name(text);
                let items: Vec<String> = bounds
                    .split(',')
                    .map(|bound| format!("`{name}{}`", bound.trim()))
                    .collect();
                out.push(
                    Diagnostic::error(codes::REQUIRES_TWO_BOUNDS, format!("Osiris {v} rejects `{text}`: each `compatibility.requires` item takes one bound"))
                        .at_opt(path, yaml.value_span(&format!("/compatibility/requires/{index}")))
                        .label("two bounds in one item")
                        .help(format!("write one item per bound: {}", items.join(" and "))),
                );
                explain(format!("/compatibility/requires/{index}"));
            }
        }
    }
    if let Some(version) = root.get("version")
        && !version.is_string()
    {
        let shown = version.to_string();
        out.push(
            Diagnostic::error(
                codes::VERSION_NOT_STRING,
                format!("`version: {shown}` is read as a number, not a version"),
            )
            .at_opt(path, yaml.value_span("/version"))
            .label("YAML reads this as a number")
            .help(format!(
                "quote a full semantic version, for example `version: \"{}\"`",
                pad_version(&shown)
            )),
        );
        explain("/version".into());
    }
    if let Some(modes) = root.get("modes").and_then(Value::as_array) {
        for (index, mode) in modes.iter().enumerate() {
            if mode.as_str() == Some("load") {
                out.push(
                    Diagnostic::warning(
                        codes::LOAD_MODE,
                        "the `load` mode is deprecated in Osiris",
                    )
                    .at_opt(path, yaml.value_span(&format!("/modes/{index}")))
                    .help("use `write` for components that write data"),
                );
            }
        }
    }
    if let Some(name) = root.get("name").and_then(Value::as_str)
        && let Err(error) = name.parse::<ComponentName>()
    {
        out.push(
            Diagnostic::error(codes::COMPONENT_NAME, error.to_string())
                .at_opt(path, yaml.value_span("/name"))
                .label("not `family.role`"),
        );
    }
    if root
        .get("x-runtime")
        .and_then(|r| r.get("driver"))
        .is_none()
    {
        out.push(
            Diagnostic::error(
                codes::NO_DRIVER,
                "the spec names no driver, so Osiris cannot run this component",
            )
            .at_opt(path, yaml.key_span("/x-runtime").or(yaml.key_span("/name")))
            .help("add `x-runtime:` with `driver: <package>.driver.<ClassName>`"),
        );
    }
    schema_findings(spec, &explained, out);
}

fn schema_findings(spec: &SpecFile, explained: &BTreeSet<String>, out: &mut Vec<Diagnostic>) {
    let path = spec.path.as_str();
    let yaml = &spec.yaml;
    let validator = match schemas::osiris_spec_validator() {
        Ok(validator) => validator,
        Err(error) => {
            out.push(Diagnostic::error(
                codes::SCHEMA,
                format!("ocp could not load its copy of the Osiris schema: {error}"),
            ));
            return;
        }
    };
    let v = OSIRIS_SCHEMA_VERSION;
    for error in validator.iter_errors(&yaml.value) {
        let pointer = error.instance_path().as_str().to_owned();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for property in unexpected {
                    let child = format!("{pointer}/{}", escape_pointer(property));
                    if explained.contains(&child) {
                        continue;
                    }
                    let place = if pointer.is_empty() {
                        "at the top level".to_owned()
                    } else {
                        format!("in `{}`", dotted(&pointer))
                    };
                    out.push(
                        Diagnostic::error(codes::SCHEMA, format!("Osiris {v} rejects the field `{property}` {place}"))
                            .at_opt(path, yaml.key_span(&child))
                            .label("not allowed by the spec schema")
                            .help("remove it, or move the information into `description`; vendor data belongs under an allowed field"),
                    );
                }
            }
            kind => {
                if explained
                    .iter()
                    .any(|done| pointer == *done || pointer.starts_with(&format!("{done}/")))
                {
                    continue;
                }
                let message = match kind {
                    ValidationErrorKind::Required { property } => {
                        let property = property
                            .as_str()
                            .map_or_else(|| property.to_string(), str::to_owned);
                        let place = if pointer.is_empty() {
                            String::new()
                        } else {
                            format!(" in `{}`", dotted(&pointer))
                        };
                        format!("Osiris {v} requires the field `{property}`{place}")
                    }
                    ValidationErrorKind::Pattern { pattern } => {
                        format!(
                            "Osiris {v} rejects {} at `{}`: it must match `{pattern}`",
                            error.instance(),
                            dotted(&pointer)
                        )
                    }
                    _ => format!(
                        "Osiris {v} rejects `{}`: {error}",
                        display_pointer(&pointer)
                    ),
                };
                let span = match kind {
                    // A missing field: point at the mapping it is missing from, not its whole body.
                    ValidationErrorKind::Required { .. } => yaml.header_span(&pointer),
                    _ => yaml.value_span(&pointer),
                }
                .or_else(|| yaml.nearest_span(&pointer));
                let mut diagnostic = Diagnostic::error(codes::SCHEMA, message)
                    .at_opt(path, span)
                    .label(format!("checked against the Osiris {v} spec schema"));
                if let ValidationErrorKind::Required { property } = kind {
                    let property = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_owned);
                    let place = if pointer.is_empty() {
                        "at the top level".to_owned()
                    } else {
                        format!("under `{}`", dotted(&pointer))
                    };
                    diagnostic = diagnostic.help(format!(
                        "add `{property}:` {place}; `ocp new` shows a complete spec.yaml"
                    ));
                }
                out.push(diagnostic);
            }
        }
    }
}

fn split_name(requirement: &str) -> (&str, &str) {
    let index = requirement
        .find(['<', '>', '=', '!', '~'])
        .unwrap_or(requirement.len());
    (&requirement[..index], &requirement[index..])
}

fn pad_version(shown: &str) -> String {
    let parts: Vec<&str> = shown.split('.').collect();
    match parts.len() {
        1 => format!("{shown}.0.0"),
        2 => format!("{shown}.0"),
        _ => shown.to_owned(),
    }
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "the spec".to_owned()
    } else {
        dotted(pointer)
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
