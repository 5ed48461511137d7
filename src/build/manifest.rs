//! `ocp.json`, the OCP manifest beside PKG-INFO: what the package provides and needs, and
//! the sha256 of every other file in the archive. Its schema is
//! `schemas/ocp-manifest.schema.json`; the index and `ocp install` read it.

use std::collections::BTreeMap;

use pep508_rs::VersionOrUrl;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::ENTRY_POINT_GROUP;
use crate::model::{PackageName, PackageVersion, format_specifiers};
use crate::package::Package;
use crate::package::pyproject::Pyproject;

pub const FILE_NAME: &str = "ocp.json";
const OSIRIS_DISTRIBUTION: &str = "osiris-pipeline";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub name: String,
    pub version: String,
    pub components: Vec<ManifestComponent>,
    pub dependencies: Vec<ManifestDependency>,
    pub python_dependencies: Vec<String>,
    pub osiris: String,
    pub python: String,
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestComponent {
    pub name: String,
    pub spec: String,
    pub entry_point: String,
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDependency {
    pub name: String,
    pub requirement: String,
}

impl Manifest {
    /// Pretty JSON with a trailing newline; field order is fixed, so the bytes are stable.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    }
}

/// True for distributions that are OCPs (`*-osiris`), which ocp resolves itself.
pub fn is_ocp_distribution(normalized: &str) -> bool {
    normalized.ends_with("-osiris") && normalized != OSIRIS_DISTRIBUTION
}

pub(super) fn build(
    package: &Package,
    pyproject: &Pyproject,
    name: &PackageName,
    version: &PackageVersion,
    files: BTreeMap<String, String>,
) -> Manifest {
    let entry_points = pyproject
        .entry_points(ENTRY_POINT_GROUP)
        .unwrap_or_default();
    let mut components: Vec<ManifestComponent> = package
        .specs
        .iter()
        .filter_map(|spec| {
            let name = spec.yaml.value.get("name")?.as_str()?.to_owned();
            let entry_point = entry_points
                .iter()
                .find(|e| e.name == name)
                .map(|e| e.target.clone())
                .unwrap_or_default();
            let driver = spec
                .yaml
                .value
                .get("x-runtime")
                .and_then(|r| r.get("driver"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some(ManifestComponent {
                name,
                spec: spec.path.clone(),
                entry_point,
                driver,
            })
        })
        .collect();
    components.sort_by(|a, b| a.name.cmp(&b.name));
    let mut dependencies = Vec::new();
    let mut python_dependencies = Vec::new();
    let mut osiris = String::new();
    for dependency in pyproject.dependencies() {
        let Ok(requirement) = crate::model::parse_pep508(&dependency.value) else {
            continue;
        };
        let normalized = requirement.name.as_ref().to_owned();
        let specifiers = match &requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => format_specifiers(specifiers),
            _ => String::new(),
        };
        if normalized == OSIRIS_DISTRIBUTION {
            osiris = specifiers;
        } else if is_ocp_distribution(&normalized) {
            dependencies.push(ManifestDependency {
                name: normalized,
                requirement: specifiers,
            });
        } else {
            python_dependencies.push(dependency.value.clone());
        }
    }
    dependencies.sort_by(|a, b| a.name.cmp(&b.name));
    Manifest {
        format_version: 1,
        name: name.to_string(),
        version: version.to_string(),
        components,
        dependencies,
        python_dependencies,
        osiris,
        python: pyproject
            .project_string("requires-python")
            .map(|r| r.value)
            .unwrap_or_default(),
        files,
    }
}
