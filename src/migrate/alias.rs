//! The throwaway copy of a migrated package that `ocp migrate --verify` installs beside the
//! built-ins it replaces. Everything that would collide is renamed: each component gets the
//! role suffix `_migrated` (`mysql.extractor_migrated`, still in the `mysql` family, so Osiris
//! resolves the same connection for it), the import package and the distribution get the
//! suffix too, and the Osiris range becomes the source release itself, so the copy installs
//! where the built-ins are. The package on disk is never touched.

use std::collections::BTreeMap;

use crate::model::{ComponentName, PackageName};
use crate::package::pyproject::Pyproject;
use crate::package::{edit, yaml};

/// The suffix of every renamed thing.
pub const SUFFIX: &str = "migrated";

/// A renamed copy.
#[derive(Debug, Clone)]
pub struct Alias {
    pub distribution: String,
    /// Built-in name -> the alias's component name.
    pub components: BTreeMap<String, String>,
    /// Relative path -> text, ready to be written and built.
    pub files: BTreeMap<String, String>,
}

/// The alias name of a component: `mysql.extractor_migrated`.
pub fn component_alias(component: &ComponentName) -> String {
    format!("{}_{SUFFIX}", component.as_str())
}

/// Renames the package `files` (relative path -> text; only the files a build needs are
/// kept) of `distribution`, which provides `components`, for Osiris `source_version`.
pub fn alias(
    files: &BTreeMap<String, String>,
    distribution: &PackageName,
    components: &[ComponentName],
    source_version: &str,
) -> Alias {
    let import = distribution.import_name().to_string();
    let new_import = format!("{import}_{SUFFIX}");
    let new_distribution = format!("{}-{SUFFIX}", distribution.normalized());
    let renamed: BTreeMap<String, String> = components
        .iter()
        .map(|component| (component.to_string(), component_alias(component)))
        .collect();
    let mut out = BTreeMap::new();
    for (path, text) in files {
        let keep = path == "pyproject.toml"
            || path == "README.md"
            || path == "LICENSE"
            || path.starts_with("src/")
            || (!path.contains('/') && path.ends_with(".py"));
        if !keep || path.contains("__pycache__") {
            continue;
        }
        let new_path: String = path
            .split('/')
            .map(|part| {
                if part == import {
                    new_import.as_str()
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let mut text = replace_identifier(text, &import, &new_import);
        if path.ends_with("spec.yaml") {
            text = rename_spec(&text, &renamed);
        } else if path == "pyproject.toml" {
            text = rename_pyproject(&text, &new_distribution, &renamed, source_version);
        }
        out.insert(new_path, text);
    }
    Alias {
        distribution: new_distribution,
        components: renamed,
        files: out,
    }
}

/// `text` with every whole identifier `from` replaced by `to`.
fn replace_identifier(text: &str, from: &str, to: &str) -> String {
    let is_identifier = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back().or(previous);
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_identifier) || after.is_some_and(is_identifier) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        previous = from.chars().next_back();
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

fn rename_spec(text: &str, renamed: &BTreeMap<String, String>) -> String {
    let Ok(located) = yaml::load(text) else {
        return text.to_owned();
    };
    let Some(new_name) = located
        .value
        .get("name")
        .and_then(|name| name.as_str())
        .and_then(|name| renamed.get(name))
    else {
        return text.to_owned();
    };
    match located.value_span("/name") {
        Some(span) => {
            edit::replace_scalar(text, span, new_name).unwrap_or_else(|_| text.to_owned())
        }
        None => text.to_owned(),
    }
}

fn rename_pyproject(
    text: &str,
    distribution: &str,
    renamed: &BTreeMap<String, String>,
    source_version: &str,
) -> String {
    let Ok(parsed) = Pyproject::parse(text) else {
        return text.to_owned();
    };
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    if let Some(span) = parsed.project_string("name").and_then(|name| name.span) {
        replacements.push((span, distribution.to_owned()));
    }
    for dependency in parsed.dependencies() {
        let is_osiris = dependency
            .value
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .next()
            .is_some_and(|name| crate::model::normalize_name(name) == "osiris-pipeline");
        if is_osiris && let Some(span) = dependency.span {
            replacements.push((span, format!("osiris-pipeline=={source_version}")));
        }
    }
    for entry in parsed
        .entry_points(crate::check::ENTRY_POINT_GROUP)
        .unwrap_or_default()
    {
        if let (Some(new_name), Some(span)) = (renamed.get(&entry.name), entry.name_span) {
            replacements.push((span, new_name.clone()));
        }
    }
    replacements.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_owned();
    for (span, value) in replacements {
        if let Ok(edited) = edit::replace_scalar(&out, span, &value) {
            out = edited;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_whole_identifiers_only() {
        assert_eq!(
            replace_identifier(
                "import mysql_osiris\nfrom mysql_osiris.x import y\nmysql_osiris_extra = 1\n",
                "mysql_osiris",
                "mysql_osiris_migrated"
            ),
            "import mysql_osiris_migrated\nfrom mysql_osiris_migrated.x import y\nmysql_osiris_extra = 1\n"
        );
    }

    #[test]
    fn renames_the_component_the_distribution_and_the_range() {
        let pyproject = "[project]\nname = \"mysql-osiris\"\nversion = \"1.0.0\"\ndependencies = [\n    \"osiris-pipeline>=0.6.0,<1.0.0\",\n    \"pandas>=2.0.0\",\n]\n\n[project.entry-points.\"osiris.components\"]\n\"mysql.extractor\" = \"mysql_osiris:load_spec\"\n\n[tool.setuptools.package-data]\nmysql_osiris = [\"spec.yaml\"]\n";
        let files: BTreeMap<String, String> = [
            ("pyproject.toml".to_owned(), pyproject.to_owned()),
            (
                "src/mysql_osiris/spec.yaml".to_owned(),
                "# the spec\nname: mysql.extractor\nx-runtime:\n  driver: mysql_osiris.d.D\n"
                    .to_owned(),
            ),
            (
                "tests/test_spec.py".to_owned(),
                "import mysql_osiris\n".to_owned(),
            ),
        ]
        .into_iter()
        .collect();
        let name: PackageName = "mysql-osiris".parse().expect("name");
        let component: ComponentName = "mysql.extractor".parse().expect("name");
        let alias = alias(&files, &name, &[component], "0.5.7");
        assert_eq!(alias.distribution, "mysql-osiris-migrated");
        let paths: Vec<&str> = alias.files.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            ["pyproject.toml", "src/mysql_osiris_migrated/spec.yaml"]
        );
        let spec = &alias.files["src/mysql_osiris_migrated/spec.yaml"];
        assert!(spec.contains("name: mysql.extractor_migrated\n"), "{spec}");
        assert!(
            spec.contains("driver: mysql_osiris_migrated.d.D\n"),
            "{spec}"
        );
        let pyproject = &alias.files["pyproject.toml"];
        for expected in [
            "name = \"mysql-osiris-migrated\"",
            "\"osiris-pipeline==0.5.7\"",
            "\"mysql.extractor_migrated\" = \"mysql_osiris_migrated:load_spec\"",
            "mysql_osiris_migrated = [\"spec.yaml\"]",
        ] {
            assert!(pyproject.contains(expected), "{expected} in {pyproject}");
        }
    }
}
