//! The package templates embedded from `templates/`, and their rendering. `templates/common`
//! holds what every package gets; `templates/<template>` adds the spec, driver and driver
//! tests of one kind of component; `templates/licenses` the license texts. In paths,
//! `__import__` becomes the import package and a leading `_` becomes `.` (so the repository's
//! own git does not read the templates' `.gitignore`). In contents, `{{variable}}` is replaced.
//! A template's `fragments/<name>.md` files are not written: each becomes the variable
//! `{{<name>}}` (rendered first), so shared files such as the README can hold a part that
//! differs per template.
//! [`component`] renders the same templates as one more component of an existing package
//! (`ocp add`).

pub mod component;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use include_dir::{Dir, include_dir};
use pep440_rs::VersionSpecifiers;

use crate::model::{ComponentName, PackageName, format_specifiers, single_bound_items};

pub(super) static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The kinds of component `ocp new` can scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// An extractor reading a paginated HTTP JSON API.
    ApiExtractor,
    /// A writer to a SQL database with append, replace and upsert modes.
    DbWriter,
    /// A processor running SQL over the input DataFrame with DuckDB.
    SqlProcessor,
    /// A built-in component moved out of Osiris by `ocp migrate`: only the tests and README
    /// part around the built-in's own spec and driver, which `ocp migrate` adds. Not offered
    /// by `--template`.
    Migrated,
}

impl Template {
    pub const ALL: [Template; 3] = [
        Template::ApiExtractor,
        Template::DbWriter,
        Template::SqlProcessor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Template::ApiExtractor => "api-extractor",
            Template::DbWriter => "db-writer",
            Template::SqlProcessor => "sql-processor",
            Template::Migrated => "migrated",
        }
    }

    /// The template that fits a component's role, if one does.
    pub fn for_role(role: &str) -> Option<Template> {
        match role {
            r if r.ends_with("extractor") => Some(Template::ApiExtractor),
            r if r.ends_with("writer") => Some(Template::DbWriter),
            r if r.ends_with("processor") || r.ends_with("transformer") => {
                Some(Template::SqlProcessor)
            }
            _ => None,
        }
    }

    pub(super) fn dependencies(self) -> &'static [&'static str] {
        match self {
            Template::ApiExtractor => &["requests>=2.31", "pandas>=2.0"],
            Template::DbWriter => &["sqlalchemy>=2.0", "pandas>=2.0"],
            Template::SqlProcessor => &["duckdb>=0.9", "pandas>=2.0"],
            // A migrated component's requirements come from its spec and code.
            Template::Migrated => &[],
        }
    }

    fn primary_mode(self) -> &'static str {
        match self {
            Template::ApiExtractor => "extract",
            Template::DbWriter => "write",
            Template::SqlProcessor | Template::Migrated => "transform",
        }
    }

    fn readme_config(self) -> &'static str {
        match self {
            Template::ApiExtractor => "      resource: customers",
            Template::DbWriter => {
                "      table: customers\n      mode: upsert\n      primary_key: [id]"
            }
            Template::SqlProcessor => "      query: SELECT * FROM input_df WHERE total >= 100",
            Template::Migrated => "",
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Template {
    type Err = ScaffoldError;

    fn from_str(name: &str) -> Result<Self, ScaffoldError> {
        Template::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| ScaffoldError::UnknownTemplate(name.to_owned()))
    }
}

/// The licenses ocp has texts for.
pub const LICENSES: &[&str] = &[
    "Apache-2.0",
    "MIT",
    "BSD-3-Clause",
    "LicenseRef-Proprietary",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "there is no template `{0}`; the templates are `api-extractor`, `db-writer` and `sql-processor`"
    )]
    UnknownTemplate(String),
    #[error(
        "the role `{0}` has no default template; choose one with `--template api-extractor|db-writer|sql-processor`"
    )]
    NoDefaultTemplate(String),
    #[error("ocp has no license text for `{0}`; choose one of {list}", list = LICENSES.join(", "))]
    UnknownLicense(String),
    #[error("`{range}` is not a valid Osiris version range: {reason}")]
    BadOsirisRange { range: String, reason: String },
    #[error("the template file `{0}` uses an unknown placeholder `{{{{{1}}}}}`")]
    UnknownPlaceholder(String, String),
}

/// Everything a new package is made from.
#[derive(Debug, Clone)]
pub struct NewPackage {
    pub component: ComponentName,
    pub package: PackageName,
    pub template: Template,
    /// `Name` or `Name <email>`.
    pub author: Option<String>,
    pub license: String,
    pub osiris: VersionSpecifiers,
    pub year: i32,
}

/// Parses an Osiris range as written on the command line (`>=0.5.0,<1.0.0`).
pub fn parse_osiris_range(range: &str) -> Result<VersionSpecifiers, ScaffoldError> {
    let specifiers =
        VersionSpecifiers::from_str(range).map_err(|error| ScaffoldError::BadOsirisRange {
            range: range.to_owned(),
            reason: first_line(&error.to_string()),
        })?;
    if specifiers.is_empty() {
        return Err(ScaffoldError::BadOsirisRange {
            range: range.to_owned(),
            reason: "it is empty".to_owned(),
        });
    }
    Ok(specifiers)
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_owned()
}

/// The Osiris range as `compatibility.requires` items, one bound each, or `None` when a
/// bound has no form the 0.5.7 schema accepts (`~=`, `!=`, wildcards, pre-releases).
pub fn osiris_requires_items(range: &VersionSpecifiers) -> Option<Vec<String>> {
    single_bound_items("osiris", range)
}

/// Renders every file of the new package: relative path -> contents.
pub fn render(new: &NewPackage) -> Result<BTreeMap<String, String>, ScaffoldError> {
    render_with(new, &BTreeMap::new())
}

/// [`render`] with more variables for the template's own placeholders (`ocp migrate` names
/// the built-in and the Osiris it came from).
pub fn render_with(
    new: &NewPackage,
    extra: &BTreeMap<&'static str, String>,
) -> Result<BTreeMap<String, String>, ScaffoldError> {
    let license_text = TEMPLATES
        .get_file(format!("licenses/{}", new.license))
        .and_then(|file| file.contents_utf8())
        .ok_or_else(|| ScaffoldError::UnknownLicense(new.license.clone()))?;
    let mut variables = variables(new);
    variables.extend(extra.iter().map(|(name, value)| (*name, value.clone())));
    fragments(new.template, &mut variables)?;
    let mut files = BTreeMap::new();
    for directory in ["common", new.template.name()] {
        let Some(root) = TEMPLATES.get_dir(directory) else {
            continue;
        };
        collect(root, directory, &variables, &mut files)?;
    }
    files.insert(
        "LICENSE".to_owned(),
        substitute("LICENSE", license_text, &variables)?,
    );
    Ok(files)
}

/// One file of `templates/` that is not part of a package template (`connector-driver/
/// loader.py`), rendered with `variables`.
pub fn render_file(
    path: &str,
    variables: &BTreeMap<&'static str, String>,
) -> Result<String, ScaffoldError> {
    let text = TEMPLATES
        .get_file(path)
        .and_then(|file| file.contents_utf8())
        .ok_or_else(|| ScaffoldError::UnknownTemplate(path.to_owned()))?;
    substitute(path, text, variables)
}

/// The folder of a template whose files become variables instead of files.
pub(super) const FRAGMENTS: &str = "fragments";

/// Renders a template's fragments into the variables of the same name.
pub(super) fn fragments(
    template: Template,
    variables: &mut BTreeMap<&'static str, String>,
) -> Result<(), ScaffoldError> {
    let Some(dir) = TEMPLATES.get_dir(format!("{}/{FRAGMENTS}", template.name())) else {
        return Ok(());
    };
    let mut rendered = Vec::new();
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        let Some(name) = file.path().file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        let text = file.contents_utf8().unwrap_or_default();
        rendered.push((name, substitute(&path, text, variables)?));
    }
    variables.extend(rendered);
    Ok(())
}

fn collect(
    dir: &Dir<'_>,
    prefix: &str,
    variables: &BTreeMap<&str, String>,
    out: &mut BTreeMap<String, String>,
) -> Result<(), ScaffoldError> {
    for file in dir.files() {
        let template_path = file.path().to_string_lossy().replace('\\', "/");
        let relative = template_path
            .strip_prefix(&format!("{prefix}/"))
            .unwrap_or(&template_path);
        let target = target_path(relative, &variables["import_name"]);
        let text = file.contents_utf8().unwrap_or_default();
        out.insert(target, substitute(&template_path, text, variables)?);
    }
    for child in dir.dirs() {
        if child
            .path()
            .file_name()
            .is_some_and(|name| name == FRAGMENTS)
        {
            continue;
        }
        collect(child, prefix, variables, out)?;
    }
    Ok(())
}

fn target_path(relative: &str, import_name: &str) -> String {
    relative
        .split('/')
        .map(|part| {
            let part = part.replace("__import__", import_name);
            match part.strip_prefix('_') {
                Some(rest) if !rest.starts_with('_') => format!(".{rest}"),
                _ => part,
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub(super) fn substitute(
    file: &str,
    text: &str,
    variables: &BTreeMap<&str, String>,
) -> Result<String, ScaffoldError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let name_end = after[2..].find("}}").map(|i| i + 2);
        let name = name_end.map(|end| &after[2..end]);
        match (name, name_end) {
            // `${{ secrets.X }}` in GitHub workflows and other text with spaces is not ours.
            (Some(name), Some(end))
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                let value = variables.get(name).ok_or_else(|| {
                    ScaffoldError::UnknownPlaceholder(file.to_owned(), name.to_owned())
                })?;
                out.push_str(value);
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = &after[2..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn title_case(text: &str) -> String {
    text.split(['_', '-', '.'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn toml_string(text: &str) -> String {
    toml_edit::Value::from(text).to_string().trim().to_owned()
}

pub(super) fn variables(new: &NewPackage) -> BTreeMap<&'static str, String> {
    let family_title = title_case(new.component.family());
    let title = format!("{family_title} {}", title_case(new.component.role()));
    let class_name = format!("{}Driver", title.replace(' ', ""));
    let (author_name, author_email) = match &new.author {
        Some(author) => match author.split_once('<') {
            Some((name, email)) => (
                Some(name.trim().to_owned()),
                Some(email.trim_end_matches('>').trim().to_owned()),
            ),
            None => (Some(author.trim().to_owned()), None),
        },
        None => (None, None),
    };
    let authors_line = match (&author_name, &author_email) {
        (Some(name), Some(email)) if !email.is_empty() => {
            format!(
                "authors = [{{ name = {}, email = {} }}]\n",
                toml_string(name),
                toml_string(email)
            )
        }
        (Some(name), _) if !name.is_empty() => {
            format!("authors = [{{ name = {} }}]\n", toml_string(name))
        }
        _ => String::new(),
    };
    let osiris_requires = osiris_requires_items(&new.osiris)
        .map(|items| {
            items
                .iter()
                .map(|item| format!("    - {item}\n"))
                .collect::<String>()
        })
        .unwrap_or_default();
    let dependencies: String = new
        .template
        .dependencies()
        .iter()
        .map(|dep| format!("    \"{dep}\",\n"))
        .collect();
    let mut map = BTreeMap::new();
    map.insert("component", new.component.to_string());
    map.insert("family", new.component.family().to_owned());
    map.insert("role", new.component.role().to_owned());
    map.insert("family_title", family_title);
    map.insert("title", title);
    map.insert("class_name", class_name);
    map.insert("package_name", new.package.to_string());
    map.insert("import_name", new.package.import_name().to_string());
    // The wheel's file name: the package's, also in the README section of a component
    // `ocp add` places in a subpackage (whose `import_name` is the subpackage).
    map.insert("wheel_name", new.package.import_name().to_string());
    // A new package starts at 0.1.0; `ocp add` and `ocp migrate` pass the package's version.
    map.insert("wheel_version", "0.1.0".to_owned());
    map.insert(
        "author",
        author_name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("The {} authors", new.package)),
    );
    map.insert("authors_line", authors_line);
    map.insert("license", new.license.clone());
    map.insert("osiris_range", format_specifiers(&new.osiris));
    map.insert("osiris_requires", osiris_requires);
    map.insert("dependencies", dependencies);
    map.insert("primary_mode", new.template.primary_mode().to_owned());
    map.insert("readme_config", new.template.readme_config().to_owned());
    map.insert("year", new.year.to_string());
    let family_env = crate::model::env_name(new.component.family());
    map.insert("api_key_ref", format!("${{{family_env}_API_KEY}}"));
    map.insert("password_ref", format!("${{{family_env}_PASSWORD}}"));
    map.insert("family_env", family_env);
    // The release workflow installs the ocp that generated it.
    map.insert("ocp_version", env!("CARGO_PKG_VERSION").to_owned());
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_package(component: &str, template: Template, license: &str) -> NewPackage {
        let component: ComponentName = component.parse().expect("valid");
        NewPackage {
            package: component.default_package_name(),
            component,
            template,
            author: Some("Jane \"JD\" Doe <jane@example.com>".to_owned()),
            license: license.to_owned(),
            osiris: parse_osiris_range(">=0.5.0,<1.0.0").expect("range"),
            year: 2026,
        }
    }

    #[test]
    fn every_template_and_license_renders_without_leftover_placeholders() {
        for template in Template::ALL {
            for license in LICENSES {
                let files =
                    render(&new_package("acme.extractor", template, license)).expect("renders");
                for (path, text) in &files {
                    assert!(!path.contains("__import__"), "{path}");
                    let leftover = text
                        .match_indices("{{")
                        .any(|(i, _)| text[i + 2..].starts_with(|c: char| c.is_ascii_lowercase()));
                    assert!(!leftover, "{path} has a placeholder left");
                }
                assert!(files.contains_key("src/acme_osiris/spec.yaml"));
                assert!(files.contains_key(".gitignore"));
                assert!(files.contains_key(".github/workflows/release.yml"));
            }
        }
    }

    #[test]
    fn author_is_escaped_for_toml() {
        let files =
            render(&new_package("acme.writer", Template::DbWriter, "MIT")).expect("renders");
        let pyproject = &files["pyproject.toml"];
        assert!(
            pyproject
                .contains(r#"authors = [{ name = 'Jane "JD" Doe', email = "jane@example.com" }]"#),
            "{pyproject}"
        );
    }

    #[test]
    fn osiris_ranges_split_into_single_bounds() {
        let items = osiris_requires_items(&parse_osiris_range(">=0.5.0,<1.0.0").expect("range"))
            .expect("items");
        assert_eq!(items, vec!["osiris>=0.5.0", "osiris<1.0.0"]);
        assert!(osiris_requires_items(&parse_osiris_range("~=0.5").expect("range")).is_none());
        assert!(parse_osiris_range("bananas").is_err());
    }

    #[test]
    fn roles_pick_templates() {
        assert_eq!(
            Template::for_role("extractor"),
            Some(Template::ApiExtractor)
        );
        assert_eq!(Template::for_role("csv_writer"), Some(Template::DbWriter));
        assert_eq!(
            Template::for_role("processor"),
            Some(Template::SqlProcessor)
        );
        assert_eq!(Template::for_role("thing"), None);
    }
}
