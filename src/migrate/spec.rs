//! The migrated spec: the built-in's spec.yaml text with every field and comment carried
//! over, and only what must change for the new package rewritten in place: the driver path
//! (added under `x-runtime` when the built-in named none), the version (the package's), and
//! a `python` item of `compatibility.requires` that disagrees with the package's Python
//! range. Each change is reported.

use serde_json::Value;

use super::component::Builtin;
use crate::package::edit;

/// The rewritten text and a line per change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedSpec {
    pub text: String,
    pub changes: Vec<String>,
}

/// Rewrites `builtin`'s spec for a package whose driver is `driver`, whose version is
/// `version` (semver) and whose Python range is `python` (`python>=3.11`).
pub fn rewrite(builtin: &Builtin, driver: &str, version: &str, python: &str) -> MigratedSpec {
    let spec = &builtin.spec;
    let text = &builtin.spec_text;
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut changes = Vec::new();
    let mut insertion: Option<(usize, String)> = None;

    match spec
        .value
        .pointer("/x-runtime/driver")
        .and_then(Value::as_str)
    {
        Some(old) => {
            if let Some(span) = spec.value_span("/x-runtime/driver") {
                replacements.push((span, driver.to_owned()));
                changes.push(format!("`x-runtime.driver`: `{old}` -> `{driver}`"));
            }
        }
        None => {
            changes.push(format!(
                "`x-runtime.driver`: added `{driver}` (the built-in names no driver)"
            ));
            insertion = Some(match spec.value.get("x-runtime") {
                Some(Value::Object(fields)) if !fields.is_empty() => {
                    // Under the existing `x-runtime:` key, at its children's indentation.
                    let first = fields
                        .keys()
                        .filter_map(|key| {
                            spec.key_span(&format!(
                                "/x-runtime/{}",
                                crate::package::yaml::escape_pointer(key)
                            ))
                        })
                        .map(|span| span.start)
                        .min()
                        .unwrap_or(text.len());
                    let line_start = text[..first].rfind('\n').map_or(0, |at| at + 1);
                    let indent = &text[line_start..first];
                    (line_start, format!("{indent}driver: {driver}\n"))
                }
                _ => {
                    let separator = if text.ends_with('\n') { "" } else { "\n" };
                    (
                        text.len(),
                        format!(
                            "{separator}\n# The driver `ocp migrate` wrote over Osiris's connector.\nx-runtime:\n  driver: {driver}\n"
                        ),
                    )
                }
            });
        }
    }
    if builtin.version != version
        && let Some(span) = spec.value_span("/version")
    {
        replacements.push((span, version.to_owned()));
        changes.push(format!(
            "`version`: `{}` -> `{version}` (the package's version)",
            builtin.version
        ));
    }
    if let Some(items) = spec
        .value
        .pointer("/compatibility/requires")
        .and_then(Value::as_array)
    {
        for (index, item) in items.iter().enumerate() {
            let Some(old) = item.as_str() else { continue };
            let name_end = old.find(['<', '>', '=', '!', '~']).unwrap_or(old.len());
            if old[..name_end].trim() == "python"
                && old != python
                && let Some(span) = spec.value_span(&format!("/compatibility/requires/{index}"))
            {
                replacements.push((span, python.to_owned()));
                changes.push(format!(
                    "`compatibility.requires`: `{old}` -> `{python}` (the package's Python range)"
                ));
            }
        }
    }
    if let Some((at, line)) = insertion {
        // An empty span: `replace_scalar` inserts the text there.
        replacements.push((at..at, line));
    }
    replacements.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.clone();
    for (span, value) in replacements {
        if let Ok(edited) = edit::replace_scalar(&out, span, &value) {
            out = edited;
        }
    }
    MigratedSpec { text: out, changes }
}
