//! `ocp install`, `uninstall` and `list` in real Python virtual environments, from real git
//! indexes: Python and Osiris find what ocp installed, pip removes it, tampered tarballs and
//! failing steps leave the environment as it was, and two installs can share the store.

mod common;
#[path = "common/http.rs"]
mod common_http;
#[path = "common/python.rs"]
mod python;
#[path = "common/world.rs"]
mod world;

use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_same_tree, run, run_ok, stderr, stdout, tree_state};
use python::{osiris_env, run_python, site_packages, venv};
use world::{World, keep};

/// Every path under site-packages, to compare before and after.
fn snapshot(env: &Path) -> Vec<String> {
    let root = site_packages(env);
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(
                path.strip_prefix(&root)
                    .expect("prefix")
                    .display()
                    .to_string(),
            );
        }
    }
    out.sort();
    out
}

const FIND: &str = r#"
import importlib, importlib.metadata as metadata, sys
from osiris.components.registry import ComponentRegistry
name = sys.argv[1]
found = [ep for ep in metadata.entry_points(group="osiris.components") if ep.name == name]
spec = found[0].load()()
module, cls = spec["x-runtime"]["driver"].rsplit(".", 1)
driver = getattr(importlib.import_module(module), cls)
print(len(found), spec["name"], spec["version"], driver.__name__, name in ComponentRegistry().load_specs())
"#;

#[test]
fn installed_components_are_found_by_python_osiris_and_pip() {
    let world = World::new();
    // A Python requirement Osiris does not bring, so the install has one to install.
    world.publish("shopify.extractor", "1.0.0", |text| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            "    \"pyyaml>=6.0\",\n    \"iniconfig>=2\",\n",
            1,
        )
    });
    let env = world.sandbox.dir.path().join("venv");
    let python = osiris_env(&env, true);
    let output = world.install(&env, &["shopify.extractor", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["osiris"], "0.5.7");
    assert_eq!(report["packages"][0]["action"], "install");
    // Status lines come in the order the work happens: resolve, then install.
    let status = stderr(&output);
    let resolved = status.find("Resolved 1 package for Osiris 0.5.7 and Python ");
    let requirements = status.find("Installing Python requirements: ");
    assert!(
        resolved.is_some() && requirements.is_some() && resolved < requirements,
        "{status}"
    );
    assert_eq!(
        run_python(&python, FIND, &["shopify.extractor"]),
        "1 shopify.extractor 1.0.0 ShopifyExtractorDriver True\n"
    );

    let list = run_ok(
        world
            .sandbox
            .ocp()
            .args(["list", "--format", "json", "--env"])
            .arg(&env),
    );
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(list["packages"][0]["name"], "shopify-osiris");
    assert_eq!(list["packages"][0]["requested"], true);
    let pip_list = run_ok(std::process::Command::new(&python).args([
        "-m",
        "pip",
        "list",
        "--disable-pip-version-check",
    ]));
    assert!(
        stdout(&pip_list).contains("shopify-osiris"),
        "{}",
        stdout(&pip_list)
    );

    run_ok(std::process::Command::new(&python).args([
        "-m",
        "pip",
        "uninstall",
        "-y",
        "shopify-osiris",
    ]));
    let leftovers: Vec<String> = snapshot(&env)
        .into_iter()
        .filter(|p| p.contains("shopify"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "pip uninstall leaves nothing: {leftovers:?}"
    );
}

#[test]
fn dependencies_install_first_and_upgrades_replace_the_old_version() {
    let world = World::new();
    world.publish("base.processor", "1.0.0", keep);
    let with_dependency = |text: &str| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            "    \"pyyaml>=6.0\",\n    \"base-osiris>=1.0\",\n",
            1,
        )
    };
    world.publish("app.extractor", "1.0.0", with_dependency);
    world.publish("app.extractor", "1.1.0", with_dependency);
    let env = world.sandbox.dir.path().join("venv");
    let python = osiris_env(&env, false);

    let output = world.install(&env, &["app.extractor@1.0", "--no-python-deps"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Installed base-osiris v1.0.0"),
        "{}",
        stderr(&output)
    );
    // The lock file keeps the installed version until asked to update.
    let output = world.install(&env, &["app-osiris", "--no-python-deps"]);
    assert!(stderr(&output).contains("Unchanged"), "{}", stderr(&output));
    let output = run(world
        .sandbox
        .ocp()
        .args(["update", "app.extractor", "--no-python-deps", "--env"])
        .arg(&env));
    assert!(
        stderr(&output).contains("Upgraded app-osiris v1.1.0 (was 1.0.0)"),
        "{}",
        stderr(&output)
    );
    let dist_infos: Vec<String> = snapshot(&env)
        .into_iter()
        .filter(|p| p.starts_with("app_osiris-") && p.ends_with(".dist-info"))
        .collect();
    assert_eq!(dist_infos, vec!["app_osiris-1.1.0.dist-info".to_owned()]);
    assert_eq!(
        run_python(
            &python,
            "import importlib.metadata as m; print(m.version('app-osiris'), m.version('base-osiris'))",
            &[]
        ),
        "1.1.0 1.0.0\n"
    );

    let tree = run_ok(world.sandbox.ocp().args(["tree", "--env"]).arg(&env));
    assert_eq!(
        stdout(&tree),
        "app-osiris v1.1.0 (app.extractor)\n└── base-osiris v1.0.0 (required by app-osiris 1.1.0: >=1.0)\n"
    );
    let output = run_ok(
        world
            .sandbox
            .ocp()
            .args(["uninstall", "app.extractor", "--env"])
            .arg(&env),
    );
    assert!(stderr(&output).contains("Removed app-osiris v1.1.0"));
    assert!(
        !site_packages(&env)
            .join("components/app.extractor")
            .exists()
    );
    assert!(
        site_packages(&env)
            .join("components/base.processor/spec.yaml")
            .exists()
    );
}

#[test]
fn a_version_that_needs_another_osiris_is_explained() {
    let world = World::new();
    world.publish("shopify.extractor", "1.4.2", keep);
    world.publish("shopify.extractor", "2.0.0", |text| {
        text.replace(
            "osiris-pipeline>=0.5.0,<1.0.0",
            "osiris-pipeline>=0.6.0,<1.0.0",
        )
        .replace("- osiris>=0.5.0", "- osiris>=0.6.0")
    });
    let env = world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    let before = snapshot(&env);
    let output = world.install(&env, &["shopify.extractor@>=2.0", "--no-python-deps"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("shopify-osiris 2.0.0 needs osiris >=0.6.0"),
        "{text}"
    );
    assert!(text.contains("this environment has osiris 0.5.7"), "{text}");
    assert!(text.contains("ocp install shopify-osiris==1.4.2"), "{text}");
    assert_eq!(snapshot(&env), before);
    // Without the requirement, the newest version that fits is chosen.
    let output = world.install(&env, &["shopify.extractor", "--no-python-deps"]);
    assert!(
        stderr(&output).contains("Installed shopify-osiris v1.4.2"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_tampered_tarball_is_refused_and_nothing_changes() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", keep);
    // Someone with write access to the index swaps the tarball for another build.
    world.tamper_index("swap", |checkout| {
        let tarball = checkout.join("tarballs/sh/op/shopify_osiris-1.0.0.tar.gz");
        let mut bytes = fs::read(&tarball).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&tarball, bytes).expect("write");
    });
    let env = world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    let before = snapshot(&env);
    let output = world.install(&env, &["shopify.extractor", "--no-python-deps"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("has sha256"),
        "{}",
        stderr(&output)
    );
    assert_eq!(snapshot(&env), before, "the environment is as it was");
    assert!(
        !world
            .sandbox
            .home()
            .join("store/v1/shopify-osiris")
            .exists(),
        "nothing was unpacked"
    );
}

#[test]
fn a_failing_python_requirement_rolls_the_install_back() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", |text| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            "    \"pyyaml>=6.0\",\n    \"ocp-test-no-such-distribution==1.0\",\n",
            1,
        )
    });
    let env = world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    let before = snapshot(&env);
    let output = world.install(&env, &["shopify.extractor"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("install was rolled back"),
        "{}",
        stderr(&output)
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn two_installs_at_once_share_the_store() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", keep);
    let envs: Vec<PathBuf> = (0..2)
        .map(|i| world.sandbox.dir.path().join(format!("venv{i}")))
        .collect();
    for env in &envs {
        venv(env, false);
    }
    let children: Vec<_> = envs
        .iter()
        .map(|env| {
            world
                .sandbox
                .ocp()
                .args([
                    "install",
                    "shopify.extractor",
                    "--no-python-deps",
                    "--osiris-version",
                    "0.5.7",
                    "--env",
                ])
                .arg(env)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let versions: Vec<_> = fs::read_dir(world.sandbox.home().join("store/v1/shopify-osiris"))
        .expect("store")
        .flatten()
        .collect();
    assert_eq!(versions.len(), 1, "one copy in the store");
    for env in &envs {
        assert!(
            site_packages(env)
                .join("shopify_osiris/driver.py")
                .is_file()
        );
    }
}

#[test]
fn environments_must_be_named_and_have_osiris() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", keep);
    let output = run(world.sandbox.ocp().args(["install", "shopify.extractor"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no Python environment to install into"),
        "{}",
        stderr(&output)
    );
    let output = world.install(&world.sandbox.work(), &["shopify.extractor"]);
    assert!(
        stderr(&output).contains("is not a Python virtual environment"),
        "{}",
        stderr(&output)
    );
    let env = world.sandbox.dir.path().join("bare-venv");
    venv(&env, false);
    let output = world.install(&env, &["shopify.extractor"]);
    assert!(
        stderr(&output).contains("`--osiris-version 0.5.7`"),
        "{}",
        stderr(&output)
    );
    let output = world.install(&env, &["no.such-thing"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn the_lock_file_pins_versions_and_locked_refuses_changes() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", keep);
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    let with = |env: &Path, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--no-python-deps", "--osiris-version", "0.5.7"]);
        world.install(env, &all)
    };
    assert!(with(&env, &["shopify.extractor"]).status.success());
    let lock = world.sandbox.work().join("ocp.lock");
    let text = fs::read_to_string(&lock).expect("ocp install writes ocp.lock");
    assert!(
        text.contains("name = \"shopify-osiris\"\nversion = \"1.0.0\""),
        "{text}"
    );

    world.publish("shopify.extractor", "1.1.0", keep);
    // A second machine installs exactly the lock, from the cache, with no network.
    let other = world.sandbox.dir.path().join("venv2");
    venv(&other, false);
    let output = with(&other, &["--frozen"]);
    assert!(
        stderr(&output).contains("Installed shopify-osiris v1.0.0"),
        "{}",
        stderr(&output)
    );

    world.publish("postgres.writer", "1.0.0", keep);
    let output = with(&env, &["postgres.writer", "--locked"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("would change, and `--locked` forbids it"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("postgres-osiris"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read_to_string(&lock).expect("lock"),
        text,
        "a refused install leaves the lock file alone"
    );

    let output = run(world
        .sandbox
        .ocp()
        .args([
            "update",
            "--dry-run",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
            "--env",
        ])
        .arg(&env));
    assert!(
        stderr(&output).contains("Would upgrade shopify-osiris v1.1.0 (was 1.0.0)"),
        "{}",
        stderr(&output)
    );
    let output = run(world
        .sandbox
        .ocp()
        .args(["lock", "--osiris-version", "0.5.7", "--env"])
        .arg(&env));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(&lock).expect("lock"),
        text,
        "ocp lock keeps what is still allowed"
    );

    run_ok(
        world
            .sandbox
            .ocp()
            .args(["uninstall", "shopify.extractor", "--env"])
            .arg(&env),
    );
    assert!(
        !fs::read_to_string(&lock)
            .expect("lock")
            .contains("shopify-osiris")
    );
}

#[test]
fn a_local_tarball_installs_when_a_trusted_key_signed_it() {
    let world = World::new();
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    let root = world.sandbox.work().join("local");
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["new", "local.extractor", "--path"])
            .arg(&root),
    );
    run_ok(world.sandbox.ocp().args(["build", "--path"]).arg(&root));
    let tarball = root.join("dist/local_osiris-0.1.0.tar.gz");
    let install = || {
        world.install(
            &env,
            &[
                tarball.to_str().expect("utf-8"),
                "--no-python-deps",
                "--osiris-version",
                "0.5.7",
            ],
        )
    };

    let unsigned = install();
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(
        stderr(&unsigned).contains("has no signature"),
        "{}",
        stderr(&unsigned)
    );

    // Signed by a stranger's key: refused.
    let stranger = world.sandbox.signing_key("stranger");
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["sign"])
            .arg(&tarball)
            .arg("--key")
            .arg(&stranger),
    );
    let untrusted = install();
    assert!(
        stderr(&untrusted).contains("which you do not trust"),
        "{}",
        stderr(&untrusted)
    );

    // Signed by the user's own key (the default key in OCP_HOME): installed.
    let own = world.sandbox.home().join("keys/ocp.key");
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["key", "generate", "--no-password", "--output"])
            .arg(&own),
    );
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["sign"])
            .arg(&tarball)
            .arg("--key")
            .arg(&own),
    );
    let output = install();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        site_packages(&env)
            .join("components/local.extractor/spec.yaml")
            .is_file()
    );
    // It says what it checked and by which key, that nothing came from the index, and why
    // the lock file lists no package.
    let public = world.sandbox.home().join("keys/ocp.pub");
    let said = stderr(&output);
    assert_in_order(
        &said,
        &[
            &format!(
                "Verified local-osiris v0.1.0 from `{}` (sha256 {}): signed by your own key {} (`{}`)",
                tarball.display(),
                &sha256_hex(&tarball)[..12],
                key_id(&public),
                public.display()
            ),
            "Resolved local-osiris v0.1.0 for Osiris 0.5.7 and Python ",
            ", needing nothing from the index\n",
            "Installed local-osiris v0.1.0: local.extractor\n",
            "Locked 0 packages in `ocp.lock`; local-osiris came from a tarball, which a lock file does not record\n",
        ],
    );
}

/// The key id a public key file names (`untrusted comment: minisign public key <ID>`).
fn key_id(public: &Path) -> String {
    let text = fs::read_to_string(public).expect("the public key");
    let comment = text.lines().next().expect("a comment line");
    comment.rsplit(' ').next().expect("a key id").to_owned()
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(fs::read(path).expect("read")))
}

/// Asserts that `text` holds every one of `parts`, in this order.
fn assert_in_order(text: &str, parts: &[&str]) {
    let mut from = 0;
    for part in parts {
        let found = text[from..]
            .find(part)
            .unwrap_or_else(|| panic!("{part:?} is missing (or out of order) in:\n{text}"));
        from += found + part.len();
    }
}

#[test]
fn a_local_tarball_names_its_signer_and_what_it_needed_from_the_index() {
    let world = World::new();
    world.publish("base.processor", "1.0.0", keep);
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    let root = world.scaffold("local.extractor", "0.1.0", |text| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            "    \"pyyaml>=6.0\",\n    \"base-osiris>=1.0,<2.0\",\n",
            1,
        )
    });
    run_ok(world.sandbox.ocp().args(["build", "--path"]).arg(&root));
    let tarball = root.join("dist/local_osiris-0.1.0.tar.gz");
    // Signed by Alice, whom the user trusts by name.
    let alice = world.sandbox.signing_key("alice");
    let public = alice.with_extension("pub");
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["key", "trust", "alice"])
            .arg(&public),
    );
    run_ok(
        world
            .sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--key")
            .arg(&alice),
    );
    let install = |extra: &[&str]| {
        let mut args = vec![
            tarball.to_str().expect("utf-8"),
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
        ];
        args.extend_from_slice(extra);
        world.install(&env, &args)
    };

    // A Python its range does not allow is refused before anything is resolved.
    let (environment, project) = (tree_state(&env), tree_state(&world.sandbox.work()));
    let refused = install(&["--python-version", "3.10"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).starts_with(
            "error: local-osiris 0.1.0 needs Python >=3.11, but this environment has Python 3.10\n"
        ),
        "{}",
        stderr(&refused)
    );
    assert_same_tree("the environment", &environment, &tree_state(&env));
    assert_same_tree("the project", &project, &tree_state(&world.sandbox.work()));

    let output = install(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_in_order(
        &stderr(&output),
        &[
            &format!(
                "Verified local-osiris v0.1.0 from `{}` (sha256 {}): signed by trusted signer `alice` (key {}, trusted in `{}`)\n",
                tarball.display(),
                &sha256_hex(&tarball)[..12],
                key_id(&public),
                world.sandbox.home().join("trusted-keys.toml").display()
            ),
            "Resolved 1 package from the index for Osiris 0.5.7 and Python ",
            "Installed base-osiris v1.0.0: base.processor\n",
            "Installed local-osiris v0.1.0: local.extractor\n",
            "Locked 1 package in `ocp.lock`; local-osiris came from a tarball, which a lock file does not record\n",
        ],
    );
}

#[test]
fn downloads_come_from_an_http_server() {
    let server = common_http::FileServer::start(Some("token"));
    let world = World::new();
    let index = world.sandbox.dir.path().join("http-index");
    let upload = format!("{}/ocp/{{name}}/{{file}}", server.base);
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["index", "init"])
            .arg(&index)
            .args(["--storage", "http", "--upload-url", &upload]),
    );
    // The upload token belongs to the publisher's configuration, not to the index.
    fs::write(
        world.sandbox.home().join("config.toml"),
        format!(
            "[registries.files]\nindex = \"{}\"\ntoken-env = \"OCP_TEST_TOKEN\"\nupload-host = \"{}\"\n",
            index.display(),
            server.base.trim_start_matches("http://")
        ),
    )
    .expect("write config.toml");
    let root = world.sandbox.work().join("pkg");
    run_ok(
        world
            .sandbox
            .ocp()
            .args(["new", "shopify.extractor", "--path"])
            .arg(&root),
    );
    run_ok(
        world
            .sandbox
            .ocp()
            .env("OCP_TEST_TOKEN", "token")
            .args(["publish", "--path"])
            .arg(&root)
            .args(["--index", "files"])
            .arg("--key")
            .arg(&world.key),
    );
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    let output = run(world
        .sandbox
        .ocp()
        .args([
            "install",
            "shopify.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
            "--index",
        ])
        .arg(&index)
        .arg("--env")
        .arg(&env));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        site_packages(&env)
            .join("shopify_osiris/driver.py")
            .is_file()
    );
    let log = server.log.lock().expect("lock").clone();
    assert!(
        log.iter()
            .any(|r| r.starts_with("GET /ocp/shopify-osiris/")),
        "{log:?}"
    );
}

#[test]
fn a_tarball_signed_by_a_key_that_never_owned_the_package_is_refused() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", keep);
    // An attacker with write access to the index re-signs the entry with their own key.
    let attacker = world.sandbox.signing_key("attacker");
    world.tamper_index("re-sign", |checkout| {
        let tarball = checkout.join("tarballs/sh/op/shopify_osiris-1.0.0.tar.gz");
        let signed = run_ok(
            world
                .sandbox
                .ocp()
                .args(["sign", "--format", "json"])
                .arg(&tarball)
                .arg("--key")
                .arg(&attacker),
        );
        let signed: serde_json::Value = serde_json::from_slice(&signed.stdout).expect("json");
        let minisig = format!("{}.minisig", tarball.display());
        let signature = fs::read_to_string(&minisig).expect("signature");
        fs::remove_file(&minisig).expect("remove");
        let entry_path = checkout.join("packages/sh/op/shopify-osiris");
        let mut entry: serde_json::Value =
            serde_json::from_str(fs::read_to_string(&entry_path).expect("entry").trim())
                .expect("json");
        entry["signature"] = serde_json::Value::String(signature);
        entry["key_id"] = signed["key_id"].clone();
        fs::write(&entry_path, format!("{entry}\n")).expect("write");
    });
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    let before = snapshot(&env);
    let output = world.install(
        &env,
        &[
            "shopify.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("which has never owned `shopify-osiris`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn a_lock_can_be_made_without_an_environment() {
    let world = World::new();
    world.publish("shopify.extractor", "1.0.0", keep);
    let output = run(world.sandbox.ocp().args([
        "lock",
        "shopify.extractor",
        "--osiris-version",
        "0.5.7",
        "--python-version",
        "3.11.7",
        "--format",
        "json",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(report["environment"].is_null());
    assert_eq!(report["python"], "3.11.7");
    let lock = fs::read_to_string(world.sandbox.work().join("ocp.lock")).expect("the lock file");
    assert!(lock.contains("python = \"3.11.7\""), "{lock}");
    // Without a Python version there is nothing to resolve for.
    let output =
        run(world
            .sandbox
            .ocp()
            .args(["lock", "shopify.extractor", "--osiris-version", "0.5.7"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--python-version"),
        "{}",
        stderr(&output)
    );
}
