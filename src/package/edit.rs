//! Edits to a package's files that keep everything else as the author wrote it: pyproject.toml
//! through `toml_edit` (comments, order and spacing survive), a YAML or Python value replaced
//! in place at its span, and a CHANGELOG heading inserted. `ocp version` and `ocp add` use
//! them. Each function maps text to text; writing files is the caller's business.

use std::ops::Range;

use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// Why pyproject.toml could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("pyproject.toml is not valid TOML: {0}")]
    Toml(String),
    #[error("pyproject.toml has no `[project]` table")]
    NoProject,
    #[error("`{0}` in pyproject.toml is not a {1}")]
    WrongType(String, &'static str),
    #[error("the span {start}..{end} is outside the file", start = .0.start, end = .0.end)]
    Span(Range<usize>),
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|error| EditError::Toml(error.message().trim().to_owned()))
}

fn project(document: &mut DocumentMut) -> Result<&mut Table, EditError> {
    document
        .get_mut("project")
        .and_then(Item::as_table_mut)
        .ok_or(EditError::NoProject)
}

/// Sets `project.version`, keeping the spacing and comment around the value.
pub fn set_pyproject_version(text: &str, version: &str) -> Result<String, EditError> {
    let mut document = parse(text)?;
    let project = project(&mut document)?;
    match project.get_mut("version").and_then(Item::as_value_mut) {
        Some(value) => {
            let decor = value.decor().clone();
            *value = Value::from(version);
            *value.decor_mut() = decor;
        }
        None => {
            project.insert("version", toml_edit::value(version));
        }
    }
    Ok(document.to_string())
}

/// Adds requirements to `project.dependencies`, or with `extra` to
/// `project.optional-dependencies.<extra>`, laid out like the existing items, skipping those
/// already present (`present` says whether a requirement's distribution is there).
pub fn add_dependencies(
    text: &str,
    extra: Option<&str>,
    requirements: &[String],
    present: impl Fn(&str) -> bool,
) -> Result<String, EditError> {
    let mut document = parse(text)?;
    let project = project(&mut document)?;
    let (table, key, name) = match extra {
        None => (project, "dependencies", "project.dependencies".to_owned()),
        Some(extra) => (
            implicit_table(project, "optional-dependencies")?,
            extra,
            format!("project.optional-dependencies.{extra}"),
        ),
    };
    if !table.contains_key(key) {
        table.insert(key, toml_edit::value(Array::new()));
    }
    let array = table
        .get_mut(key)
        .and_then(Item::as_array_mut)
        .ok_or(EditError::WrongType(name, "list"))?;
    // New items copy the layout of the last one (`\n    "x",` in a multi-line list).
    let decor = array.iter().last().map(|last| last.decor().clone());
    for requirement in requirements.iter().filter(|r| !present(r)) {
        let mut value = Value::from(requirement.as_str());
        if let Some(decor) = &decor {
            *value.decor_mut() = decor.clone();
        }
        array.push_formatted(value);
    }
    Ok(document.to_string())
}

/// Adds `name = target` to `[project.entry-points."<group>"]`, creating the table if needed.
pub fn add_entry_point(
    text: &str,
    group: &str,
    name: &str,
    target: &str,
) -> Result<String, EditError> {
    let mut document = parse(text)?;
    let project = project(&mut document)?;
    if !project.contains_key("entry-points") {
        let mut table = Table::new();
        table.set_implicit(true);
        project.insert("entry-points", Item::Table(table));
    }
    let entry_points = project
        .get_mut("entry-points")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::WrongType("project.entry-points".into(), "table"))?;
    if entry_points.get(group).is_none() {
        entry_points.insert(group, Item::Table(Table::new()));
    }
    let group_table = entry_points
        .get_mut(group)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| {
            EditError::WrongType(format!("project.entry-points.\"{group}\""), "table")
        })?;
    group_table.insert(name, toml_edit::value(target));
    Ok(document.to_string())
}

/// Adds `package = ["file"]` to `[tool.setuptools.package-data]` when that table exists (or
/// the build backend is setuptools, `create`), so the file ships in the wheel.
pub fn add_package_data(
    text: &str,
    package: &str,
    file: &str,
    create: bool,
) -> Result<String, EditError> {
    let mut document = parse(text)?;
    let exists = document
        .get("tool")
        .and_then(|tool| tool.get("setuptools"))
        .and_then(|setuptools| setuptools.get("package-data"))
        .is_some();
    if !exists && !create {
        return Ok(text.to_owned());
    }
    let root = document.as_table_mut();
    let tool = implicit_table(root, "tool")?;
    let setuptools = implicit_table(tool, "setuptools")?;
    if !setuptools.contains_key("package-data") {
        setuptools.insert("package-data", Item::Table(Table::new()));
    }
    let data = setuptools
        .get_mut("package-data")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| EditError::WrongType("tool.setuptools.package-data".into(), "table"))?;
    let mut files = Array::new();
    files.push(file);
    data.insert(package, toml_edit::value(files));
    Ok(document.to_string())
}

fn implicit_table<'a>(parent: &'a mut Table, key: &str) -> Result<&'a mut Table, EditError> {
    if !parent.contains_key(key) {
        let mut table = Table::new();
        table.set_implicit(true);
        parent.insert(key, Item::Table(table));
    }
    parent
        .get_mut(key)
        .and_then(Item::as_table_mut)
        .ok_or_else(|| EditError::WrongType(key.to_owned(), "table"))
}

/// Replaces the scalar at `span` (a YAML value, a Python string literal's contents) with
/// `value`. A quoted YAML scalar keeps its quotes; a YAML number becomes a quoted string, so
/// a version never reads as a number.
pub fn replace_scalar(text: &str, span: Range<usize>, value: &str) -> Result<String, EditError> {
    let old = text
        .get(span.clone())
        .ok_or(EditError::Span(span.clone()))?;
    let replacement = match old.chars().next() {
        Some(quote @ ('"' | '\'')) if old.len() >= 2 && old.ends_with(quote) => {
            format!("{quote}{value}{quote}")
        }
        Some(first) if first.is_ascii_digit() && old.parse::<f64>().is_ok() => {
            format!("\"{value}\"")
        }
        _ => value.to_owned(),
    };
    let mut out = String::with_capacity(text.len() + replacement.len());
    out.push_str(&text[..span.start]);
    out.push_str(&replacement);
    out.push_str(&text[span.end..]);
    Ok(out)
}

/// Replaces the text at `span` (a Python string literal's contents) with `value`.
pub fn replace_text(text: &str, span: Range<usize>, value: &str) -> Result<String, EditError> {
    if text.get(span.clone()).is_none() {
        return Err(EditError::Span(span));
    }
    Ok(format!(
        "{}{value}{}",
        &text[..span.start],
        &text[span.end..]
    ))
}

/// Opens a release in a Keep a Changelog file: `## [version] - date` right under
/// `## [Unreleased]`, so what was unreleased becomes that release's notes. Without an
/// Unreleased heading, the new heading goes before the first release heading (or at the end).
/// `None` when the file already has a heading for `version`.
pub fn add_changelog_release(text: &str, version: &str, date: &str) -> Option<String> {
    let is_heading = |line: &str| line.starts_with("## ");
    if text
        .lines()
        .any(|line| is_heading(line) && line.contains(&format!("[{version}]")))
    {
        return None;
    }
    let heading = format!("## [{version}] - {date}\n");
    let mut offset = 0;
    let mut first_heading = None;
    for line in text.split_inclusive('\n') {
        if is_heading(line) {
            if line.to_ascii_lowercase().contains("[unreleased]") {
                let after = offset + line.len();
                let newline = if line.ends_with('\n') { "" } else { "\n" };
                return Some(format!(
                    "{}{newline}\n{heading}{}",
                    &text[..after],
                    &text[after..]
                ));
            }
            first_heading.get_or_insert(offset);
        }
        offset += line.len();
    }
    Some(match first_heading {
        Some(at) => format!("{}{heading}\n{}", &text[..at], &text[at..]),
        None if text.is_empty() || text.ends_with("\n\n") => format!("{text}{heading}"),
        None if text.ends_with('\n') => format!("{text}\n{heading}"),
        None => format!("{text}\n\n{heading}"),
    })
}

/// Adds `- text` under `### Added` in the `## [Unreleased]` section, creating what is
/// missing. Without an Unreleased heading, one is made before the first release heading.
pub fn add_changelog_entry(text: &str, entry: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let unreleased = lines.iter().position(|line| {
        line.starts_with("## ") && line.to_ascii_lowercase().contains("[unreleased]")
    });
    let Some(unreleased) = unreleased else {
        let first = lines.iter().position(|line| line.starts_with("## "));
        let section = format!("## [Unreleased]\n\n### Added\n\n- {entry}\n\n");
        return match first {
            Some(at) => format!("{}{section}{}", lines[..at].concat(), lines[at..].concat()),
            None => {
                let separator = if text.is_empty() || text.ends_with("\n\n") {
                    ""
                } else if text.ends_with('\n') {
                    "\n"
                } else {
                    "\n\n"
                };
                format!("{text}{separator}{}", section.trim_end_matches('\n')) + "\n"
            }
        };
    };
    let end = lines[unreleased + 1..]
        .iter()
        .position(|line| line.starts_with("## "))
        .map_or(lines.len(), |at| unreleased + 1 + at);
    let added = lines[unreleased + 1..end]
        .iter()
        .position(|line| line.trim_end() == "### Added")
        .map(|at| unreleased + 1 + at);
    match added {
        Some(added) => {
            // After the last list item of the Added subsection.
            let sub_end = lines[added + 1..end]
                .iter()
                .position(|line| line.starts_with("### "))
                .map_or(end, |at| added + 1 + at);
            let last_item = (added + 1..sub_end)
                .rev()
                .find(|at| !lines[*at].trim().is_empty())
                .map_or(added + 1, |at| at + 1);
            let blank = if last_item == added + 1 { "\n" } else { "" };
            format!(
                "{}{blank}- {entry}\n{}",
                lines[..last_item].concat(),
                lines[last_item..].concat()
            )
        }
        None => {
            let insert = format!("\n### Added\n\n- {entry}\n");
            let before_end = (unreleased + 1..end)
                .rev()
                .find(|at| !lines[*at].trim().is_empty())
                .map_or(unreleased + 1, |at| at + 1);
            let tail = if before_end < lines.len() { "\n" } else { "" };
            format!(
                "{}{insert}{tail}{}",
                lines[..before_end].concat(),
                lines[before_end..].concat().trim_start_matches('\n')
            )
        }
    }
}

/// Markdown split at its `## ` headings (outside code fences): the text before the first
/// heading, then one piece per section, heading included. Joining the pieces gives the text.
fn markdown_sections(text: &str) -> Vec<String> {
    let mut sections = vec![String::new()];
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with("## ") {
            sections.push(String::new());
        }
        if let Some(last) = sections.last_mut() {
            last.push_str(line);
        }
    }
    sections
}

/// Adds a `## `component`` section to a README: the parts of `rendered` (the README `ocp new`
/// writes for that component) that mention it, one heading level down, placed after the last
/// section that mentions one of the package's `existing` components (or at the end).
pub fn add_readme_component(
    readme: &str,
    rendered: &str,
    component: &str,
    existing: &[String],
) -> String {
    let mut body = String::new();
    let rendered_sections = markdown_sections(rendered);
    if let Some(intro) = rendered_sections.first() {
        // The introduction, without the title line.
        let intro: String = intro
            .split_inclusive('\n')
            .filter(|line| !line.starts_with("# "))
            .collect();
        if intro.contains(component) {
            body.push_str(intro.trim_matches('\n'));
            body.push_str("\n\n");
        }
    }
    for section in rendered_sections.iter().skip(1) {
        if !section.contains(component) {
            continue;
        }
        let mut fenced = false;
        for line in section.trim_end_matches('\n').split_inclusive('\n') {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            if !fenced && line.starts_with("##") {
                body.push('#');
            }
            body.push_str(line);
        }
        body.push_str("\n\n");
    }
    let section = format!("## `{component}`\n\n{}", body.trim_end_matches('\n')) + "\n";
    let sections = markdown_sections(readme);
    let after = sections
        .iter()
        .enumerate()
        .skip(1)
        .rev()
        .find(|(_, text)| existing.iter().any(|name| text.contains(name.as_str())))
        .map(|(at, _)| at);
    match after {
        Some(at) => {
            let mut out: String = sections[..=at].concat();
            if !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str(&section);
            if at + 1 < sections.len() {
                out.push('\n');
            }
            out.push_str(&sections[at + 1..].concat());
            out
        }
        None => {
            let separator = if readme.is_empty() || readme.ends_with("\n\n") {
                ""
            } else if readme.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{readme}{separator}{section}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYPROJECT: &str = "[project]\nname = \"acme-osiris\"\nversion = \"0.1.0\"  # bumped by ocp version\ndependencies = [\n    \"osiris-pipeline>=0.5.0,<1.0.0\",\n    \"pyyaml>=6.0\",\n]\n\n[project.entry-points.\"osiris.components\"]\n\"acme.extractor\" = \"acme_osiris:load_spec\"\n\n[tool.setuptools.package-data]\nacme_osiris = [\"spec.yaml\"]\n";

    #[test]
    fn pyproject_edits_keep_the_rest_of_the_file() {
        let bumped = set_pyproject_version(PYPROJECT, "0.2.0").expect("edit");
        assert_eq!(
            bumped,
            PYPROJECT.replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        );
        let added = add_dependencies(
            PYPROJECT,
            None,
            &["duckdb>=0.9".to_owned(), "pyyaml>=6.0".to_owned()],
            |r| r.starts_with("pyyaml"),
        )
        .expect("edit");
        assert!(
            added.contains("    \"pyyaml>=6.0\",\n    \"duckdb>=0.9\",\n]"),
            "{added}"
        );
        let dev = add_dependencies(&added, Some("dev"), &["pytest>=7.0".to_owned()], |_| false)
            .expect("edit");
        assert!(
            dev.contains("\n[project.optional-dependencies]\ndev = [\"pytest>=7.0\"]\n"),
            "{dev}"
        );
        let with_entry = add_entry_point(
            PYPROJECT,
            "osiris.components",
            "acme.processor",
            "acme_osiris.processor:load_spec",
        )
        .expect("edit");
        assert!(
            with_entry.contains("\"acme.extractor\" = \"acme_osiris:load_spec\"\n\"acme.processor\" = \"acme_osiris.processor:load_spec\"\n"),
            "{with_entry}"
        );
        let with_data =
            add_package_data(PYPROJECT, "acme_osiris.processor", "spec.yaml", false).expect("edit");
        assert!(
            with_data.ends_with(
                "acme_osiris = [\"spec.yaml\"]\n\"acme_osiris.processor\" = [\"spec.yaml\"]\n"
            ),
            "{with_data}"
        );
    }

    #[test]
    fn scalars_keep_their_quotes_and_numbers_become_strings() {
        let text = "name: a.b\nversion: \"0.1.0\"\n";
        let at = text.find("\"0.1.0\"").expect("found");
        assert_eq!(
            replace_scalar(text, at..at + 7, "0.2.0").expect("edit"),
            "name: a.b\nversion: \"0.2.0\"\n"
        );
        let text = "version: 1.0\n";
        assert_eq!(
            replace_scalar(text, 9..12, "1.1.0").expect("edit"),
            "version: \"1.1.0\"\n"
        );
        assert!(replace_scalar(text, 9..99, "x").is_err());
    }

    #[test]
    fn a_release_heading_goes_under_unreleased() {
        let text = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- x\n\n## [0.1.0]\n";
        assert_eq!(
            add_changelog_release(text, "0.2.0", "2026-01-02").expect("added"),
            "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-01-02\n\n### Added\n\n- x\n\n## [0.1.0]\n"
        );
        assert!(add_changelog_release(text, "0.1.0", "2026-01-02").is_none());
        assert_eq!(
            add_changelog_release("# Changelog\n\n## [0.1.0]\n", "0.2.0", "d").expect("added"),
            "# Changelog\n\n## [0.2.0] - d\n\n## [0.1.0]\n"
        );
        assert_eq!(
            add_changelog_release("# Changelog\n", "0.2.0", "d").expect("added"),
            "# Changelog\n\n## [0.2.0] - d\n"
        );
    }

    #[test]
    fn a_readme_gets_the_component_sections_after_the_existing_ones() {
        let readme = "# acme-osiris\n\nAcme Extractor: `acme.extractor`.\n\n## Install\n\n```bash\nocp install acme.extractor\n## not a heading\n```\n\n## Develop\n\npytest\n";
        let rendered = "# acme-osiris\n\nAcme Processor component: `acme.processor`.\n\n## Install\n\nocp install acme.processor\n\n### Details\n\nx\n\n## Develop\n\npytest\n";
        let merged = add_readme_component(
            readme,
            rendered,
            "acme.processor",
            &["acme.extractor".to_owned()],
        );
        assert_eq!(
            merged,
            "# acme-osiris\n\nAcme Extractor: `acme.extractor`.\n\n## Install\n\n```bash\nocp install acme.extractor\n## not a heading\n```\n\n## `acme.processor`\n\nAcme Processor component: `acme.processor`.\n\n### Install\n\nocp install acme.processor\n\n#### Details\n\nx\n\n## Develop\n\npytest\n"
        );
        assert_eq!(
            add_readme_component("# x\n", rendered, "acme.processor", &[]),
            "# x\n\n## `acme.processor`\n\nAcme Processor component: `acme.processor`.\n\n### Install\n\nocp install acme.processor\n\n#### Details\n\nx\n"
        );
    }

    #[test]
    fn entries_go_under_unreleased_added() {
        let text = "# Changelog\n\n## [Unreleased]\n\n## [0.1.0]\n\n### Added\n\n- a\n";
        assert_eq!(
            add_changelog_entry(text, "b"),
            "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- b\n\n## [0.1.0]\n\n### Added\n\n- a\n"
        );
        let text = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- a\n\n### Fixed\n\n- c\n";
        assert_eq!(
            add_changelog_entry(text, "b"),
            "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- a\n- b\n\n### Fixed\n\n- c\n"
        );
        assert_eq!(
            add_changelog_entry("# Changelog\n", "b"),
            "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- b\n"
        );
    }
}
