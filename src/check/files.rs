//! Files every package must have: pyproject.toml, at least one spec.yaml, a README, a
//! LICENSE and a CHANGELOG; and files no package may ship: modules inside Osiris's own
//! import package `osiris`.

use super::codes;
use super::driver::OSIRIS_PACKAGE;
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
    osiris_namespace(package, out);
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

/// Files under `osiris/` would overwrite (or be refused beside) the files of osiris-pipeline.
fn osiris_namespace(package: &Package, out: &mut Vec<Diagnostic>) {
    let root = package.source_root();
    let prefix = if root.is_empty() {
        format!("{OSIRIS_PACKAGE}/")
    } else {
        format!("{root}/{OSIRIS_PACKAGE}/")
    };
    let inside: Vec<&str> = package
        .files
        .iter()
        .map(|file| file.relative.as_str())
        .filter(|path| path.starts_with(&prefix))
        .collect();
    let Some(first) = inside.first() else {
        return;
    };
    let own = package
        .import_packages()
        .into_iter()
        .find(|name| name != OSIRIS_PACKAGE)
        .unwrap_or_else(|| "<your_package>".to_owned());
    let more = match inside.len() {
        1 => String::new(),
        count => format!(
            " and {} more file{}",
            count - 1,
            if count > 2 { "s" } else { "" }
        ),
    };
    out.push(
        Diagnostic::error(
            codes::OSIRIS_NAMESPACE,
            format!("`{first}`{more} would be installed inside Osiris's own package `osiris`, which belongs to osiris-pipeline"),
        )
        .in_file(*first)
        .help(format!("move the modules into `{prefix_own}/{own}/` and update the paths that name them (`x-runtime.driver`, imports)", prefix_own = if root.is_empty() { "." } else { root })),
    );
}
