//! `ocp check`: load a package, run every rule, and report.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::{self, Report};
use crate::diagnostics::{self, JsonDiagnostic, Severity};
use crate::package::Package;
use crate::shell::{Shell, Verbosity};

/// What `ocp check` was asked to do.
#[derive(Debug, Clone)]
pub struct CheckOpts {
    pub path: PathBuf,
}

/// Loads the package at `opts.path` and checks it.
pub fn check(opts: &CheckOpts) -> anyhow::Result<(Package, Report)> {
    let package = Package::load(&opts.path)?;
    let report = check::check(&package);
    Ok((package, report))
}

/// Loads and checks the package at `path` for an operation that must not go on while
/// `ocp check` finds errors (`verb` is `build` or `publish`): prints the findings, and
/// returns the package, the report and how to name the package.
pub fn load_checked(
    shell: &mut Shell,
    path: &Path,
    verb: &str,
) -> anyhow::Result<(Package, Report, String)> {
    let package = Package::load(path)?;
    let report = check::check(&package);
    print_diagnostics(shell, &package, &report)?;
    let what = describe(&package, &report);
    if report.has_errors() {
        return Err(crate::error::helped(
            format!(
                "cannot {verb} {what}: `ocp check` found {}",
                count_text(&report)
            ),
            "fix the errors above; `ocp check` shows them again",
        ));
    }
    Ok((package, report, what))
}

/// Prints every finding, rustc style, on stderr (warnings are hidden with `-q`).
pub fn print_diagnostics(
    shell: &mut Shell,
    package: &Package,
    report: &Report,
) -> std::io::Result<()> {
    let color = shell.err_supports_color();
    for diagnostic in &report.diagnostics {
        let text = diagnostics::render(diagnostic, &package.sources, color);
        match diagnostic.severity {
            Severity::Error => shell.print_err_block_always(&format!("{text}\n"))?,
            Severity::Warning => shell.print_err_block(&format!("{text}\n"))?,
        }
    }
    Ok(())
}

/// A one-line description of the package for status lines: `shopify-osiris v1.0.0`.
pub fn describe(package: &Package, report: &Report) -> String {
    match (&report.summary.name, &report.summary.version) {
        (Some(name), Some(version)) => format!("{name} v{version}"),
        (Some(name), None) => name.to_string(),
        _ => format!("`{}`", package.root.display()),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `N errors and M warnings`, with singulars.
pub fn count_text(report: &Report) -> String {
    match report.warning_count() {
        0 => plural(report.error_count(), "error"),
        warnings => format!(
            "{} and {}",
            plural(report.error_count(), "error"),
            plural(warnings, "warning")
        ),
    }
}

/// ` (3 findings allowed by `[tool.ocp.check]`: D004, X002)`, or nothing when none were.
pub fn allowed_text(report: &Report) -> String {
    if report.allowed.is_empty() {
        return String::new();
    }
    let codes: Vec<&str> = report.allowed.keys().copied().collect();
    format!(
        " ({} allowed by `[tool.ocp.check]`: {})",
        plural(report.allowed_count(), "finding"),
        codes.join(", ")
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    package: JsonPackage,
    summary: JsonSummary,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonPackage {
    path: String,
    name: Option<String>,
    version: Option<String>,
    components: Vec<String>,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    ok: bool,
    allowed: usize,
}

/// The report as the JSON document described by `schemas/check-report.schema.json`.
pub fn to_json(path: &Path, package: &Package, report: &Report) -> serde_json::Result<String> {
    let document = JsonReport {
        format_version: 1,
        package: JsonPackage {
            path: path.display().to_string(),
            name: report.summary.name.as_ref().map(ToString::to_string),
            version: report.summary.version.as_ref().map(ToString::to_string),
            components: report
                .summary
                .components
                .iter()
                .map(ToString::to_string)
                .collect(),
        },
        summary: JsonSummary {
            errors: report.error_count(),
            warnings: report.warning_count(),
            ok: !report.has_errors(),
            allowed: report.allowed_count(),
        },
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| JsonDiagnostic::new(d, &package.sources))
            .collect(),
    };
    serde_json::to_string_pretty(&document)
}

/// Whether the shell would show warnings (used to tailor the summary line).
pub fn shows_warnings(shell: &Shell) -> bool {
    shell.verbosity() >= Verbosity::Normal
}
