//! One more component for an existing package (`ocp add`), rendered from the same templates
//! and variables as `ocp new`, so both always write the same code. The component lives in
//! a subpackage of the package's import package (`acme_osiris/processor/`: `__init__.py`
//! with `load_spec()`, `spec.yaml`, the driver), its tests get the subpackage's name as a
//! prefix (`tests/test_processor_spec.py`), and the rendered README and pyproject.toml are
//! returned whole for the caller to take what the package lacks.

use std::collections::BTreeMap;

use super::{FRAGMENTS, NewPackage, ScaffoldError, TEMPLATES, fragments, substitute, variables};

/// The rendered files of an added component.
#[derive(Debug, Clone, Default)]
pub struct ComponentFiles {
    /// New files: the subpackage's modules and the component's own tests, by relative path.
    pub files: BTreeMap<String, String>,
    /// Other files of the templates' `tests/` folder (helpers, fixtures): shared by every
    /// component, written only where the package has none.
    pub shared_test_files: BTreeMap<String, String>,
    /// The README `ocp new` would write for this component.
    pub readme: String,
    /// The pyproject.toml `ocp new` would write for this component.
    pub pyproject: String,
}

/// Where an added component's files go.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The dotted module of the component's subpackage (`acme_osiris.processor`).
    pub module: String,
    /// Its folder, relative to the package root (`src/acme_osiris/processor`).
    pub directory: String,
    /// The prefix of its test files (`processor`: `tests/test_processor_spec.py`).
    pub test_prefix: String,
}

/// Renders `new.component` to live at `placement`.
pub fn render(new: &NewPackage, placement: &Placement) -> Result<ComponentFiles, ScaffoldError> {
    render_with(new, placement, &BTreeMap::new())
}

/// [`render`] with more variables for the template's own placeholders.
pub fn render_with(
    new: &NewPackage,
    placement: &Placement,
    extra: &BTreeMap<&'static str, String>,
) -> Result<ComponentFiles, ScaffoldError> {
    let mut variables = variables(new);
    variables.extend(extra.iter().map(|(name, value)| (*name, value.clone())));
    variables.insert("import_name", placement.module.clone());
    fragments(new.template, &mut variables)?;
    let mut out = ComponentFiles::default();
    for directory in ["common", new.template.name()] {
        let Some(root) = TEMPLATES.get_dir(directory) else {
            continue;
        };
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            // A template's fragments are variables, not files.
            stack.extend(dir.dirs().filter(|child| {
                child
                    .path()
                    .file_name()
                    .is_none_or(|name| name != FRAGMENTS)
            }));
            for file in dir.files() {
                let template_path = file.path().to_string_lossy().replace('\\', "/");
                let relative = template_path
                    .strip_prefix(&format!("{directory}/"))
                    .unwrap_or(&template_path);
                let text = substitute(
                    &template_path,
                    file.contents_utf8().unwrap_or_default(),
                    &variables,
                )?;
                if let Some(rest) = relative.strip_prefix("src/__import__/") {
                    out.files
                        .insert(format!("{}/{rest}", placement.directory), text);
                } else if let Some(rest) = relative.strip_prefix("tests/") {
                    match rest.strip_prefix("test_") {
                        Some(name) if !rest.contains('/') => {
                            out.files.insert(
                                format!("tests/test_{}_{name}", placement.test_prefix),
                                text,
                            );
                        }
                        _ => {
                            out.shared_test_files.insert(relative.to_owned(), text);
                        }
                    }
                } else if relative == "README.md" {
                    out.readme = text;
                } else if relative == "pyproject.toml" {
                    out.pyproject = text;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaffold::{Template, parse_osiris_range};

    #[test]
    fn an_added_component_lives_in_a_subpackage_with_prefixed_tests() {
        let new = NewPackage {
            component: "acme.processor".parse().expect("name"),
            package: "acme-osiris".parse().expect("name"),
            template: Template::SqlProcessor,
            author: None,
            license: "MIT".to_owned(),
            osiris: parse_osiris_range(">=0.5.0,<1.0.0").expect("range"),
            year: 2026,
        };
        let placement = Placement {
            module: "acme_osiris.processor".to_owned(),
            directory: "src/acme_osiris/processor".to_owned(),
            test_prefix: "processor".to_owned(),
        };
        let rendered = render(&new, &placement).expect("renders");
        let paths: Vec<&str> = rendered.files.keys().map(String::as_str).collect();
        for expected in [
            "src/acme_osiris/processor/__init__.py",
            "src/acme_osiris/processor/driver.py",
            "src/acme_osiris/processor/spec.yaml",
            "tests/test_processor_driver.py",
            "tests/test_processor_spec.py",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {paths:?}"
            );
        }
        let spec = &rendered.files["src/acme_osiris/processor/spec.yaml"];
        assert!(spec.contains("driver: acme_osiris.processor.driver.AcmeProcessorDriver"));
        assert!(rendered.readme.contains("acme.processor"));
        assert!(rendered.pyproject.contains("[project]"));
    }
}
