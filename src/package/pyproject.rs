//! pyproject.toml with positions, read through `toml_edit` so every value keeps its span.
//! Only reading lives here; the rules about what must be present are in `check`.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// A string value and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Option<Range<usize>>,
}

/// An entry point `name = "module:function"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub name_span: Option<Range<usize>>,
    pub target: String,
    pub target_span: Option<Range<usize>>,
}

impl EntryPoint {
    /// `("shopify_osiris", Some("load_spec"))` for `shopify_osiris:load_spec`.
    pub fn module_and_attribute(&self) -> (&str, Option<&str>) {
        match self.target.split_once(':') {
            Some((module, attribute)) => (module.trim(), Some(attribute.trim())),
            None => (self.target.trim(), None),
        }
    }
}

/// `[tool.setuptools.package-data]` entries: import package -> file patterns.
pub type PackageData = Vec<(String, Vec<String>)>;

/// A value that should be a list of strings is not; where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAList(pub Option<Range<usize>>);

/// A parsed pyproject.toml.
#[derive(Debug)]
pub struct Pyproject {
    document: Document<String>,
}

/// A TOML syntax error with its position.
#[derive(Debug, Clone)]
pub struct TomlSyntaxError {
    pub message: String,
    pub span: Option<Range<usize>>,
}

impl Pyproject {
    pub fn parse(text: &str) -> Result<Self, TomlSyntaxError> {
        Document::parse(text.to_owned())
            .map(|document| Pyproject { document })
            .map_err(|error| TomlSyntaxError {
                message: error.message().trim().to_owned(),
                span: error.span(),
            })
    }

    pub fn project(&self) -> Option<&Table> {
        self.document
            .as_table()
            .get("project")
            .and_then(Item::as_table)
    }

    /// The span of `[project]` (its header), for findings about a missing field.
    pub fn project_span(&self) -> Option<Range<usize>> {
        self.document
            .as_table()
            .key("project")
            .and_then(|key| key.span())
    }

    /// A string field of `[project]`.
    pub fn project_string(&self, key: &str) -> Option<Spanned<String>> {
        let item = self.project()?.get(key)?;
        Some(Spanned {
            value: item.as_str()?.to_owned(),
            span: item.span(),
        })
    }

    /// Whether `[project]` has `key` at all (of any type), and where.
    pub fn project_item(&self, key: &str) -> Option<(&Item, Option<Range<usize>>)> {
        let item = self.project()?.get(key)?;
        Some((item, item.span()))
    }

    /// The span of a key inside `[project]` (one line, unlike a multi-line value).
    pub fn project_key_span(&self, key: &str) -> Option<Range<usize>> {
        self.project()?.key(key).and_then(|k| k.span())
    }

    /// Whether `key` is listed in `project.dynamic`.
    pub fn is_dynamic(&self, key: &str) -> bool {
        self.project()
            .and_then(|project| project.get("dynamic"))
            .and_then(Item::as_array)
            .is_some_and(|array| array.iter().any(|value| value.as_str() == Some(key)))
    }

    /// `project.dependencies`, each with its span.
    pub fn dependencies(&self) -> Vec<Spanned<String>> {
        self.project()
            .and_then(|project| project.get("dependencies"))
            .and_then(Item::as_array)
            .map(|array| strings(array.iter()))
            .unwrap_or_default()
    }

    /// `project.optional-dependencies.<extra>`.
    pub fn optional_dependencies(&self, extra: &str) -> Option<Vec<Spanned<String>>> {
        let table = self.project()?.get("optional-dependencies")?;
        let array = table.get(extra)?.as_array()?;
        Some(strings(array.iter()))
    }

    /// Entry points of `group` from `[project.entry-points."group"]`.
    pub fn entry_points(&self, group: &str) -> Option<Vec<EntryPoint>> {
        let table = self
            .project()?
            .get("entry-points")?
            .get(group)?
            .as_table_like()?;
        let mut out = Vec::new();
        for (name, item) in table.iter() {
            let name_span = table.key(name).and_then(|key| key.span());
            out.push(EntryPoint {
                name: name.to_owned(),
                name_span,
                target: item.as_str().unwrap_or_default().to_owned(),
                target_span: item.span(),
            });
        }
        Some(out)
    }

    /// The span of the entry-point group table, for findings about the group as a whole.
    pub fn entry_point_group_span(&self, group: &str) -> Option<Range<usize>> {
        let entry_points = self.project()?.get("entry-points")?.as_table_like()?;
        entry_points.key(group).and_then(|key| key.span())
    }

    /// `[build-system].build-backend`.
    pub fn build_backend(&self) -> Option<Spanned<String>> {
        let item = self
            .document
            .as_table()
            .get("build-system")?
            .get("build-backend")?;
        Some(Spanned {
            value: item.as_str()?.to_owned(),
            span: item.span(),
        })
    }

    /// `[tool.ocp.check] allow`: the codes the package silences, each with its span; `Err`
    /// with the span of the value when it is not an array of strings.
    pub fn check_allow(&self) -> Option<Result<Vec<Spanned<String>>, NotAList>> {
        let item = self
            .document
            .as_table()
            .get("tool")?
            .get("ocp")?
            .get("check")?
            .get("allow")?;
        let Some(array) = item.as_array() else {
            return Some(Err(NotAList(item.span())));
        };
        if array.iter().any(|value| value.as_str().is_none()) {
            return Some(Err(NotAList(item.span())));
        }
        Some(Ok(strings(array.iter())))
    }

    /// `[tool.setuptools.package-data]`: package -> patterns.
    pub fn setuptools_package_data(&self) -> Option<(PackageData, Option<Range<usize>>)> {
        let item = self
            .document
            .as_table()
            .get("tool")?
            .get("setuptools")?
            .get("package-data")?;
        let table = item.as_table_like()?;
        let mut out = Vec::new();
        for (package, patterns) in table.iter() {
            let patterns = patterns
                .as_array()
                .map(|array| {
                    array
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            out.push((package.to_owned(), patterns));
        }
        let span = self
            .document
            .as_table()
            .get("tool")
            .and_then(|tool| tool.as_table_like())
            .and_then(|tool| tool.key("setuptools"))
            .and_then(|key| key.span());
        Some((out, item.span().or(span)))
    }
}

fn strings<'a>(values: impl Iterator<Item = &'a Value>) -> Vec<Spanned<String>> {
    values
        .filter_map(|value| {
            Some(Spanned {
                value: value.as_str()?.to_owned(),
                span: value.span(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"[project]
name = "shopify-osiris"
version = "1.0.0"
dependencies = ["osiris-pipeline>=0.5.0,<1.0.0", "requests>=2"]

[project.entry-points."osiris.components"]
"shopify.extractor" = "shopify_osiris:load_spec"

[tool.setuptools.package-data]
shopify_osiris = ["spec.yaml"]
"#;

    #[test]
    fn reads_fields_with_spans() {
        let pyproject = Pyproject::parse(TEXT).expect("valid");
        let name = pyproject.project_string("name").expect("name");
        assert_eq!(&TEXT[name.span.expect("span")], "\"shopify-osiris\"");
        let deps = pyproject.dependencies();
        assert_eq!(deps[0].value, "osiris-pipeline>=0.5.0,<1.0.0");
        let eps = pyproject.entry_points("osiris.components").expect("group");
        assert_eq!(eps[0].name, "shopify.extractor");
        assert_eq!(
            eps[0].module_and_attribute(),
            ("shopify_osiris", Some("load_spec"))
        );
        assert_eq!(
            &TEXT[eps[0].name_span.clone().expect("span")],
            "\"shopify.extractor\""
        );
        let (data, _) = pyproject.setuptools_package_data().expect("package data");
        assert_eq!(
            data,
            vec![("shopify_osiris".to_owned(), vec!["spec.yaml".to_owned()])]
        );
    }

    #[test]
    fn syntax_errors_have_a_span() {
        let error = Pyproject::parse("[project\nname = 1").expect_err("invalid");
        assert!(error.span.is_some());
    }
}
