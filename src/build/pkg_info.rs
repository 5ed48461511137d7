//! `PKG-INFO` for the sdist: core metadata 2.2, read from pyproject.toml. pip builds the
//! wheel from pyproject.toml itself; this file is what indexes and tools read without
//! building.

use std::fmt::Write;

use toml_edit::Item;

use crate::package::pyproject::Pyproject;

const METADATA_VERSION: &str = "2.2";

/// Renders PKG-INFO. `readme` is the README's text, which becomes the long description.
pub fn render(pyproject: &Pyproject, readme: Option<&str>) -> String {
    let mut out = String::new();
    let field = |out: &mut String, name: &str, value: &str| {
        // Continuation lines keep multi-line values inside one header field.
        let value = value.trim().replace('\n', "\n        ");
        let _ = writeln!(out, "{name}: {value}");
    };
    field(&mut out, "Metadata-Version", METADATA_VERSION);
    for (key, header) in [
        ("name", "Name"),
        ("version", "Version"),
        ("description", "Summary"),
    ] {
        if let Some(value) = pyproject.project_string(key) {
            field(&mut out, header, &value.value);
        }
    }
    if let Some((item, _)) = pyproject.project_item("authors")
        && let Some(authors) = item.as_array()
    {
        let mut names = Vec::new();
        let mut emails = Vec::new();
        for author in authors.iter().filter_map(|a| a.as_inline_table()) {
            let name = author.get("name").and_then(|v| v.as_str());
            match (name, author.get("email").and_then(|v| v.as_str())) {
                (Some(name), Some(email)) => emails.push(format!("{name} <{email}>")),
                (None, Some(email)) => emails.push(email.to_owned()),
                (Some(name), None) => names.push(name.to_owned()),
                (None, None) => {}
            }
        }
        if !names.is_empty() {
            field(&mut out, "Author", &names.join(", "));
        }
        if !emails.is_empty() {
            field(&mut out, "Author-email", &emails.join(", "));
        }
    }
    match pyproject.project_item("license") {
        Some((Item::Value(value), _)) if value.is_str() => {
            field(&mut out, "License", value.as_str().unwrap_or_default())
        }
        Some((item, _)) => {
            if let Some(text) = item.get("text").and_then(|t| t.as_str()) {
                field(&mut out, "License", text);
            }
        }
        None => {}
    }
    if let Some((item, _)) = pyproject.project_item("keywords")
        && let Some(keywords) = item.as_array()
    {
        let words: Vec<&str> = keywords.iter().filter_map(|k| k.as_str()).collect();
        field(&mut out, "Keywords", &words.join(","));
    }
    if let Some((item, _)) = pyproject.project_item("classifiers")
        && let Some(classifiers) = item.as_array()
    {
        for classifier in classifiers.iter().filter_map(|c| c.as_str()) {
            field(&mut out, "Classifier", classifier);
        }
    }
    if let Some(requires) = pyproject.project_string("requires-python") {
        field(&mut out, "Requires-Python", &requires.value);
    }
    for dependency in pyproject.dependencies() {
        field(&mut out, "Requires-Dist", &dependency.value);
    }
    if let Some((item, _)) = pyproject.project_item("optional-dependencies")
        && let Some(extras) = item.as_table_like()
    {
        for (extra, _) in extras.iter() {
            field(&mut out, "Provides-Extra", extra);
            for requirement in pyproject.optional_dependencies(extra).unwrap_or_default() {
                field(
                    &mut out,
                    "Requires-Dist",
                    &with_extra_marker(&requirement.value, extra),
                );
            }
        }
    }
    if let Some(readme) = readme {
        let content_type = pyproject
            .project_string("readme")
            .map(|r| {
                if r.value.ends_with(".rst") {
                    "text/x-rst"
                } else if r.value.ends_with(".md") {
                    "text/markdown"
                } else {
                    "text/plain"
                }
            })
            .unwrap_or("text/plain");
        field(&mut out, "Description-Content-Type", content_type);
        out.push('\n');
        out.push_str(readme);
        if !readme.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn with_extra_marker(requirement: &str, extra: &str) -> String {
    match requirement.split_once(';') {
        Some((requirement, marker)) => format!(
            "{}; ({}) and extra == \"{extra}\"",
            requirement.trim(),
            marker.trim()
        ),
        None => format!("{}; extra == \"{extra}\"", requirement.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_core_metadata() {
        let pyproject = Pyproject::parse(
            r#"[project]
name = "shopify-osiris"
version = "1.0.0"
description = "Shopify"
readme = "README.md"
license = "Apache-2.0"
requires-python = ">=3.11"
authors = [{ name = "Jane", email = "jane@example.com" }]
dependencies = ["osiris-pipeline>=0.5.0,<1.0.0"]
[project.optional-dependencies]
dev = ["pytest>=7", "tomli; python_version < '3.11'"]
"#,
        )
        .expect("valid");
        let text = render(&pyproject, Some("# Shopify\n"));
        assert!(
            text.starts_with("Metadata-Version: 2.2\nName: shopify-osiris\nVersion: 1.0.0\n"),
            "{text}"
        );
        assert!(text.contains("Author-email: Jane <jane@example.com>\n"));
        assert!(text.contains("Requires-Dist: osiris-pipeline>=0.5.0,<1.0.0\n"));
        assert!(text.contains("Requires-Dist: pytest>=7; extra == \"dev\"\n"));
        assert!(
            text.contains("Requires-Dist: tomli; (python_version < '3.11') and extra == \"dev\"\n")
        );
        assert!(text.ends_with("Description-Content-Type: text/markdown\n\n# Shopify\n"));
    }
}
