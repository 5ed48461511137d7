//! One built-in component of the source Osiris, read for migration: its spec (with
//! positions, so every rewrite keeps the file's text and comments) and the code that runs
//! it. That is the driver `x-runtime.driver` names; for a spec that names none (Osiris
//! 0.5.7's `mysql.writer` and `supabase.extractor`, which Osiris cannot run in a pipeline)
//! it is the family's connector that Osiris's discovery uses (`osiris/connectors/<family>/
//! writer.py` or `extractor.py`), and the migrated package gets a driver written over it.

use std::path::PathBuf;

use serde_json::Value;

use super::MigrateError;
use super::source::{OsirisSource, read_text};
use crate::diagnostics::line_column;
use crate::model::ComponentName;
use crate::package::python;
use crate::package::yaml::{self, LocatedYaml, YamlError};

/// The interface of an Osiris connector class, which decides how a driver calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    /// `ILoader`: `insert_data`, `replace_table`, `upsert_data`.
    Loader,
    /// `IExtractor`: `execute_query`, `sample_table`.
    Extractor,
}

impl ConnectorKind {
    pub fn interface(self) -> &'static str {
        match self {
            ConnectorKind::Loader => "ILoader",
            ConnectorKind::Extractor => "IExtractor",
        }
    }
}

/// The code that runs a built-in.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The driver class the spec names.
    Driver {
        /// As the spec writes it (`osiris.drivers.x_driver.XDriver`).
        path: String,
        module: String,
        class: String,
        file: PathBuf,
    },
    /// No driver: the family's connector class.
    Connector {
        module: String,
        class: String,
        file: PathBuf,
        kind: ConnectorKind,
    },
}

impl Origin {
    /// The module whose folder the migrated code comes from.
    pub fn module(&self) -> &str {
        match self {
            Origin::Driver { module, .. } | Origin::Connector { module, .. } => module,
        }
    }

    pub fn class(&self) -> &str {
        match self {
            Origin::Driver { class, .. } | Origin::Connector { class, .. } => class,
        }
    }

    pub fn file(&self) -> &PathBuf {
        match self {
            Origin::Driver { file, .. } | Origin::Connector { file, .. } => file,
        }
    }
}

/// A built-in component, read.
#[derive(Debug, Clone)]
pub struct Builtin {
    pub name: ComponentName,
    pub spec_path: PathBuf,
    pub spec_text: String,
    pub spec: LocatedYaml,
    /// The spec's `version` (semver), as written.
    pub version: String,
    pub origin: Origin,
}

impl Builtin {
    /// Reads `name` from `source`; the name must be one of `source.components()`.
    pub fn read(source: &OsirisSource, name: &ComponentName) -> Result<Builtin, MigrateError> {
        let spec_path = source
            .components_dir()
            .join(name.as_str())
            .join("spec.yaml");
        let spec_text = read_text(&spec_path)?;
        let spec = yaml::load(&spec_text).map_err(|error| {
            let (offset, message) = match error {
                YamlError::Syntax { message, offset } => (offset, message),
                YamlError::TooDeep { offset } => (
                    offset,
                    format!("mappings and lists nest deeper than {}", yaml::MAX_DEPTH),
                ),
                YamlError::Empty => (0, "the file holds no YAML document".to_owned()),
                YamlError::MultipleDocuments { second_offset } => (
                    second_offset,
                    "the file holds more than one YAML document".to_owned(),
                ),
            };
            let at = line_column(&spec_text, offset);
            MigrateError::SpecSyntax {
                component: name.to_string(),
                path: spec_path.clone(),
                line: at.line,
                column: at.column,
                message,
            }
        })?;
        let bad_spec = |reason: String| MigrateError::BadSpec {
            component: name.to_string(),
            path: spec_path.clone(),
            reason,
        };
        let root = spec
            .value
            .as_object()
            .ok_or_else(|| bad_spec("it is not a mapping".to_owned()))?;
        let spec_name = root.get("name").and_then(Value::as_str).unwrap_or_default();
        if spec_name != name.as_str() {
            return Err(bad_spec(format!(
                "its `name` is `{spec_name}`, not the folder's name `{name}`"
            )));
        }
        let version = root
            .get("version")
            .and_then(Value::as_str)
            .filter(|version| semver::Version::parse(version).is_ok())
            .ok_or_else(|| bad_spec("its `version` is not a semantic version".to_owned()))?
            .to_owned();
        let origin = match root
            .get("x-runtime")
            .and_then(|runtime| runtime.get("driver"))
        {
            Some(driver) => {
                let at = spec
                    .value_span("/x-runtime/driver")
                    .map(|span| line_column(&spec_text, span.start));
                let driver = driver.as_str().unwrap_or_default();
                driver_origin(source, name, driver, &spec_path, at.map(|at| at.line))?
            }
            None => connector_origin(source, name, root)?,
        };
        Ok(Builtin {
            name: name.clone(),
            spec_path,
            spec_text,
            spec,
            version,
            origin,
        })
    }

    /// The spec's `modes`.
    pub fn modes(&self) -> Vec<String> {
        self.strings("/modes")
    }

    /// The strings of the spec's list at `pointer` (`/x-runtime/requirements/packages`);
    /// empty when there is no such list.
    pub fn strings(&self, pointer: &str) -> Vec<String> {
        self.spec
            .value
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn driver_origin(
    source: &OsirisSource,
    name: &ComponentName,
    driver: &str,
    spec_path: &std::path::Path,
    line: Option<usize>,
) -> Result<Origin, MigrateError> {
    let place = match line {
        Some(line) => format!("{}:{line}", spec_path.display()),
        None => spec_path.display().to_string(),
    };
    let (module, class) = driver
        .rsplit_once('.')
        .ok_or_else(|| MigrateError::DriverNotFound {
            component: name.to_string(),
            driver: driver.to_owned(),
            place: place.clone(),
            reason: "it is not a dotted `module.Class` path".to_owned(),
        })?;
    let file = source
        .module_file(module)
        .ok_or_else(|| MigrateError::DriverNotFound {
            component: name.to_string(),
            driver: driver.to_owned(),
            place: place.clone(),
            reason: format!(
                "there is no module `{module}` (no `{}.py`) in `{}`",
                module.replace('.', "/"),
                source.code_root.display()
            ),
        })?;
    let parsed = python::parse_module(&read_text(&file)?);
    if parsed.class(class).is_none() {
        let classes: Vec<String> = parsed
            .classes
            .iter()
            .map(|class| format!("`{}`", class.name))
            .collect();
        let defines = if classes.is_empty() {
            "no class at all".to_owned()
        } else {
            crate::diagnostics::join_words(&classes)
        };
        return Err(MigrateError::DriverNotFound {
            component: name.to_string(),
            driver: driver.to_owned(),
            place,
            reason: format!(
                "`{}` defines no class `{class}` (it defines {defines})",
                file.display()
            ),
        });
    }
    Ok(Origin::Driver {
        path: driver.to_owned(),
        module: module.to_owned(),
        class: class.to_owned(),
        file,
    })
}

/// The connector Osiris's discovery uses for a spec without a driver: the class in
/// `osiris/connectors/<family>/<writer|extractor>.py` that implements `ILoader` or
/// `IExtractor`.
fn connector_origin(
    source: &OsirisSource,
    name: &ComponentName,
    spec: &serde_json::Map<String, Value>,
) -> Result<Origin, MigrateError> {
    let modes: Vec<&str> = spec
        .get("modes")
        .and_then(Value::as_array)
        .map(|modes| modes.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let (file_stem, kind) = if modes.iter().any(|mode| *mode == "write" || *mode == "load") {
        ("writer", ConnectorKind::Loader)
    } else {
        ("extractor", ConnectorKind::Extractor)
    };
    let family = name.family().replace('-', "_");
    let module = format!("osiris.connectors.{family}.{file_stem}");
    let no_code = |reason: String| MigrateError::NoCode {
        component: name.to_string(),
        version: source.version.to_string(),
        reason,
    };
    let file = source.module_file(&module).ok_or_else(|| {
        no_code(format!(
            "and Osiris has no connector `{module}` for it either"
        ))
    })?;
    let text = read_text(&file)?;
    let parsed = python::parse_module(&text);
    // `class MySQLWriter(ILoader):`: the class line names its bases.
    let class = parsed
        .classes
        .iter()
        .find(|class| {
            let line_end = text[class.span.end..]
                .find('\n')
                .map_or(text.len(), |end| class.span.end + end);
            text[class.span.end..line_end].contains(kind.interface())
        })
        .ok_or_else(|| {
            no_code(format!(
                "and `{}` defines no class that implements `{}`",
                file.display(),
                kind.interface()
            ))
        })?;
    Ok(Origin::Connector {
        module,
        class: class.name.clone(),
        file,
        kind,
    })
}
