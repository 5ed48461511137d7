//! `ocp.json` as install reads it. [`CheckedManifest::parse`] turns the JSON document
//! ([`crate::build::Manifest`], plain strings) into newtypes: the package name and PEP 440
//! version, `family.role` component names, confined spec paths, `module:function` entry
//! points, dotted drivers, PEP 508 Python requirements, PEP 440 ranges and the file list. It
//! also works out the package's own import packages (its [`CodeLayout`]), which every entry
//! point and driver must be inside. Code past this point never holds a raw manifest string
//! that becomes a path or a name.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pep440_rs::VersionSpecifiers;

use crate::build::Manifest;
use crate::model::{
    Checksum, ComponentName, EntryPoint, ModulePath, PackageName, PackageVersion,
    PythonRequirement, RelativePath, format_specifiers, is_identifier,
};

/// The manifest's file name, directly inside the archive's top folder.
pub const MANIFEST_FILE: &str = "ocp.json";
/// The only file name a component spec may have.
pub const SPEC_FILE: &str = "spec.yaml";
/// The folder of a src-layout package's import packages.
const SRC: &str = "src";
/// The manifest format this ocp reads.
const FORMAT_VERSION: u32 = 1;
/// Distributions an OCP may never be: Osiris itself.
const RESERVED_NAMES: &[&str] = &["osiris-pipeline"];
/// Top-level names an OCP may never install: Python runs `sitecustomize` and
/// `usercustomize` at every start, and `components/` is Osiris's spec folder, which ocp fills
/// from the manifest's components only.
const RESERVED_MODULES: &[&str] = &["sitecustomize", "usercustomize", "components"];

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("its `ocp.json` is not a valid OCP manifest: {reason}")]
    Json { reason: String },
    #[error(
        "its `ocp.json` has format version {found}, but this ocp reads version {FORMAT_VERSION}"
    )]
    FormatVersion { found: u32 },
    #[error("its `ocp.json` has an invalid {field}: {reason}")]
    Field { field: String, reason: String },
    #[error("its code is not installable: {reason}")]
    Code { reason: String },
}

fn field(field: impl Into<String>, reason: impl ToString) -> ManifestError {
    ManifestError::Field {
        field: field.into(),
        reason: reason.to_string(),
    }
}

/// A manifest whose every field was parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedManifest {
    pub name: PackageName,
    pub version: PackageVersion,
    pub components: Vec<CheckedComponent>,
    pub dependencies: Vec<CheckedDependency>,
    pub python_dependencies: Vec<PythonRequirement>,
    pub osiris: VersionSpecifiers,
    pub python: VersionSpecifiers,
    /// Every file of the archive except `ocp.json`, with its sha256.
    pub files: BTreeMap<RelativePath, Checksum>,
    pub code: CodeLayout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedComponent {
    pub name: ComponentName,
    /// Its spec.yaml inside the package, listed in `files`.
    pub spec: RelativePath,
    pub entry_point: EntryPoint,
    /// `x-runtime.driver`, inside one of the package's own import packages.
    pub driver: Option<ModulePath>,
}

/// A dependency on another OCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDependency {
    /// Normalized (`base-osiris`).
    pub name: String,
    pub requirement: VersionSpecifiers,
}

/// Where a package's importable code is and which top-level names it installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeLayout {
    /// `Some("src")` for the src layout; `None` for a flat package, whose importable code is
    /// only what its entry points and drivers name.
    pub root: Option<&'static str>,
    /// The top-level import packages and modules it installs (`shopify_osiris`).
    pub packages: BTreeSet<String>,
}

impl CheckedManifest {
    /// Parses `ocp.json`'s bytes.
    pub fn from_json(bytes: &[u8]) -> Result<CheckedManifest, ManifestError> {
        let raw: Manifest = serde_json::from_slice(bytes).map_err(|error| ManifestError::Json {
            reason: error.to_string(),
        })?;
        CheckedManifest::parse(&raw)
    }

    /// Parses every field of a manifest document.
    pub fn parse(raw: &Manifest) -> Result<CheckedManifest, ManifestError> {
        if raw.format_version != FORMAT_VERSION {
            return Err(ManifestError::FormatVersion {
                found: raw.format_version,
            });
        }
        let name = PackageName::from_str(&raw.name).map_err(|error| field("name", error))?;
        if RESERVED_NAMES.contains(&name.normalized().as_str()) {
            return Err(field(
                "name",
                format!("`{name}` is Osiris itself, which an OCP cannot be"),
            ));
        }
        let version =
            PackageVersion::from_str(&raw.version).map_err(|error| field("version", error))?;
        if version.to_string() != raw.version {
            return Err(field(
                "version",
                format!(
                    "`{}` is not written in its normalized form `{version}`",
                    raw.version.escape_debug()
                ),
            ));
        }
        let mut files = BTreeMap::new();
        for (path, sha256) in &raw.files {
            let parsed = RelativePath::from_str(path).map_err(|error| field("file path", error))?;
            if parsed.as_str() == MANIFEST_FILE {
                return Err(field("file path", "`ocp.json` lists itself"));
            }
            let checksum = Checksum::from_str(sha256)
                .map_err(|error| field(format!("sha256 of `{parsed}`"), error))?;
            files.insert(parsed, checksum);
        }
        let components = parse_components(raw, &files)?;
        let mut dependencies: Vec<CheckedDependency> = Vec::new();
        for dependency in &raw.dependencies {
            let dependency_name = PackageName::from_str(&dependency.name)
                .map_err(|error| field("dependency", error))?
                .normalized();
            if dependency_name == name.normalized()
                || dependencies.iter().any(|d| d.name == dependency_name)
            {
                return Err(field(
                    "dependency",
                    format!("`{dependency_name}` is listed twice, or is the package itself"),
                ));
            }
            let requirement = specifiers(&dependency.requirement)
                .map_err(|reason| field(format!("requirement of `{dependency_name}`"), reason))?;
            dependencies.push(CheckedDependency {
                name: dependency_name,
                requirement,
            });
        }
        let python_dependencies = raw
            .python_dependencies
            .iter()
            .map(|text| PythonRequirement::from_str(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| field("Python requirement", error))?;
        let osiris = specifiers(&raw.osiris).map_err(|reason| field("Osiris range", reason))?;
        let python = specifiers(&raw.python).map_err(|reason| field("Python range", reason))?;
        let code = code_layout(&files, &components)?;
        Ok(CheckedManifest {
            name,
            version,
            components,
            dependencies,
            python_dependencies,
            osiris,
            python,
            files,
            code,
        })
    }

    /// The files an install places in site-packages: (path in the package, path below
    /// site-packages). The package's own import packages without bytecode caches, then
    /// each component's spec at `components/<name>/spec.yaml`. Nothing else in the archive
    /// (tests, docs, PKG-INFO) is installed.
    pub fn installed_files(&self) -> Vec<(RelativePath, String)> {
        let mut out = Vec::new();
        for path in self.files.keys() {
            let below = match self.code.root {
                Some(root) => path.strip_prefix(root),
                None => Some(path.as_str()),
            };
            let Some(below) = below else { continue };
            let top = match below.split_once('/') {
                Some((top, _)) => top,
                None => below.strip_suffix(".py").unwrap_or(""),
            };
            let cache = below.split('/').any(|part| part == "__pycache__")
                || below.ends_with(".pyc")
                || below.ends_with(".pyo");
            if self.code.packages.contains(top) && !cache {
                out.push((path.clone(), below.to_owned()));
            }
        }
        for component in &self.components {
            out.push((
                component.spec.clone(),
                format!("components/{}/{SPEC_FILE}", component.name),
            ));
        }
        out
    }
}

/// PEP 440 specifiers; empty text is "any version".
fn specifiers(text: &str) -> Result<VersionSpecifiers, String> {
    if text.chars().any(char::is_control) {
        return Err(format!(
            "`{}` holds a control character",
            text.escape_debug()
        ));
    }
    VersionSpecifiers::from_str(text)
        .map_err(|error| format!("`{}` is not a PEP 440 range: {error}", text.escape_debug()))
}

/// The range as ocp writes it (`>=0.5.0,<1.0.0`), for comparing two ranges.
pub fn range_text(range: &VersionSpecifiers) -> String {
    format_specifiers(range)
}

fn parse_components(
    raw: &Manifest,
    files: &BTreeMap<RelativePath, Checksum>,
) -> Result<Vec<CheckedComponent>, ManifestError> {
    if raw.components.is_empty() {
        return Err(field("components", "it provides no component"));
    }
    let mut components: Vec<CheckedComponent> = Vec::new();
    for component in &raw.components {
        let name = ComponentName::from_str(&component.name)
            .map_err(|error| field("component name", error))?;
        if components.iter().any(|c| c.name == name) {
            return Err(field("component name", format!("`{name}` is listed twice")));
        }
        let what = |part: &str| format!("{part} of `{name}`");
        let spec = RelativePath::from_str(&component.spec)
            .map_err(|error| field(what("spec path"), error))?;
        if spec.file_name() != SPEC_FILE || !files.contains_key(&spec) {
            return Err(field(
                what("spec path"),
                format!("`{spec}` is not a `{SPEC_FILE}` listed in the manifest's files"),
            ));
        }
        let entry_point = EntryPoint::from_str(&component.entry_point)
            .map_err(|error| field(what("entry point"), error))?;
        let driver = match &component.driver {
            None => None,
            Some(text) => {
                let driver =
                    ModulePath::from_str(text).map_err(|error| field(what("driver"), error))?;
                if driver.len() < 2 {
                    return Err(field(
                        what("driver"),
                        format!("`{driver}` names no class (`module.Class`)"),
                    ));
                }
                Some(driver)
            }
        };
        components.push(CheckedComponent {
            name,
            spec,
            entry_point,
            driver,
        });
    }
    Ok(components)
}

/// The package's import packages, and the check that every entry point and driver is
/// inside them.
fn code_layout(
    files: &BTreeMap<RelativePath, Checksum>,
    components: &[CheckedComponent],
) -> Result<CodeLayout, ManifestError> {
    let code = |reason: String| ManifestError::Code { reason };
    let named: BTreeSet<&str> = components
        .iter()
        .flat_map(|c| {
            std::iter::once(c.entry_point.module.top()).chain(c.driver.as_ref().map(|d| d.top()))
        })
        .collect();
    let src_layout = files.keys().any(|path| path.strip_prefix(SRC).is_some());
    let mut packages = BTreeSet::new();
    if src_layout {
        for path in files.keys() {
            let Some(below) = path.strip_prefix(SRC) else {
                continue;
            };
            let module = match below.split_once('/') {
                Some(("__pycache__", _)) => continue,
                Some((top, _)) => top,
                None => below.strip_suffix(".py").ok_or_else(|| {
                    code(format!(
                        "`{path}` is not a Python module; `src/` may hold only the package's import packages and `.py` modules (no `.pth` files, no metadata folders)"
                    ))
                })?,
            };
            if !is_identifier(module) {
                return Err(code(format!(
                    "`{SRC}/{module}` is not an importable name; an OCP installs only its own import packages (no `.pth` files, no `*.dist-info` or `*.egg-info` folders)"
                )));
            }
            packages.insert(module.to_owned());
        }
    } else {
        for top in &named {
            let exists = files.contains_key(format!("{top}.py").as_str())
                || files
                    .keys()
                    .any(|path| path.first() == *top && path.as_str() != *top);
            if !exists {
                return Err(code(format!(
                    "the package does not contain the module `{top}` that its entry points or drivers name"
                )));
            }
            packages.insert((*top).to_owned());
        }
    }
    if let Some(reserved) = packages
        .iter()
        .find(|p| RESERVED_MODULES.contains(&p.as_str()))
    {
        return Err(code(format!(
            "it would install the top-level name `{reserved}`, which an OCP may not (Python runs `sitecustomize` and `usercustomize` at every start, and `components` is Osiris's spec folder)"
        )));
    }
    let list = || {
        packages
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for component in components {
        let mut targets = vec![(
            "entry point",
            component.entry_point.to_string(),
            component.entry_point.module.top(),
        )];
        if let Some(driver) = &component.driver {
            targets.push(("driver", driver.to_string(), driver.top()));
        }
        for (what, value, top) in targets {
            if !packages.contains(top) {
                return Err(code(format!(
                    "the {what} `{value}` of `{}` is outside the package's own import packages ({})",
                    component.name,
                    list()
                )));
            }
        }
    }
    Ok(CodeLayout {
        root: src_layout.then_some(SRC),
        packages,
    })
}
