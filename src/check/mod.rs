//! The rules `ocp check` runs over a loaded [`Package`]. Each rule module looks at one
//! concern and pushes [`Diagnostic`]s; none of them print or stop at the first problem.
//! `ocp build` runs the same rules and refuses to build while any error remains. A package's
//! `[tool.ocp.check] allow` list is applied last (`allow`); [`builtin`] holds the component
//! names Osiris releases ship, which `ocp new`, `ocp add`, publishing and index verification
//! refuse too.

mod allow;
pub mod builtin;
pub mod codes;
mod consistency;
mod driver;
mod examples;
mod files;
mod pyproject_rules;
mod runtime;
mod secrets;
mod spec_rules;

pub use runtime::distribution_for_import;

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Severity, join_words};
use crate::model::{ComponentName, PackageName, PackageVersion};
use crate::package::Package;

/// The Osiris release whose spec schema ocp validates against.
pub const OSIRIS_SCHEMA_VERSION: &str = "0.5.7";

/// The entry-point group that Osiris discovers components through.
pub const ENTRY_POINT_GROUP: &str = "osiris.components";

/// The Osiris range a package states: the specifiers of its `osiris-pipeline` dependency.
pub fn osiris_range(
    pyproject: &crate::package::pyproject::Pyproject,
) -> Option<pep440_rs::VersionSpecifiers> {
    pyproject_rules::osiris_requirement(pyproject).map(|(range, _)| range)
}

/// The outcome of checking one package.
#[derive(Debug)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    /// Findings left out because `[tool.ocp.check] allow` names their code: code -> count.
    pub allowed: BTreeMap<&'static str, usize>,
    /// What the package is, as far as it could be read (for summaries and JSON output).
    pub summary: PackageSummary,
}

/// Name, version and components, when they could be read.
#[derive(Debug, Default, Clone)]
pub struct PackageSummary {
    pub name: Option<PackageName>,
    pub version: Option<PackageVersion>,
    pub components: Vec<ComponentName>,
}

impl Report {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// How many findings `[tool.ocp.check] allow` left out.
    pub fn allowed_count(&self) -> usize {
        self.allowed.values().sum()
    }
}

/// Runs every rule over the package.
pub fn check(package: &Package) -> Report {
    let mut diagnostics = package.load_problems.clone();
    files::check(package, &mut diagnostics);
    spec_rules::check(package, &mut diagnostics);
    examples::check(package, &mut diagnostics);
    pyproject_rules::check(package, &mut diagnostics);
    consistency::check(package, &mut diagnostics);
    driver::check(package, &mut diagnostics);
    runtime::check(package, &mut diagnostics);
    secrets::check(package, &mut diagnostics);
    let allowed_codes = allow::allowed_codes(package, &mut diagnostics);
    let allowed = allow::remove_allowed(&mut diagnostics, &allowed_codes);
    sort(&mut diagnostics);
    Report {
        diagnostics,
        allowed,
        summary: summarize(package),
    }
}

fn sort(diagnostics: &mut [Diagnostic]) {
    let position = |d: &Diagnostic| -> (String, usize) {
        match &d.location {
            Some(location) => (
                location.file.clone(),
                location.span.as_ref().map_or(0, |s| s.start),
            ),
            None => (String::new(), 0),
        }
    };
    diagnostics.sort_by(|a, b| position(a).cmp(&position(b)).then(a.code.cmp(b.code)));
}

fn summarize(package: &Package) -> PackageSummary {
    let pyproject = package.pyproject.as_ref();
    let mut components: Vec<ComponentName> = package
        .specs
        .iter()
        .filter_map(|spec| spec.yaml.value.get("name")?.as_str()?.parse().ok())
        .collect();
    components.sort();
    PackageSummary {
        name: pyproject
            .and_then(|p| p.project_string("name"))
            .and_then(|n| n.value.parse().ok()),
        version: pyproject
            .and_then(|p| p.project_string("version"))
            .and_then(|v| v.value.parse().ok()),
        components,
    }
}
