//! The hostile-package catalogue: one test per way a tarball (or an index entry that
//! disagrees with its tarball) tried to make `ocp install` write outside the environment,
//! expose the user's keys, run code, replace other distributions or exhaust the machine.
//!
//! Each test builds its tarball entry by entry with real files, signs it with the real
//! `minisign` by a key the user trusts (or publishes it to a real local git index), runs the
//! real `ocp` into a real virtual environment, and asserts the refusal message, exit status 1,
//! and that the whole sandbox (the environment, the store, the index clone, the lock file and
//! the user's keys; everything but the download cache) is exactly as before.

mod common;
#[path = "common/python.rs"]
mod python;
#[path = "attacks_by_packages/support.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_same_tree, run, run_ok, stderr, stdout, tree_state};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Item, Registry, Tarball, World, assert_refused, minisign, raw_header};

// Paths from the tarball

#[test]
fn component_named_with_dot_dot_writes_nothing_outside() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["components"][0]["name"] = json!("../../../../../escaped");
    world.assert_install_refused(
        &tarball,
        &["invalid component name", "../../../../../escaped"],
    );
    assert!(!world.sandbox.dir.path().join("escaped").exists());
}

#[test]
fn component_spec_at_an_absolute_path_copies_nothing() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["components"][0]["spec"] = json!("/etc/shadow");
    world.assert_install_refused(
        &tarball,
        &[
            "invalid spec path of `evil.extractor`",
            "`/etc/shadow` is absolute",
        ],
    );
}

#[test]
fn component_spec_with_dot_dot_cannot_copy_the_users_key() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["components"][0]["spec"] = json!("../../../../keys/ocp.key");
    world.assert_install_refused(&tarball, &["invalid spec path", "contains `..`"]);
}

#[test]
fn version_with_dot_dot_writes_no_store_folder_or_dist_info_outside() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["version"] = json!("1.0/../../../../escaped");
    world.assert_install_refused(&tarball, &["invalid version", "1.0/../../../../escaped"]);
    assert!(!world.sandbox.dir.path().join("escaped").exists());
}

#[test]
fn symlink_chain_cannot_expose_the_users_keys() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .symlink("b", ".")
        .symlink("src/evil_osiris/leak", "../../b/b/b/../../../../keys")
        .listed();
    world.assert_install_refused(
        &tarball,
        &["refusing `evil_osiris-1.0.0/b`", "an OCP contains no links"],
    );
}

#[test]
fn two_self_links_are_refused_without_hanging() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .symlink("a", ".")
        .symlink("b", ".")
        .listed();
    let path = world.write(&tarball, "hostile");
    let before = world.state();
    let started = Instant::now();
    let mut child = world
        .sandbox
        .ocp()
        .arg("install")
        .arg(&path)
        .args(["--no-python-deps", "--osiris-version", "0.5.7", "--env"])
        .arg(&world.env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ocp");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("ocp install hung on two self-links");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    assert_refused(&output, &["an OCP contains no links"]);
    assert_same_tree("the sandbox", &before, &world.state());
}

// What an OCP may install

#[test]
fn file_name_with_newlines_cannot_inject_record_lines() {
    let world = World::new();
    let pip_init = world.site_packages().join("pip/__init__.py");
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .file("src/evil_osiris/x\npip/__init__.py", "")
        .listed();
    world.assert_install_refused(&tarball, &["control character", "x\\npip/__init__.py"]);
    // Neither uninstaller finds anything of it to remove, and pip's files stay.
    let output = run(world
        .sandbox
        .ocp()
        .args(["uninstall", "evil-osiris", "--env"])
        .arg(&world.env));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    run_ok(Command::new(world.env.join("bin/python")).args([
        "-m",
        "pip",
        "uninstall",
        "-y",
        "evil-osiris",
    ]));
    assert!(pip_init.is_file(), "pip's own files survive");
}

#[test]
fn record_is_csv_so_odd_file_names_uninstall_exactly() {
    let world = World::new();
    let before = tree_state(&world.site_packages().join("pip"));
    let odd = "src/odd_osiris/a,b \"c\".txt";
    let tarball = Tarball::ocp("odd.extractor", "1.0.0")
        .file(odd, "data")
        .listed();
    let path = world.write(&tarball, "odd");
    let python = world.env.join("bin/python");
    let listed = |python: &Path| {
        python::run_python(
            python,
            "import importlib.metadata as m; print(sorted(str(f) for f in m.files('odd-osiris')))",
            &[],
        )
    };
    for uninstall in ["ocp", "pip"] {
        let output = world.install(&path);
        assert!(output.status.success(), "{}", stderr(&output));
        let files = listed(&python);
        assert!(files.contains("'odd_osiris/a,b \"c\".txt'"), "{files}");
        assert!(!files.contains("pip/"), "{files}");
        if uninstall == "ocp" {
            run_ok(
                world
                    .sandbox
                    .ocp()
                    .args(["uninstall", "odd-osiris", "--env"])
                    .arg(&world.env),
            );
        } else {
            run_ok(Command::new(&python).args(["-m", "pip", "uninstall", "-y", "odd-osiris"]));
        }
        assert!(
            !world.site_packages().join("odd_osiris").exists(),
            "{uninstall} removed it all"
        );
        assert_same_tree(
            "pip's own files",
            &before,
            &tree_state(&world.site_packages().join("pip")),
        );
    }
}

#[test]
fn package_named_pip_cannot_replace_pip() {
    let world = World::new();
    let tarball = Tarball::named("pip", "99.0", "pipx.extractor").listed();
    world.assert_install_refused(
        &tarball,
        &[
            "`pip`",
            "in this environment was installed by `uv`",
            "ocp never replaces a distribution it did not install",
        ],
    );
}

#[test]
fn package_named_setuptools_cannot_replace_setuptools() {
    // From Python 3.12 on a seeded environment has pip only, so install the setuptools an
    // attacker would replace.
    let world = World::with_env(|env| {
        let python = python::venv(env, true);
        python::uv_install(&python, &["setuptools"]);
    });
    let tarball = Tarball::named("setuptools", "99.0", "tools.extractor").listed();
    world.assert_install_refused(
        &tarball,
        &[
            "`setuptools`",
            "ocp never replaces a distribution it did not install",
        ],
    );
}

#[test]
fn pkg_info_naming_osiris_cannot_change_the_osiris_version() {
    let world = World::with_env(|env| {
        python::osiris_env(env, false);
    });
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0");
    if let Item::File(_, data) = &mut tarball.items[0] {
        *data = b"Metadata-Version: 2.2\nName: osiris-pipeline\nVersion: 0.9.9\n".to_vec();
    }
    let tarball = tarball.listed();
    let path = world.write(&tarball, "hostile");
    let before = world.state();
    let output = run(world
        .sandbox
        .ocp()
        .arg("install")
        .arg(&path)
        .args(["--no-python-deps", "--env"])
        .arg(&world.env));
    assert_refused(
        &output,
        &["`PKG-INFO` names osiris-pipeline 0.9.9, but its `ocp.json` names evil-osiris 1.0.0"],
    );
    assert_same_tree("the sandbox", &before, &world.state());
    // And a package that calls itself Osiris is refused outright.
    let tarball = Tarball::named("osiris-pipeline", "0.9.9", "fake.extractor").listed();
    world.assert_install_refused(&tarball, &["`osiris-pipeline` is Osiris itself"]);
}

#[test]
fn pth_file_is_not_installed() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .file(
            "src/evil.pth",
            "import os; os.system('touch /tmp/ocp-pwned')\n",
        )
        .listed();
    world.assert_install_refused(&tarball, &["`src/evil.pth` is not a Python module"]);
}

#[test]
fn sitecustomize_is_not_installed() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .file("src/sitecustomize.py", "import os\n")
        .listed();
    world.assert_install_refused(&tarball, &["top-level name `sitecustomize`"]);
}

#[test]
fn fake_dist_info_is_not_installed() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .file(
            "src/pip-99.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: pip\nVersion: 99.0\n",
        )
        .listed();
    world.assert_install_refused(
        &tarball,
        &["`src/pip-99.0.dist-info` is not an importable name"],
    );
}

#[test]
fn file_inside_another_distributions_package_is_refused() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .file("src/pip/evil.py", "import os\n")
        .listed();
    world.assert_install_refused(
        &tarball,
        &["top-level module `pip`, which belongs to `pip`"],
    );
}

#[test]
fn entry_point_with_newlines_cannot_add_console_scripts() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["components"][0]["entry_point"] =
        json!("evil_osiris:load_spec\n[console_scripts]\nevil = os:system");
    world.assert_install_refused(
        &tarball,
        &[
            "invalid entry point of `evil.extractor`",
            "is not an entry point value",
        ],
    );
}

#[test]
fn entry_point_into_another_package_is_refused() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["components"][0]["entry_point"] = json!("pip._internal.cli.main:main");
    world.assert_install_refused(
        &tarball,
        &["the entry point `pip._internal.cli.main:main` of `evil.extractor` is outside the package's own import packages (`evil_osiris`)"],
    );
}

#[test]
fn driver_outside_the_package_is_refused() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0");
    if let Some(Item::File(_, data)) = tarball.items.last_mut() {
        *data = b"name: evil.extractor\nversion: 1.0.0\nx-runtime:\n  driver: os.system\n".to_vec();
    }
    let mut tarball = tarball.listed();
    tarball.manifest["components"][0]["driver"] = json!("os.system");
    world.assert_install_refused(&tarball, &["the driver `os.system` of `evil.extractor` is outside the package's own import packages"]);
}

#[test]
fn spec_that_names_another_component_cannot_replace_it() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0");
    if let Some(Item::File(_, data)) = tarball.items.last_mut() {
        *data = b"name: good.extractor\nversion: 1.0.0\nx-runtime:\n  driver: evil_osiris.driver.Driver\n".to_vec();
    }
    world.assert_install_refused(
        &tarball.listed(),
        &["the spec `src/evil_osiris/spec.yaml` of `evil.extractor` says `name: good.extractor`"],
    );
}

#[test]
fn python_requirement_that_is_an_option_is_refused() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    tarball.manifest["python_dependencies"] = json!(["--no-build-isolation", "/path/to/evil"]);
    world.assert_install_refused(
        &tarball,
        &[
            "invalid Python requirement",
            "`--no-build-isolation` starts with `-`",
        ],
    );
}

// The tarball must agree with its manifest

#[test]
fn unlisted_file_is_not_installed() {
    let world = World::new();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0")
        .listed()
        .file("src/evil_osiris/hidden.py", "import os\n");
    world.assert_install_refused(
        &tarball,
        &["`src/evil_osiris/hidden.py` is in the archive but not listed in its `ocp.json`"],
    );
}

#[test]
fn listed_hash_that_does_not_match_is_refused() {
    let world = World::new();
    let mut tarball = Tarball::ocp("evil.extractor", "1.0.0").listed();
    if let Item::File(_, data) = &mut tarball.items[2] {
        data.extend(b"import os\n");
    }
    world.assert_install_refused(
        &tarball,
        &[
            "`src/evil_osiris/driver.py` has sha256",
            "but its `ocp.json` lists",
        ],
    );
}

#[test]
fn two_manifests_are_refused_by_install_sign_and_verify_alike() {
    let world = World::new();
    let decoy = Tarball::ocp("good.extractor", "1.0.0").listed();
    let tarball = Tarball::ocp("evil.extractor", "1.0.0").listed().file(
        "ocp.json",
        serde_json::to_vec(&decoy.manifest).expect("json"),
    );
    world.assert_install_refused(
        &tarball,
        &[
            "refusing `evil_osiris-1.0.0/ocp.json`",
            "the same path appears twice",
        ],
    );
    let path = world.sandbox.work().join("hostile.tar.gz");
    let output = run(world.sandbox.ocp().arg("sign").arg(&path));
    assert_refused(
        &output,
        &["refusing to sign", "the same path appears twice"],
    );
    let output = run(world
        .sandbox
        .ocp()
        .arg("verify")
        .arg(&path)
        .arg("--signer")
        .arg("mallory"));
    assert_refused(&output, &["the same path appears twice"]);
}

// Resource limits before trust

/// A single gzip member of `claimed` bytes of zeros after a GNU long name header that says
/// so: about 2 MB for 2 GiB. Python's zlib makes it in seconds.
fn long_name_bomb(path: &Path, claimed: u64) {
    let header = raw_header(b"././@LongLink", tar::EntryType::GNULongName, claimed, None);
    let code = "import gzip, sys\nheader = bytes.fromhex(sys.argv[2])\nzeros = bytes(1 << 20)\nwith gzip.open(sys.argv[1], 'wb', compresslevel=9) as out:\n    out.write(header)\n    for _ in range(int(sys.argv[3]) >> 20):\n        out.write(zeros)\n";
    run_ok(
        Command::new(python::python())
            .arg("-c")
            .arg(code)
            .arg(path)
            .arg(hex::encode(header.as_bytes()))
            .arg(claimed.to_string()),
    );
}

/// `ocp` limited to `megabytes` of address space: an attempt to allocate the size a header
/// claims aborts the process instead of exiting with status 1.
fn limited(world: &World, megabytes: u64) -> Command {
    let ocp = world.sandbox.ocp();
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec \"$0\" \"$@\"",
            megabytes * 1024
        ))
        .arg(ocp.get_program())
        .current_dir(world.sandbox.work());
    for (key, value) in ocp.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    shell
}

#[test]
fn long_name_header_claiming_2_gib_fails_fast_with_little_memory() {
    let world = World::new();
    let bomb = world.sandbox.work().join("bomb.tar.gz");
    long_name_bomb(&bomb, 2 << 30);
    assert!(
        fs::metadata(&bomb).expect("bomb").len() < 4 << 20,
        "a small file"
    );
    run_ok(
        minisign()
            .arg("-S")
            .arg("-s")
            .arg(&world.mallory)
            .arg("-m")
            .arg(&bomb)
            .arg("-t")
            .arg("ocp-package:bomb-osiris version:1.0.0 sha256:0000000000000000000000000000000000000000000000000000000000000000"),
    );
    let before = world.state();
    let runs: [(&str, Vec<String>); 3] = [
        (
            "install",
            vec![
                "install".into(),
                bomb.display().to_string(),
                "--no-python-deps".into(),
                "--osiris-version".into(),
                "0.5.7".into(),
                "--env".into(),
                world.env.display().to_string(),
            ],
        ),
        (
            "sign",
            vec![
                "sign".into(),
                bomb.display().to_string(),
                "--signature".into(),
                "unused.minisig".into(),
            ],
        ),
        (
            "verify",
            vec![
                "verify".into(),
                bomb.display().to_string(),
                "--signer".into(),
                "mallory".into(),
            ],
        ),
    ];
    for (what, args) in runs {
        let started = Instant::now();
        let output = run(limited(&world, 1024).args(&args));
        assert_refused(
            &output,
            &["a GNU long name of 2147483648 bytes (ocp reads at most 65536 bytes)"],
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} took {:?}",
            started.elapsed()
        );
    }
    assert_same_tree("the sandbox", &before, &world.state());
}

// Index entries that disagree with their tarball, and lock files

#[test]
fn entry_naming_another_component_than_its_tarball_is_refused() {
    // Without the owner's key, the edit breaks the entry's signature.
    let registry = Registry::new();
    registry.edit_entry("shop-osiris", |_, entry| {
        entry["components"] = json!(["other.extractor"]);
    });
    registry.assert_install_refused(
        &["shop-osiris", "--no-python-deps"],
        &["refusing shop-osiris 0.1.0", "not what its owner signed"],
    );
}

#[test]
fn entry_signed_by_its_owner_naming_another_component_than_its_tarball_is_refused() {
    // Signed by the owner: the tarball itself must still agree with its entry.
    let registry = Registry::new();
    registry.edit_entry_as_owner("shop-osiris", |entry| {
        entry["components"] = json!(["other.extractor"]);
    });
    registry.assert_install_refused(
        &["shop-osiris", "--no-python-deps"],
        &[
            "refusing to install shop-osiris 0.1.0",
            "the entry says components `other.extractor`, the tarball provides `shop.extractor`",
        ],
    );
}

#[test]
fn entry_with_edited_python_requirements_runs_nothing() {
    let registry = Registry::new();
    registry.edit_entry("shop-osiris", |_, entry| {
        entry["python_dependencies"] = json!(["--no-build-isolation", "/path/to/evil"]);
    });
    // Python requirements are on: nothing may reach pip or uv.
    registry.assert_install_refused(
        &["shop-osiris"],
        &[
            "refusing shop-osiris 0.1.0",
            "the Python requirement `--no-build-isolation` starts with `-`",
        ],
    );
}

#[test]
fn entry_signed_by_its_owner_with_other_python_requirements_than_its_tarball_runs_nothing() {
    let registry = Registry::new();
    registry.edit_entry_as_owner("shop-osiris", |entry| {
        entry["python_dependencies"] = json!(["evil-requirement==1.0"]);
    });
    registry.assert_install_refused(
        &["shop-osiris"],
        &["the entry says Python requirements `evil-requirement==1.0`"],
    );
}

#[test]
fn entry_with_an_added_dependency_stores_nothing() {
    let registry = Registry::new();
    // Mallory publishes her own package, under her own key, to the same index.
    let (mallory, _) = registry.new_key("mallory");
    registry.publish("evil.extractor", Some(&mallory));
    registry.edit_entry("shop-osiris", |_, entry| {
        entry["dependencies"] = json!([{ "name": "evil-osiris", "requirement": "" }]);
    });
    registry.assert_install_refused(
        &["shop-osiris", "--no-python-deps"],
        &["refusing shop-osiris 0.1.0", "not what its owner signed"],
    );
}

#[test]
fn entry_signed_by_its_owner_with_a_dependency_its_tarball_lacks_stores_nothing() {
    let registry = Registry::new();
    let (mallory, _) = registry.new_key("mallory");
    registry.publish("evil.extractor", Some(&mallory));
    registry.edit_entry_as_owner("shop-osiris", |entry| {
        entry["dependencies"] = json!([{ "name": "evil-osiris", "requirement": "" }]);
    });
    registry.assert_install_refused(
        &["shop-osiris", "--no-python-deps"],
        &["the entry says dependencies `evil-osiris`, the tarball needs none"],
    );
}

/// The owner builds `base.processor` 0.1.0 again with other bytes and signs it with `key`
/// (the user's own key when `None`); returns the tarball.
fn rebuild(registry: &Registry, key: Option<&Path>) -> PathBuf {
    let root = registry.sandbox.work().join("base.processor");
    let readme = root.join("README.md");
    let text = fs::read_to_string(&readme).expect("readme");
    fs::write(&readme, text + "\nRebuilt.\n").expect("readme");
    run_ok(registry.sandbox.ocp().args(["build", "--path"]).arg(&root));
    let tarball = root.join("dist/base_osiris-0.1.0.tar.gz");
    let mut sign = registry.sandbox.ocp();
    sign.arg("sign").arg(&tarball);
    if let Some(key) = key {
        sign.arg("--key").arg(key);
    }
    run_ok(&mut sign);
    tarball
}

/// Replaces the index's `base-osiris` 0.1.0 with `tarball` and its signature.
fn republish(registry: &Registry, tarball: &Path, key_id: Option<&str>) {
    let bytes = fs::read(tarball).expect("tarball");
    let signature = fs::read_to_string(format!("{}.minisig", tarball.display())).expect("sig");
    registry.edit_entry("base-osiris", |clone, entry| {
        fs::write(
            clone.join("tarballs/ba/se/base_osiris-0.1.0.tar.gz"),
            &bytes,
        )
        .expect("copy");
        entry["sha256"] = json!(hex::encode(Sha256::digest(&bytes)));
        entry["signature"] = json!(signature);
        if let Some(key_id) = key_id {
            entry["key_id"] = json!(key_id);
        }
    });
}

#[test]
fn locked_version_with_other_bytes_is_refused_without_locked() {
    let registry = Registry::new();
    let tarball = rebuild(&registry, None);
    republish(&registry, &tarball, None);
    registry.assert_install_refused(
        &["--no-python-deps"],
        &[
            "/work/ocp.lock` locks, and a published version never changes",
            "base-osiris 0.1.0: sha256 ",
            "accept it with `ocp update base-osiris`",
        ],
    );
    // Accepting it deliberately works, and records the new checksum.
    let output = run(registry
        .sandbox
        .ocp()
        .args([
            "update",
            "base-osiris",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
            "--env",
        ])
        .arg(&registry.env));
    assert!(output.status.success(), "{}", stderr(&output));
    let lock = fs::read_to_string(registry.sandbox.work().join("ocp.lock")).expect("lock");
    let sha = hex::encode(Sha256::digest(fs::read(&tarball).expect("tarball")));
    assert!(lock.contains(&sha), "{lock}");
}

#[test]
fn locked_version_with_another_signer_is_refused_without_locked() {
    let registry = Registry::new();
    let (second, key_id) = registry.new_key("second");
    run_ok(
        registry
            .sandbox
            .ocp()
            .args(["owner", "add", "base-osiris"])
            .arg(second.with_extension("pub")),
    );
    // The same bytes, signed by the second owner.
    let bare = registry
        .sandbox
        .home()
        .join("index/checkouts/default/tarballs/ba/se/base_osiris-0.1.0.tar.gz");
    let tarball = registry.sandbox.work().join("base_osiris-0.1.0.tar.gz");
    fs::copy(&bare, &tarball).expect("copy");
    run_ok(
        registry
            .sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--key")
            .arg(&second),
    );
    republish(&registry, &tarball, Some(&key_id));
    registry.assert_install_refused(
        &["--no-python-deps"],
        &[
            &format!("is now signed by key {key_id}"),
            "accept it with `ocp update base-osiris`",
        ],
    );
}
