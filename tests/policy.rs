//! The plugin policy end to end: a real index with several signed packages (one by a key
//! nobody trusts, one depending on it), an Osiris project whose `plugins:` section decides
//! what may be installed, real virtual environments, and refusals that name the package,
//! the version, the rule and the line it is written on, and change nothing.

mod common;
#[path = "common/python.rs"]
mod python;
#[path = "common/world.rs"]
mod world;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_same_tree, run, run_ok, stderr, stdout, tree_state};
use world::{World, keep};

/// The index of these tests: shopify-osiris 1.0.0 and 2.0.0, hubspot-osiris 2.1.0 (all by
/// the world's key), untrusted-osiris 0.1.0 by a stranger's key, and app-osiris 1.0.0,
/// which needs untrusted-osiris.
struct Index {
    world: World,
    stranger: PathBuf,
}

fn with_dependency(dependency: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            &format!("    \"pyyaml>=6.0\",\n    \"{dependency}\",\n"),
            1,
        )
    }
}

impl Index {
    fn new() -> Index {
        let world = World::new();
        world.publish("shopify.extractor", "1.0.0", keep);
        world.publish("shopify.extractor", "2.0.0", keep);
        world.publish("hubspot.extractor", "2.1.0", keep);
        let stranger = world.sandbox.signing_key("stranger");
        let untrusted = world.scaffold("untrusted.extractor", "0.1.0", keep);
        run_ok(
            world
                .sandbox
                .ocp()
                .args(["publish", "--path"])
                .arg(&untrusted)
                .arg("--key")
                .arg(&stranger),
        );
        world.publish(
            "app.extractor",
            "1.0.0",
            with_dependency("untrusted-osiris>=0.1"),
        );
        Index { world, stranger }
    }

    fn work(&self) -> PathBuf {
        self.world.sandbox.work()
    }

    /// Writes the project's `osiris.yaml` (the sandbox's work folder is the project).
    fn project(&self, file: &str, text: &str) {
        let path = self.work().join(file);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    /// `ocp install ARGS --dry-run` for Osiris 0.5.7 and Python 3.11, with no environment.
    fn dry_run(&self, args: &[&str]) -> Output {
        run(self.world.sandbox.ocp().arg("install").args(args).args([
            "--dry-run",
            "--osiris-version",
            "0.5.7",
            "--python-version",
            "3.11",
        ]))
    }
}

fn refused(output: &Output, expected: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    for part in expected {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

/// The line of `osiris.yaml` that holds `text`, as refusals cite it.
fn line_of(index: &Index, file: &str, text: &str) -> String {
    let content = fs::read_to_string(index.work().join(file)).expect("read");
    let line = content
        .lines()
        .position(|line| line.contains(text))
        .expect("the text is in the file")
        + 1;
    format!("`{file}:{line}`")
}

#[test]
fn the_allowlist_steers_resolution_and_refusals_name_their_rule() {
    let index = Index::new();
    index.project(
        "osiris.yaml",
        "version: '2.0'\nplugins:\n  enabled: true\n  allowlist:\n    - shopify-osiris==1.0.0\n    - hubspot-osiris>=2.0.0,<3.0.0\n  denylist:\n    - hubspot-osiris==2.1.0\n",
    );
    // The newest shopify-osiris is not allowed: the allowed one is chosen, and the plan says why.
    let output = index.dry_run(&["shopify.extractor", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    common::assert_matches_schema(
        include_str!("../schemas/install-report.schema.json"),
        &report,
    );
    assert_eq!(report["packages"][0]["version"], "1.0.0");
    let allowlist = line_of(&index, "osiris.yaml", "allowlist:");
    let entry = line_of(&index, "osiris.yaml", "shopify-osiris==1.0.0");
    assert_eq!(
        report["notes"][0],
        format!(
            "shopify-osiris 1.0.0 is chosen because the plugin policy refuses shopify-osiris 2.0.0: no entry of the allowlist at {allowlist} matches it; it allows only `shopify-osiris==1.0.0` ({entry})"
        )
    );

    // Asking for the refused version: the package, the version, the rule and its line.
    refused(
        &index.dry_run(&["shopify-osiris==2.0.0"]),
        &[
            "error: cannot install shopify-osiris==2.0.0",
            &format!(
                "shopify-osiris 2.0.0 cannot be used: refused by the plugin policy: no entry of the allowlist at {allowlist} matches it"
            ),
            "help: nothing was installed; the plugin policy refused shopify-osiris 2.0.0",
        ],
    );

    // On both lists: the denylist wins, and the message says so and why.
    refused(
        &index.dry_run(&["hubspot.extractor"]),
        &[&format!(
            "hubspot-osiris 2.1.0 cannot be used: refused by the plugin policy: the denylist entry `hubspot-osiris==2.1.0` at {} matches it; the allowlist entry `hubspot-osiris>=2.0.0,<3.0.0` at {} matches it too, but the denylist wins",
            line_of(&index, "osiris.yaml", "- hubspot-osiris==2.1.0"),
            line_of(&index, "osiris.yaml", "hubspot-osiris>=2.0.0"),
        )],
    );

    // `ocp info` shows each version's verdict, and the sandbox settings.
    let mut text = fs::read_to_string(index.work().join("osiris.yaml")).expect("read");
    text.push_str("  sandbox:\n    provider: e2b\n    fs_access: readonly\n");
    index.project("osiris.yaml", &text);
    let output =
        run_ok(
            index
                .world
                .sandbox
                .ocp()
                .args(["info", "shopify.extractor", "--format", "json"]),
        );
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    common::assert_matches_schema(include_str!("../schemas/info-report.schema.json"), &info);
    assert_eq!(info["versions"][0]["version"], "2.0.0");
    assert_eq!(info["versions"][0]["policy"]["verdict"], "refused");
    assert_eq!(info["versions"][0]["policy"]["rule"], "allowlist");
    assert_eq!(info["versions"][1]["policy"]["verdict"], "allowed");
    assert_eq!(info["sandbox"]["provider"], "e2b");
    assert_eq!(info["sandbox"]["network"], serde_json::Value::Null);
    let human = stdout(&run_ok(
        index.world.sandbox.ocp().args(["info", "shopify-osiris"]),
    ));
    assert!(
        human.contains(&format!("      refused by the plugin policy: no entry of the allowlist at {allowlist} matches it")),
        "{human}"
    );
    assert!(
        human.contains(&format!(
            "sandbox (enforced by the Osiris runtime): provider e2b ({}), fs_access readonly ({})",
            line_of(&index, "osiris.yaml", "provider: e2b"),
            line_of(&index, "osiris.yaml", "fs_access: readonly")
        )),
        "{human}"
    );

    // `ocp lock` obeys the policy too, and writes nothing when it refuses.
    let before = tree_state(&index.work());
    refused(
        &run(index.world.sandbox.ocp().args([
            "lock",
            "hubspot.extractor",
            "--osiris-version",
            "0.5.7",
            "--python-version",
            "3.11",
        ])),
        &["refused by the plugin policy"],
    );
    assert_same_tree("the project", &before, &tree_state(&index.work()));
}

#[test]
fn a_dependency_the_denylist_refuses_stops_the_install_before_any_download() {
    let index = Index::new();
    // The seed plan's place for the section.
    index.project(
        ".osiris/config.yaml",
        "plugins:\n  denylist:\n    - untrusted-osiris\n",
    );
    let env = index.world.sandbox.dir.path().join("venv");
    python::venv(&env, false);
    let home = index.world.sandbox.home();
    let watched = [
        env.clone(),
        index.work(),
        home.join("store"),
        home.join("cache"),
    ];
    let before: Vec<_> = watched.iter().map(|path| tree_state(path)).collect();
    let output = index.world.install(
        &env,
        &[
            "app.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
        ],
    );
    let rule = line_of(&index, ".osiris/config.yaml", "- untrusted-osiris");
    refused(
        &output,
        &[
            "error: cannot install app.extractor",
            "app-osiris 1.0.0 needs untrusted-osiris >=0.1",
            &format!(
                "untrusted-osiris 0.1.0 cannot be used: refused by the plugin policy: the denylist entry `untrusted-osiris` at {rule} matches it"
            ),
        ],
    );
    assert!(
        !stderr(&output).contains("Downloading"),
        "{}",
        stderr(&output)
    );
    for (path, before) in watched.iter().zip(&before) {
        assert_same_tree(&path.display().to_string(), before, &tree_state(path));
    }

    // Without the rule it installs, dependency first.
    fs::remove_file(index.work().join(".osiris/config.yaml")).expect("remove");
    let output = index.world.install(
        &env,
        &[
            "app.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(index.work().join("ocp.lock").is_file());
}

#[test]
fn signature_verification_trusts_only_the_named_signers() {
    let index = Index::new();
    let sandbox = &index.world.sandbox;
    let own_public = index.world.key.with_extension("pub");
    run_ok(
        sandbox
            .ocp()
            .arg("key")
            .arg("trust")
            .arg("team")
            .arg(&own_public),
    );
    index.project(
        "osiris.yaml",
        "plugins:\n  signature_verification: true\n  trusted_signers: [team]\n",
    );
    let output = index.dry_run(&["shopify.extractor"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stranger_id = key_id(&index.stranger.with_extension("pub"), sandbox);
    refused(
        &index.dry_run(&["untrusted.extractor"]),
        &[&format!(
            "untrusted-osiris 0.1.0 cannot be used: refused by the plugin policy: it is signed by key {stranger_id}, which is not one of the trusted signers at `osiris.yaml:3` (team ("
        )],
    );

    // A name in `trusted_signers` with no key is an error with the file and line.
    index.project(
        "osiris.yaml",
        "plugins:\n  signature_verification: true\n  trusted_signers:\n    - team\n    - keboola\n",
    );
    refused(
        &index.dry_run(&["shopify.extractor"]),
        &[
            "error: `osiris.yaml:5`: the trusted signer `keboola` has no key in the trusted keys",
            "     5 |     - keboola",
            "help: trust the key under that name with `ocp key trust keboola <PUBLIC_KEY>`",
        ],
    );
}

/// A public key's id, as `ocp key trusted` shows it once trusted under a scratch name in a
/// scratch home.
fn key_id(public: &Path, sandbox: &common::Sandbox) -> String {
    let scratch = sandbox.dir.path().join("scratch-home");
    let output = run_ok(
        sandbox
            .ocp()
            .env("OCP_HOME", &scratch)
            .arg("key")
            .arg("trust")
            .arg("scratch")
            .arg(public),
    );
    let _ = output;
    let listed = run_ok(
        sandbox
            .ocp()
            .env("OCP_HOME", &scratch)
            .args(["key", "trusted", "--format", "json"]),
    );
    let report: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    report["signers"][0]["key_id"]
        .as_str()
        .expect("a key id")
        .to_owned()
}

#[test]
fn local_tarballs_pass_the_same_policy() {
    let index = Index::new();
    let sandbox = &index.world.sandbox;
    let env = sandbox.dir.path().join("venv");
    python::venv(&env, false);
    let root = index.world.scaffold("local.extractor", "0.3.0", keep);
    run_ok(sandbox.ocp().args(["build", "--path"]).arg(&root));
    let tarball = root.join("dist/local_osiris-0.3.0.tar.gz");
    let install = || {
        index.world.install(
            &env,
            &[
                tarball.to_str().expect("utf-8"),
                "--no-python-deps",
                "--osiris-version",
                "0.5.7",
            ],
        )
    };
    index.project(
        "osiris.yaml",
        "plugins:\n  signature_verification: true\n  trusted_signers: [team]\n",
    );
    run_ok(
        sandbox
            .ocp()
            .arg("key")
            .arg("trust")
            .arg("team")
            .arg(index.world.key.with_extension("pub")),
    );
    run_ok(
        sandbox
            .ocp()
            .arg("key")
            .arg("trust")
            .arg("stranger")
            .arg(index.stranger.with_extension("pub")),
    );
    let before = tree_state(&env);

    // Unsigned: refused whatever the policy says.
    refused(&install(), &["has no signature"]);
    // Signed by a trusted key that is not one of the trusted signers: the policy refuses it.
    run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--key")
            .arg(&index.stranger),
    );
    refused(
        &install(),
        &[
            "refusing to install `",
            "local-osiris 0.3.0 is refused by the plugin policy: it is signed by key",
            "which is not one of the trusted signers at `osiris.yaml:3`",
        ],
    );
    assert_same_tree("the environment", &before, &tree_state(&env));

    // Signed by the team's key: installed.
    run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--key")
            .arg(&index.world.key),
    );
    let output = install();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn disabled_plugins_refuse_every_install_dry_run_and_lock() {
    let index = Index::new();
    index.project(
        "osiris.yaml",
        "version: '2.0'\nplugins:\n  enabled: false\n",
    );
    let expected = "plugins are disabled for this project (`enabled: false` at `osiris.yaml:3`)";
    refused(&index.dry_run(&["shopify.extractor"]), &[expected]);
    let before = tree_state(&index.work());
    refused(
        &run(index.world.sandbox.ocp().args([
            "lock",
            "shopify.extractor",
            "--osiris-version",
            "0.5.7",
            "--python-version",
            "3.11",
        ])),
        &[expected],
    );
    assert_same_tree("the project", &before, &tree_state(&index.work()));

    // The environment outranks the project.
    let output = run(index
        .world
        .sandbox
        .ocp()
        .env("OCP_PLUGINS_ENABLED", "true")
        .args(["install", "shopify.extractor", "--dry-run"])
        .args(["--osiris-version", "0.5.7", "--python-version", "3.11"]));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn broken_settings_are_errors_at_their_line_and_unknown_keys_warnings() {
    let index = Index::new();
    for (file, text, expected) in [
        (
            "osiris.yaml",
            "plugins:\n  allowlist:\n    - shopify-osiris=>1.0\n",
            "error: `osiris.yaml:3`: the `plugins.allowlist` entry `shopify-osiris=>1.0` has an invalid PEP 440 requirement `=>1.0`",
        ),
        (
            "osiris.yaml",
            "plugins:\n  enabled: [\n",
            "error: `osiris.yaml:3:1`: not valid",
        ),
        (
            "osiris.yaml",
            "plugins:\n  signature_verification: \"sometimes\"\n",
            "error: `osiris.yaml:2:27`: `plugins.signature_verification` must be `true` or `false`, not a string",
        ),
    ] {
        index.project(file, text);
        refused(&index.dry_run(&["shopify.extractor"]), &[expected]);
    }

    index.project(
        "osiris.yaml",
        "plugins:\n  denylist: [shopify-osiris]\n  alowlist: []\n",
    );
    index.project(".osiris/config.yaml", "plugins:\n  enabled: false\n");
    let output = index.dry_run(&["hubspot.extractor"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    for expected in [
        "warning: `osiris.yaml:3`: unknown setting `plugins.alowlist` is ignored",
        "warning: both `osiris.yaml` and `.osiris/config.yaml` have a `plugins:` section; ocp uses `osiris.yaml`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn the_lock_file_lives_at_the_project_root_and_nowhere_outside_a_project() {
    let index = Index::new();
    let sandbox = &index.world.sandbox;
    // From a folder inside the project: the lock goes to the project's root.
    let inner = index.work().join("pipelines/nested");
    fs::create_dir_all(&inner).expect("mkdir");
    let lock = |dir: &Path, extra: &[&str]| {
        run(sandbox
            .ocp_in(dir)
            .args(["lock", "shopify.extractor", "--osiris-version", "0.5.7"])
            .args(["--python-version", "3.11"])
            .args(extra))
    };
    let output = lock(&inner, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(index.work().join("ocp.lock").is_file());
    assert!(!inner.join("ocp.lock").exists());
    assert!(
        stderr(&output).contains("Locked 1 package in `"),
        "{}",
        stderr(&output)
    );

    // Outside a project: `ocp lock` needs `--lockfile`, and `ocp install` writes no lock.
    let outside = sandbox.dir.path().join("elsewhere");
    fs::create_dir_all(&outside).expect("mkdir");
    refused(
        &lock(&outside, &[]),
        &[
            "`ocp lock` writes `ocp.lock` at the root of an Osiris project",
            "help: run it in the project",
        ],
    );
    assert!(fs::read_dir(&outside).expect("read").next().is_none());
    let output = lock(&outside, &["--lockfile", "named.lock"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(outside.join("named.lock").is_file());

    let env = sandbox.dir.path().join("venv");
    python::venv(&env, false);
    let output = run(sandbox
        .ocp_in(&outside)
        .args([
            "install",
            "shopify.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
            "--env",
        ])
        .arg(&env));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("is not in an Osiris project, so no lock file was read or written"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read_dir(&outside).expect("read").count(),
        1,
        "only named.lock is there"
    );

    // `--project` names the project from anywhere.
    let install_in_project = || {
        run(sandbox
            .ocp_in(&outside)
            .args([
                "install",
                "shopify.extractor",
                "--no-python-deps",
                "--osiris-version",
                "0.5.7",
            ])
            .arg("--project")
            .arg(index.work())
            .arg("--env")
            .arg(&env))
    };
    let output = install_in_project();
    assert!(output.status.success(), "{}", stderr(&output));
    let project_lock = format!("`{}`", index.work().join("ocp.lock").display());
    assert!(
        stderr(&output).contains(&project_lock),
        "{}",
        stderr(&output)
    );
    let again = install_in_project();
    assert!(
        stderr(&again).contains(&format!("Using the lock file {project_lock}, unchanged")),
        "{}",
        stderr(&again)
    );
}

#[test]
fn config_show_says_where_every_value_comes_from() {
    let index = Index::new();
    let sandbox = &index.world.sandbox;
    index.project(
        "osiris.yaml",
        "plugins:\n  denylist:\n    - untrusted-osiris\n  sandbox:\n    provider: e2b\n    network: deny\n",
    );
    fs::write(
        sandbox.home().join("config.toml"),
        "offline = true\n[plugins]\nsignature_verification = false\ndenylist = [\"user-osiris\"]\n",
    )
    .expect("write");
    let output = run_ok(
        sandbox
            .ocp()
            .env(
                "OCP_PLUGINS_ALLOWLIST",
                "shopify-osiris hubspot.extractor>=2",
            )
            .args(["config", "show", "--format", "json"]),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    common::assert_matches_schema(
        include_str!("../schemas/config-report.schema.json"),
        &report,
    );
    let setting = |key: &str| {
        report["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .find(|row| row["key"] == key)
            .cloned()
            .expect("listed")
    };
    assert_eq!(setting("offline")["value"], true);
    assert_eq!(setting("offline")["source"]["kind"], "user");
    assert_eq!(
        setting("plugins.denylist")["value"],
        serde_json::json!(["untrusted-osiris"])
    );
    assert_eq!(
        setting("plugins.denylist")["source"]["text"],
        "`osiris.yaml:2`"
    );
    assert_eq!(setting("plugins.denylist")["items"][0]["source"]["line"], 3);
    assert_eq!(
        setting("plugins.allowlist")["value"],
        serde_json::json!(["shopify-osiris", "hubspot.extractor>=2"])
    );
    assert_eq!(
        setting("plugins.allowlist")["source"]["variable"],
        "OCP_PLUGINS_ALLOWLIST"
    );
    assert_eq!(setting("plugins.sandbox.network")["value"], "deny");
    assert_eq!(
        setting("plugins.sandbox.policy")["value"],
        serde_json::Value::Null
    );
    assert_eq!(setting("lockfile")["value"], "ocp.lock");

    let human = stdout(&run_ok(sandbox.ocp().args(["config", "show"])));
    for expected in [
        "plugins.sandbox.provider       = \"e2b\"  # `osiris.yaml:5`",
        "    \"untrusted-osiris\",  # `osiris.yaml:3`",
        "offline                        = true  # `",
    ] {
        assert!(
            human.contains(expected),
            "missing {expected:?} in:\n{human}"
        );
    }

    // A sandbox value that is not one of the words is an error at its line.
    index.project(
        "osiris.yaml",
        "plugins:\n  sandbox:\n    network: outbound\n",
    );
    refused(
        &run(sandbox.ocp().args(["config", "show"])),
        &[
            "`osiris.yaml:3`: `plugins.sandbox.network` must be one of `deny`, `egress-only`, `allow`: `outbound` is not one of them",
        ],
    );
}
