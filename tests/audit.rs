//! `ocp audit` on real environments with the real Osiris 0.5.7 and packages installed from a
//! real git index: an untouched install passes (with the bytecode Python writes), and every
//! kind of tampering or change the audit knows is found, with exit status 1 and the JSON its
//! schema describes, without the audit changing anything itself.

mod common;
#[path = "common/python.rs"]
mod python;
#[path = "common/world.rs"]
mod world;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_same_tree, git, run, run_ok, stderr, stdout, tree_state};
use python::{osiris_env, site_packages};
use world::{World, keep};

const SCHEMA: &str = include_str!("../schemas/audit-report.schema.json");

/// A world with shopify-osiris 1.0.0 installed into a fresh environment with Osiris.
struct Installed {
    world: World,
    env: PathBuf,
    python: PathBuf,
}

impl Installed {
    fn new() -> Installed {
        let world = World::new();
        world.publish("shopify.extractor", "1.0.0", keep);
        let env = world.sandbox.dir.path().join("venv");
        let python = osiris_env(&env, false);
        let output = world.install(&env, &["shopify.extractor", "--no-python-deps"]);
        assert!(output.status.success(), "{}", stderr(&output));
        Installed { world, env, python }
    }

    fn audit(&self, args: &[&str]) -> Output {
        run(self
            .world
            .sandbox
            .ocp()
            .arg("audit")
            .arg("--env")
            .arg(&self.env)
            .args(args))
    }

    /// `ocp audit --format json`, checked against its schema and its exit status.
    fn audit_json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.audit(&[&["--format", "json"][..], args].concat());
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}\n{}", stdout(&output), stderr(&output)));
        common::assert_matches_schema(SCHEMA, &report);
        let clean = report["clean"].as_bool().expect("clean");
        assert_eq!(
            output.status.code(),
            Some(if clean { 0 } else { 1 }),
            "{}",
            stderr(&output)
        );
        report
    }

    fn site(&self) -> PathBuf {
        site_packages(&self.env)
    }
}

/// `(kind, package, path)` of every finding.
fn findings(report: &serde_json::Value) -> Vec<(String, Option<String>, Option<String>)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            (
                finding["kind"].as_str().expect("kind").to_owned(),
                finding["package"].as_str().map(str::to_owned),
                finding["path"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn finding(
    kind: &str,
    package: Option<&str>,
    path: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    (
        kind.to_owned(),
        package.map(str::to_owned),
        path.map(str::to_owned),
    )
}

#[test]
fn an_untouched_install_passes_and_every_change_to_its_files_is_found() {
    let installed = Installed::new();
    // Osiris imports the driver: Python writes bytecode beside it, which is not a finding.
    run_ok(
        std::process::Command::new(&installed.python)
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .args(["-c", "import shopify_osiris.driver"]),
    );
    assert!(installed.site().join("shopify_osiris/__pycache__").is_dir());

    let before = tree_state(&installed.env);
    let output = installed.audit(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Audited 1 package in `"),
        "{}",
        stderr(&output)
    );
    let report = installed.audit_json(&[]);
    assert_eq!(report["clean"], true);
    assert_eq!(report["osiris"], "0.5.7");
    assert_eq!(report["packages"][0]["name"], "shopify-osiris");
    assert_same_tree("the environment", &before, &tree_state(&installed.env));

    // Something edits the driver, drops a module beside it and a `.pth` into site-packages,
    // and deletes the component's spec.
    let site = installed.site();
    let driver = site.join("shopify_osiris/driver.py");
    // One byte changed, so only the hash can tell.
    let mut bytes = fs::read(&driver).expect("read");
    bytes[0] ^= 0x01;
    fs::write(&driver, bytes).expect("write");
    fs::write(site.join("shopify_osiris/helper.py"), "import os\n").expect("write");
    fs::write(site.join("zz_evil.pth"), "import os\n").expect("write");
    fs::remove_file(site.join("components/shopify.extractor/spec.yaml")).expect("remove");

    let report = installed.audit_json(&[]);
    assert_eq!(report["clean"], false);
    let package = Some("shopify-osiris");
    assert_eq!(
        findings(&report),
        vec![
            finding("modified", package, Some("shopify_osiris/driver.py")),
            finding(
                "missing",
                package,
                Some("components/shopify.extractor/spec.yaml")
            ),
            finding("unclaimed", package, Some("shopify_osiris/helper.py")),
            finding("pth", None, Some("zz_evil.pth")),
        ]
    );
    let output = installed.audit(&[]);
    assert_eq!(output.status.code(), Some(1));
    let lines = stdout(&output);
    assert!(
        lines.contains("shopify-osiris 1.0.0: modified: `shopify_osiris/driver.py`: its sha256 differs from the one its RECORD lists"),
        "{lines}"
    );
    assert!(
        stderr(&output).contains("found 4 problems in 1 package"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn yanked_versions_and_the_policy_in_force_are_reported() {
    let installed = Installed::new();
    let sandbox = &installed.world.sandbox;
    run_ok(
        sandbox
            .ocp()
            .args(["yank", "shopify-osiris@1.0.0", "--key"])
            .arg(&installed.world.key),
    );
    fs::write(
        sandbox.work().join("osiris.yaml"),
        "version: '2.0'\nplugins:\n  denylist:\n    - shopify.extractor\n",
    )
    .expect("write");
    let report = installed.audit_json(&[]);
    let package = Some("shopify-osiris");
    assert_eq!(
        findings(&report),
        vec![
            finding("yanked", package, None),
            finding("policy", package, None)
        ]
    );
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["message"].as_str().expect("message"))
        .collect();
    assert_eq!(
        messages[1],
        "it is refused by the plugin policy: the denylist entry `shopify.extractor` at `osiris.yaml:4` matches it"
    );

    // The policy of another project (named with `--project`) is the one that applies.
    let other = sandbox.dir.path().join("other-project");
    fs::create_dir_all(&other).expect("mkdir");
    fs::write(other.join("osiris.yaml"), "version: '2.0'\n").expect("write");
    let report = installed.audit_json(&["--project", other.to_str().expect("utf-8")]);
    assert_eq!(findings(&report), vec![finding("yanked", package, None)]);
}

#[test]
fn an_osiris_range_that_excludes_the_environment_is_reported() {
    let world = World::new();
    world.publish("future.extractor", "2.0.0", |text| {
        text.replace(
            "osiris-pipeline>=0.5.0,<1.0.0",
            "osiris-pipeline>=0.6.0,<1.0.0",
        )
        .replace("- osiris>=0.5.0", "- osiris>=0.6.0")
    });
    let env = world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    // Installed for another Osiris than the one the environment has.
    let output = world.install(
        &env,
        &[
            "future.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.6.0",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(world
        .sandbox
        .ocp()
        .args(["audit", "--format", "json", "--env"])
        .arg(&env));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    common::assert_matches_schema(SCHEMA, &report);
    assert_eq!(
        findings(&report),
        vec![finding("osiris", Some("future-osiris"), None)]
    );
    assert!(
        report["findings"][0]["message"].as_str().is_some_and(|m| m
            .starts_with("it needs osiris >=0.6.0,<1.0.0, but this environment has osiris 0.5.7")),
        "{report:#}"
    );
}

/// Replaces the last commit of the default index with another (same files, new message) and
/// force-pushes it: a history that no longer contains the head this machine saw.
fn rewrite_index_history(world: &World) {
    let bare = world.sandbox.home().join("index/default.git");
    let checkout = world.sandbox.dir.path().join("rewrite");
    run_ok(
        std::process::Command::new("git")
            .args(["clone", "--quiet"])
            .arg(&bare)
            .arg(&checkout),
    );
    git(
        &checkout,
        &["commit", "--quiet", "--amend", "-m", "rewritten"],
    );
    git(&checkout, &["push", "--quiet", "--force"]);
}

#[test]
fn a_rewritten_index_and_a_package_nothing_vouches_for_are_reported() {
    let installed = Installed::new();
    let sandbox = &installed.world.sandbox;

    // A local tarball, installed while its signer was trusted, then no longer trusted.
    let root = installed.world.scaffold("local.extractor", "0.2.0", keep);
    run_ok(sandbox.ocp().args(["build", "--path"]).arg(&root));
    let tarball = root.join("dist/local_osiris-0.2.0.tar.gz");
    let signer = sandbox.signing_key("colleague");
    run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--key")
            .arg(&signer),
    );
    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "colleague"])
            .arg(signer.with_extension("pub")),
    );
    let output = installed.world.install(
        &installed.env,
        &[tarball.to_str().expect("utf-8"), "--no-python-deps"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report = installed.audit_json(&[]);
    assert_eq!(report["clean"], true, "{report:#}");
    let local = report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "local-osiris")
        .cloned()
        .expect("local-osiris");
    assert_eq!(local["trusted_as"], serde_json::json!(["colleague"]));
    run_ok(sandbox.ocp().args(["key", "untrust", "colleague"]));

    rewrite_index_history(&installed.world);
    let before = tree_state(&sandbox.home().join("index"));
    let report = installed.audit_json(&[]);
    assert_eq!(
        findings(&report),
        vec![
            finding("signature", Some("local-osiris"), None),
            finding("index-rewritten", None, None),
        ]
    );
    let message = report["findings"][1]["message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "the index `default` is no longer a fast-forward of what this machine last saw"
        ),
        "{message}"
    );
    // The rewritten history was not taken in.
    assert_same_tree(
        "the index clone",
        &before,
        &tree_state(&sandbox.home().join("index")),
    );

    // Offline, the local clone still holds what was seen: only the signature remains.
    let report = installed.audit_json(&["--offline"]);
    assert_eq!(
        findings(&report),
        vec![finding("signature", Some("local-osiris"), None)]
    );
}

#[test]
fn an_environment_that_is_not_one_is_an_error_not_a_clean_audit() {
    let world = World::new();
    let missing: &Path = &world.sandbox.dir.path().join("no-such-venv");
    let output = run(world
        .sandbox
        .ocp()
        .args(["audit", "--format", "json", "--env"])
        .arg(missing));
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
}
