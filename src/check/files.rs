//! Files every package must have: pyproject.toml, at least one spec.yaml, a README, a
//! LICENSE and a CHANGELOG.

use super::codes;
use crate::diagnostics::Diagnostic;
use crate::package::Package;

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    let has = |names: &[&str]| {
        package.files.iter().any(|file| {
            names
                .iter()
                .any(|name| file.relative.eq_ignore_ascii_case(name))
        })
    };
    if !has(&["pyproject.toml"]) {
        out.push(
            Diagnostic::error(codes::MISSING_FILE, format!("no `pyproject.toml` in `{}`", package.root.display()))
                .help("run ocp in the package's root directory, or pass `--path DIR`; `ocp init` makes a new package here"),
        );
    }
    if package.spec_paths().is_empty() {
        let import = package
            .pyproject
            .as_ref()
            .and_then(|p| p.project_string("name"))
            .and_then(|name| name.value.parse::<crate::model::PackageName>().ok())
            .map_or_else(
                || "<package>".to_owned(),
                |name| name.import_name().to_string(),
            );
        out.push(
            Diagnostic::error(codes::MISSING_FILE, "no `spec.yaml` in the package").help(format!(
                "every component needs a spec; put it at `src/{import}/spec.yaml`"
            )),
        );
    }
    for (names, what, example) in [
        (
            &["README.md", "README.rst", "README.txt", "README"][..],
            "README",
            "README.md",
        ),
        (
            &["LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING", "LICENCE"][..],
            "LICENSE",
            "LICENSE",
        ),
        (
            &[
                "CHANGELOG.md",
                "CHANGELOG.rst",
                "CHANGELOG.txt",
                "CHANGELOG",
                "CHANGES.md",
                "HISTORY.md",
            ][..],
            "CHANGELOG",
            "CHANGELOG.md",
        ),
    ] {
        if !has(names) {
            out.push(
                Diagnostic::error(codes::MISSING_DOC, format!("the package has no {what}")).help(
                    format!("add `{example}` at the package root; users and indexes show it"),
                ),
            );
        }
    }
}
