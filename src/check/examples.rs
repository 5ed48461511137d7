//! Every example in a spec must be a config the component accepts: each `examples[].config`
//! is validated against the spec's own `configSchema`, as Osiris's `components validate
//! --level enhanced` does, except that fields listed in `x-connection-fields` may be left out
//! (in a pipeline they come from the connection, not the step's config).

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::codes;
use super::secrets::looks_secret;
use crate::diagnostics::Diagnostic;
use crate::package::Package;
use crate::package::SpecFile;
use crate::package::yaml::escape_pointer;

/// What is wrong, where, what to do, and whether the text shown there is a secret.
type Finding = (String, Option<std::ops::Range<usize>>, String, bool);

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    for spec in &package.specs {
        check_spec(spec, out);
    }
}

fn check_spec(spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let value = &spec.yaml.value;
    let (Some(schema), Some(examples)) = (
        value.get("configSchema").filter(|s| s.is_object()),
        value.get("examples").and_then(Value::as_array),
    ) else {
        return;
    };
    let connection_fields = connection_fields(value);
    let mut schema = schema.clone();
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|field| {
            field
                .as_str()
                .is_none_or(|field| !connection_fields.iter().any(|c| c == field))
        });
    }
    // A configSchema that is not a valid schema is the spec schema's concern (S003).
    let Ok(validator) = jsonschema::draft202012::new(&schema) else {
        return;
    };
    for (index, example) in examples.iter().enumerate() {
        let Some(config) = example.get("config") else {
            continue;
        };
        let title = example
            .get("title")
            .and_then(Value::as_str)
            .map_or_else(String::new, |title| format!(" \"{title}\""));
        let base = format!("/examples/{index}/config");
        for error in validator.iter_errors(config) {
            let pointer = format!("{base}{}", error.instance_path().as_str());
            let findings: Vec<Finding> = match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|field| {
                        (
                            format!("has `{field}`, which `configSchema` does not allow"),
                            spec.yaml.key_span(&format!("{pointer}/{}", escape_pointer(field))),
                            format!("remove `{field}` from the example, or add it to `configSchema.properties`"),
                            false,
                        )
                    })
                    .collect(),
                ValidationErrorKind::Required { property } => {
                    let field = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_owned);
                    vec![(
                        format!("lacks `{field}`, which `configSchema` requires"),
                        spec.yaml.header_span(&pointer),
                        format!("add `{field}` to the example's config, or list it in `x-connection-fields` if a connection provides it"),
                        false,
                    )]
                }
                _ => {
                    let at = display(&pointer[base.len()..]);
                    // The value of a secret-looking field is never shown, not even a fake one.
                    let secret = pointer.rsplit('/').next().is_some_and(looks_secret);
                    let what = if secret {
                        format!("breaks `configSchema` at `{at}`")
                    } else {
                        format!("breaks `configSchema` at `{at}`: {error}")
                    };
                    vec![(
                        what,
                        spec.yaml.value_span(&pointer),
                        "make the example's config match `configSchema`".to_owned(),
                        secret,
                    )]
                }
            };
            for (what, span, help, secret) in findings {
                let diagnostic = Diagnostic::error(
                    codes::EXAMPLE_CONFIG,
                    format!("example {}{title} {what}", index + 1),
                )
                .at_opt(
                    &spec.path,
                    span.or_else(|| spec.yaml.nearest_span(&pointer)),
                )
                .label("checked against this spec's `configSchema`")
                .help(help);
                out.push(if secret {
                    diagnostic.masked()
                } else {
                    diagnostic
                });
            }
        }
    }
}

/// The field names of `x-connection-fields`, in either of its forms (`[host, port]` or
/// `[{name: host, override: allowed}]`).
fn connection_fields(spec: &Value) -> Vec<String> {
    spec.get("x-connection-fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|field| {
                    field
                        .as_str()
                        .or_else(|| field.get("name").and_then(Value::as_str))
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn display(pointer: &str) -> String {
    match pointer.trim_start_matches('/') {
        "" => "the top level".to_owned(),
        inner => inner.replace('/', "."),
    }
}
