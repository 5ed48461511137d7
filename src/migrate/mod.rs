//! Moving Osiris's built-in components into packages (`ocp migrate`): what one built-in
//! brings into its package, read from the source Osiris and rewritten for the new home.
//!
//! - [`source`]: the Osiris migrated from (an environment, site-packages or source tree);
//! - [`component`]: one built-in's spec and the code that runs it (its driver, or for a spec
//!   that names none, the family's connector);
//! - [`modules`]: that code and the sibling modules it imports privately, copied with their
//!   imports rewritten; the rest of Osiris it uses stays a dependency and is reported;
//! - [`spec`]: the spec's text with the driver path, version and Python range rewritten;
//! - [`requirements`]: the Python requirements from the spec and the code's imports;
//! - [`range`]: the honest Osiris range (every release that ships the built-in excluded);
//! - [`pipeline`]: the README's example pipeline and connection;
//! - [`scenarios`]: the pipelines that exercise a built-in, for tests and `--verify`;
//! - [`alias`]: the throwaway copy `--verify` installs beside the built-in;
//! - [`verify`]: reading what the verification harness saw, and comparing it row for row.
//!
//! Assembling packages (with the machinery of `ocp new` and `ocp add`), writing them and
//! running verification belong to `ops::migrate`. Nothing here prints or writes.

pub mod alias;
pub mod component;
pub mod modules;
pub mod pipeline;
pub mod range;
pub mod requirements;
pub mod scenarios;
pub mod source;
pub mod spec;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::ComponentName;
use component::{Builtin, ConnectorKind, Origin};
use modules::KeptImport;
use source::OsirisSource;

/// The largest `limit` the driver written over an extractor connector reads by default.
pub const DEFAULT_EXTRACT_LIMIT: u64 = 1_000_000;

/// Why a built-in cannot be migrated.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("`{path}` does not exist")]
    NoSuchSource { path: PathBuf },
    #[error("`{path}` holds no Osiris to migrate from: {reason}")]
    NotOsiris { path: PathBuf, reason: String },
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("`{path}` is not UTF-8 text")]
    NotUtf8 { path: PathBuf },
    #[error("Osiris {version} has no component `{name}`; it has {available}")]
    UnknownComponent {
        name: String,
        version: String,
        available: String,
    },
    #[error("the spec of `{component}` does not parse: {}:{line}:{column}: {message}", path.display())]
    SpecSyntax {
        component: String,
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the spec of `{component}` (`{}`) cannot be migrated: {reason}", path.display())]
    BadSpec {
        component: String,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "the driver of `{component}` is not where its spec says (`{driver}` at {place}): {reason}"
    )]
    DriverNotFound {
        component: String,
        driver: String,
        place: String,
        reason: String,
    },
    #[error("Osiris {version}'s `{component}` names no driver (`x-runtime.driver`), {reason}")]
    NoCode {
        component: String,
        version: String,
        reason: String,
    },
    #[error("`{entry}` imports more than {limit} modules of its own folder")]
    TooManyModules { entry: String, limit: usize },
    #[error("the driver template could not be rendered: {0}")]
    Template(#[from] crate::scaffold::ScaffoldError),
}

/// Everything one built-in brings into its package.
#[derive(Debug, Clone)]
pub struct ComponentPlan {
    pub builtin: Builtin,
    /// The package module it lives in (`mysql_osiris` or `mysql_osiris.writer`).
    pub module: String,
    /// That module's folder, relative to the package root (`src/mysql_osiris/writer`).
    pub directory: String,
    /// The migrated driver's dotted path.
    pub driver: String,
    /// New files, relative to the package root: the spec, the carried modules and a
    /// written driver.
    pub files: BTreeMap<String, String>,
    /// What changed in the spec, one line each.
    pub spec_changes: Vec<String>,
    /// Imports of Osiris that stay a dependency on `osiris-pipeline`.
    pub kept: Vec<KeptImport>,
    pub requirements: Vec<String>,
    /// `Some(connector)` when ocp wrote the driver over Osiris's connector (`module.Class`).
    pub written_over: Option<String>,
}

impl ComponentPlan {
    pub fn name(&self) -> &ComponentName {
        &self.builtin.name
    }
}

impl Builtin {
    /// `driver `osiris.drivers.x.XDriver``, or what ocp writes instead, for messages.
    pub fn origin_words(&self) -> String {
        match &self.origin {
            Origin::Connector { .. } => format!(
                "its spec names no driver, so Osiris cannot run it in a pipeline; ocp wrote a driver over its connector `{}`",
                self.origin.class_path()
            ),
            Origin::Driver { path, .. } => format!("driver `{path}`"),
        }
    }
}

impl Origin {
    /// `module.Class`.
    pub fn class_path(&self) -> String {
        format!("{}.{}", self.module(), self.class())
    }
}

/// Plans `builtin` into the package module `module` (folder `directory`), at the package
/// version `version` (semver), with the package's Python range item `python`.
pub fn plan_component(
    source: &OsirisSource,
    builtin: &Builtin,
    module: &str,
    directory: &str,
    version: &str,
    python: &str,
) -> Result<ComponentPlan, MigrateError> {
    let carried = modules::carry(&source.code_root, builtin.origin.module(), module)?;
    let mut files: BTreeMap<String, String> = carried
        .modules
        .iter()
        .map(|m| (format!("{directory}/{}", m.file_name), m.text.clone()))
        .collect();
    let entry_stem = builtin
        .origin
        .module()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let (driver, written_over) = match &builtin.origin {
        Origin::Driver { class, .. } => (format!("{module}.{entry_stem}.{class}"), None),
        Origin::Connector { class, kind, .. } => {
            let class_name = format!("{class}Driver");
            let file_stem = ["driver", "migrated_driver", "ocp_driver"]
                .into_iter()
                .find(|stem| !files.contains_key(&format!("{directory}/{stem}.py")))
                .unwrap_or("ocp_driver");
            let template = match kind {
                ConnectorKind::Loader => "connector-driver/loader.py",
                ConnectorKind::Extractor => "connector-driver/extractor.py",
            };
            let variables: BTreeMap<&'static str, String> = [
                ("component", builtin.name.to_string()),
                ("connector_class", class.clone()),
                ("connector_module", entry_stem.clone()),
                ("connector_path", builtin.origin.class_path()),
                ("class_name", class_name.clone()),
                ("source_osiris", source.version.to_string()),
                ("default_limit", DEFAULT_EXTRACT_LIMIT.to_string()),
            ]
            .into_iter()
            .collect();
            files.insert(
                format!("{directory}/{file_stem}.py"),
                crate::scaffold::render_file(template, &variables)?,
            );
            (
                format!("{module}.{file_stem}.{class_name}"),
                Some(builtin.origin.class_path()),
            )
        }
    };
    let spec = spec::rewrite(builtin, &driver, version, python);
    files.insert(format!("{directory}/spec.yaml"), spec.text);
    let requirements = requirements::requirements(builtin, &carried, source);
    Ok(ComponentPlan {
        builtin: builtin.clone(),
        module: module.to_owned(),
        directory: directory.to_owned(),
        driver,
        files,
        spec_changes: spec.changes,
        kept: carried.kept,
        requirements,
        written_over,
    })
}

/// The values of the migrated template's placeholders for `builtin`.
pub fn template_variables(
    builtin: &Builtin,
    source: &OsirisSource,
) -> BTreeMap<&'static str, String> {
    let readme = pipeline::readme_use(builtin);
    let builtin_driver = match &builtin.origin {
        Origin::Driver { path, .. } => path.clone(),
        Origin::Connector { .. } => String::new(),
    };
    let title = builtin
        .spec
        .value
        .get("title")
        .and_then(serde_json::Value::as_str)
        .filter(|title| !title.trim().is_empty() && !title.contains(['\n', '"', '\\']))
        .map(str::to_owned);
    let mut variables: BTreeMap<&'static str, String> = [
        ("builtin_component", builtin.name.to_string()),
        ("builtin_driver", builtin_driver),
        ("source_osiris", source.version.to_string()),
        (
            "scenario_description",
            scenarios::for_builtin(builtin.name.as_str())
                .map(|scenario| scenario.description.replace('`', ""))
                .unwrap_or_default(),
        ),
        ("migrated_origin", builtin.origin_words()),
        ("migrated_pipeline", readme.pipeline),
        ("migrated_connections", readme.connections),
    ]
    .into_iter()
    .collect();
    if let Some(title) = title {
        // The built-in's own title (`MySQL Data Extractor`) rather than one made from its name.
        variables.insert("title", title);
    }
    variables
}
