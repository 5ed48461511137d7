//! What ocp knows about Osiris itself, compared with the real osiris-pipeline 0.5.7 installed
//! in a fresh environment: the list of components it ships (ocp refuses those names), the
//! spec schema ocp validates against, and its own built-in specs, which must pass ocp's schema
//! rules while being refused as names a package may use.
//!
//! Needs Python 3.11+ as `python3` (or `OCP_TEST_PYTHON`) with the `uv` module installed.

mod common;
#[path = "common/python.rs"]
mod python;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Sandbox, run, run_ok, stdout};

/// The `components/` folder of a real Osiris 0.5.7: the test binary's shared environment,
/// which these tests only read.
fn osiris_components() -> &'static Path {
    static COMPONENTS: OnceLock<PathBuf> = OnceLock::new();
    COMPONENTS
        .get_or_init(|| python::site_packages_of(&python::shared_env().python).join("components"))
}

/// The folders of `components/` that hold a spec, sorted.
fn installed_component_folders() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(osiris_components())
        .expect("read site-packages/components")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("spec.yaml").is_file())
        .map(|path| {
            path.file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_builtin_component_list_is_what_osiris_0_5_7_ships() {
    let folders = installed_component_folders();
    let listed: Vec<String> = ocp::check::builtin::components("0.5.7")
        .expect("a list for 0.5.7")
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        listed, folders,
        "src/check/builtin/osiris-0.5.7.txt differs from the components/ folders of the installed osiris-pipeline 0.5.7"
    );
    // Osiris registers each spec under its `name`, which is its folder's name.
    for folder in &folders {
        let spec = fs::read_to_string(osiris_components().join(folder).join("spec.yaml"))
            .expect("read a built-in spec");
        assert!(
            spec.lines()
                .any(|line| line.trim() == format!("name: {folder}")),
            "{folder}/spec.yaml names another component"
        );
    }
}

#[test]
fn the_embedded_osiris_schema_is_the_one_osiris_0_5_7_ships() {
    let shipped =
        fs::read(osiris_components().join("spec.schema.json")).expect("the shipped schema");
    let embedded = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/osiris-0.5.7/spec.schema.json"),
    )
    .expect("the embedded schema");
    assert_eq!(
        embedded, shipped,
        "schemas/osiris-0.5.7/spec.schema.json must be the file Osiris ships"
    );
}

#[test]
fn osiris_builtin_specs_pass_the_schema_rules_and_are_refused_as_names() {
    let sandbox = Sandbox::new();
    for folder in installed_component_folders() {
        let root = sandbox.work().join(&folder);
        run_ok(
            sandbox
                .ocp()
                .args(["new", "shopify.extractor", "--author", "Jane Doe", "--path"])
                .arg(&root),
        );
        fs::copy(
            osiris_components().join(&folder).join("spec.yaml"),
            root.join("src/shopify_osiris/spec.yaml"),
        )
        .expect("copy the built-in spec");
        let output = run(sandbox
            .ocp()
            .args(["check", "--format", "json", "--path"])
            .arg(&root));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        let codes: Vec<&str> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect();
        // Osiris's own specs are valid for its schema, and their examples for their
        // configSchema. Only the name (S023), the deprecated `load` mode (S016) and ocp's own
        // demand for a driver (S022: `mysql.writer` names none) may show.
        let spec_findings: Vec<&&str> = codes
            .iter()
            .filter(|code| code.starts_with('S') && !["S016", "S022", "S023"].contains(code))
            .collect();
        assert!(spec_findings.is_empty(), "{folder}: {spec_findings:?}");
        assert!(
            codes.contains(&"S023"),
            "{folder} is not refused as a name: {codes:?}"
        );
        assert_eq!(output.status.code(), Some(1), "{folder}");
    }
}
