//! `ocp build`: reproducible bytes, a clean file list, a manifest that matches the archive,
//! and refusal (with nothing written) while `ocp check` finds errors.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::{Sandbox, run, run_ok, stderr, stdout};
use sha2::{Digest, Sha256};

fn generate(sandbox: &Sandbox, name: &str) -> PathBuf {
    let root = sandbox.work().join(name);
    run_ok(
        sandbox
            .ocp()
            .args(["new", "shopify.extractor", "--author", "Jane Doe", "--path"])
            .arg(&root),
    );
    root
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The archive's entries: path -> (contents, mode, mtime, uid, gid).
fn entries(tarball: &Path) -> BTreeMap<String, (Vec<u8>, u32, u64, u64, u64)> {
    let bytes = fs::read(tarball).expect("read the tarball");
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut tar)
        .expect("gunzip");
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let header = entry.header().clone();
        let path = entry.path().expect("path").display().to_string();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).expect("read entry");
        out.insert(
            path,
            (
                contents,
                header.mode().expect("mode"),
                header.mtime().expect("mtime"),
                header.uid().expect("uid"),
                header.gid().expect("gid"),
            ),
        );
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn two_builds_in_two_places_are_byte_identical() {
    let sandbox = Sandbox::new();
    let first = generate(&sandbox, "first");
    let output = run_ok(
        sandbox
            .ocp()
            .args(["build", "--format", "json", "--path"])
            .arg(&first),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let tarball = PathBuf::from(report["path"].as_str().expect("path"));
    assert_eq!(
        tarball.file_name().and_then(|n| n.to_str()),
        Some("shopify_osiris-0.1.0.tar.gz")
    );
    let bytes = fs::read(&tarball).expect("read");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&tarball)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(
        mode, 0o644,
        "the tarball is readable by everyone, as any build output"
    );
    assert_eq!(report["sha256"], sha256_hex(&bytes));
    assert_eq!(report["size"], bytes.len() as u64);

    // Rebuild in place: same bytes.
    run_ok(sandbox.ocp().args(["build", "--path"]).arg(&first));
    assert_eq!(
        fs::read(&tarball).expect("read"),
        bytes,
        "a second build changed the bytes"
    );

    // A copy elsewhere, with new file times and a different umask-like mode: same bytes.
    let second = sandbox.work().join("elsewhere/copy");
    copy_tree(&first, &second);
    fs::remove_dir_all(second.join("dist")).expect("remove the copied dist");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let driver = second.join("src/shopify_osiris/driver.py");
    fs::write(&driver, fs::read(&driver).expect("read")).expect("touch");
    fs::set_permissions(second.join("README.md"), fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let output = run_ok(
        sandbox
            .ocp()
            .args(["build", "--path"])
            .arg(&second)
            .args(["--out-dir"])
            .arg(sandbox.work().join("out")),
    );
    let other = fs::read(sandbox.work().join("out/shopify_osiris-0.1.0.tar.gz")).expect("read");
    assert_eq!(
        sha256_hex(&other),
        sha256_hex(&bytes),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_archive_is_an_sdist_with_a_matching_manifest() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    run_ok(sandbox.ocp().args(["build", "--path"]).arg(&root));
    let entries = entries(&root.join("dist/shopify_osiris-0.1.0.tar.gz"));
    let prefix = "shopify_osiris-0.1.0/";
    assert!(
        entries.keys().all(|path| path.starts_with(prefix)),
        "one top folder: {:?}",
        entries.keys()
    );
    for (path, (_, mode, mtime, uid, gid)) in &entries {
        assert_eq!((*mtime, *uid, *gid), (946_684_800, 0, 0), "{path}");
        assert_eq!(*mode, 0o644, "{path}");
    }
    let pkg_info =
        String::from_utf8(entries[&format!("{prefix}PKG-INFO")].0.clone()).expect("utf-8");
    assert!(
        pkg_info.starts_with("Metadata-Version: 2.2\nName: shopify-osiris\nVersion: 0.1.0\n"),
        "{pkg_info}"
    );
    assert!(pkg_info.contains("Requires-Dist: osiris-pipeline>=0.5.0,<1.0.0\n"));
    assert!(entries.contains_key(&format!("{prefix}pyproject.toml")));

    let manifest: serde_json::Value =
        serde_json::from_slice(&entries[&format!("{prefix}ocp.json")].0).expect("manifest json");
    let schema = include_str!("../schemas/ocp-manifest.schema.json");
    common::assert_matches_schema(schema, &manifest);
    assert_eq!(manifest["name"], "shopify-osiris");
    assert_eq!(manifest["osiris"], ">=0.5.0,<1.0.0");
    assert_eq!(manifest["python"], ">=3.11");
    assert_eq!(manifest["components"][0]["name"], "shopify.extractor");
    assert_eq!(
        manifest["components"][0]["entry_point"],
        "shopify_osiris:load_spec"
    );
    assert_eq!(
        manifest["components"][0]["driver"],
        "shopify_osiris.driver.ShopifyExtractorDriver"
    );
    assert_eq!(
        manifest["python_dependencies"],
        serde_json::json!(["pyyaml>=6.0", "requests>=2.31", "pandas>=2.0"])
    );
    let files = manifest["files"].as_object().expect("files");
    assert_eq!(
        files.len(),
        entries.len() - 1,
        "every file but ocp.json is listed"
    );
    for (path, checksum) in files {
        let (contents, ..) = &entries[&format!("{prefix}{path}")];
        assert_eq!(
            checksum.as_str(),
            Some(sha256_hex(contents).as_str()),
            "{path}"
        );
    }
}

#[test]
fn build_leaves_out_vcs_caches_environments_secrets_and_ignored_files() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    for (path, contents) in [
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".venv/pyvenv.cfg", "home = /usr\n"),
        ("env2/pyvenv.cfg", "home = /usr\n"),
        ("env2/lib/site.py", "x = 1\n"),
        (".env", "API_KEY=abc\n"),
        (".env.production", "API_KEY=abc\n"),
        ("src/shopify_osiris/__pycache__/driver.cpython-311.pyc", "x"),
        ("dist/old-0.0.1.tar.gz", "old"),
        ("build/lib/x.py", "x"),
        ("shopify_osiris.egg-info/PKG-INFO", "x"),
        ("scratch/notes.txt", "private notes\n"),
        ("docs/usage.md", "# Usage\n"),
    ] {
        let target = root.join(path);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::write(target, contents).expect("write");
    }
    let gitignore = root.join(".gitignore");
    let mut text = fs::read_to_string(&gitignore).expect("gitignore");
    text.push_str("scratch/\n");
    fs::write(&gitignore, text).expect("write gitignore");

    let output = run_ok(sandbox.ocp().args(["build", "--list", "--path"]).arg(&root));
    let listed: Vec<String> = stdout(&output)
        .lines()
        .map(|line| line.trim_start_matches("shopify_osiris-0.1.0/").to_owned())
        .collect();
    assert_eq!(
        listed,
        [
            ".github/workflows/release.yml",
            ".gitignore",
            "CHANGELOG.md",
            "LICENSE",
            "PKG-INFO",
            "README.md",
            "docs/usage.md",
            "ocp.json",
            "pyproject.toml",
            "src/shopify_osiris/__init__.py",
            "src/shopify_osiris/driver.py",
            "src/shopify_osiris/spec.yaml",
            "tests/test_driver.py",
            "tests/test_spec.py",
        ]
    );
    assert!(
        !root.join("dist/shopify_osiris-0.1.0.tar.gz").exists(),
        "--list writes nothing"
    );
}

#[test]
fn build_refuses_a_package_with_errors_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    let spec = root.join("src/shopify_osiris/spec.yaml");
    let text = fs::read_to_string(&spec).expect("spec");
    fs::write(
        &spec,
        text.replace("version: 0.1.0\n", "version: 0.1.0\nfamily: shopify\n"),
    )
    .expect("write");
    let output = run(sandbox.ocp().args(["build", "--path"]).arg(&root));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("error[S010]"), "{text}");
    assert!(
        text.contains("error: cannot build shopify-osiris v0.1.0: `ocp check` found 1 error"),
        "{text}"
    );
    assert!(!root.join("dist").exists(), "nothing may be written");
}

#[test]
fn build_refuses_a_symlink_that_leaves_the_package() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    std::os::unix::fs::symlink("/etc/passwd", root.join("passwd")).expect("symlink");
    let output = run(sandbox.ocp().args(["build", "--path"]).arg(&root));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error[F004]: symlink `passwd` points outside the package"),
        "{}",
        stderr(&output)
    );
    assert!(!root.join("dist").exists());
}

#[test]
fn source_date_epoch_sets_every_timestamp_and_must_be_a_number() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    run_ok(
        sandbox
            .ocp()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["build", "--path"])
            .arg(&root),
    );
    let entries = entries(&root.join("dist/shopify_osiris-0.1.0.tar.gz"));
    assert!(
        entries
            .values()
            .all(|(_, _, mtime, _, _)| *mtime == 1_700_000_000)
    );

    let output = run(sandbox
        .ocp()
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .args(["build", "--path"])
        .arg(&root));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("SOURCE_DATE_EPOCH must be a number of seconds, not `yesterday`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn json_output_follows_its_schema() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    let schema = include_str!("../schemas/build-report.schema.json");
    for args in [
        vec!["build", "--format", "json"],
        vec!["build", "--list", "--format", "json"],
    ] {
        let output = run_ok(sandbox.ocp().args(&args).arg("--path").arg(&root));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        common::assert_matches_schema(schema, &report);
        assert!(
            report["files"]
                .as_array()
                .expect("files")
                .iter()
                .any(|f| f == "shopify_osiris-0.1.0/ocp.json")
        );
    }
}

#[test]
fn build_refuses_a_symlink_inside_the_package() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    std::os::unix::fs::symlink("README.md", root.join("README.txt")).expect("symlink");
    let output = run(sandbox.ocp().args(["build", "--path"]).arg(&root));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "error[F006]: `README.txt` is a symlink (to `README.md`); an OCP contains no symlinks"
        ),
        "{}",
        stderr(&output)
    );
    assert!(!root.join("dist").exists());
}

#[test]
fn build_refuses_what_install_would_refuse() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    // `ocp check` has no rule about it, but an OCP never installs a `.pth` file.
    std::fs::write(root.join("src/evil.pth"), "import os\n").expect("write");
    let output = run(sandbox.ocp().args(["build", "--path"]).arg(&root));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("`ocp install` would refuse the archive"),
        "{text}"
    );
    assert!(
        text.contains("`src/evil.pth` is not a Python module"),
        "{text}"
    );
    assert!(!root.join("dist/shopify_osiris-0.1.0.tar.gz").exists());
}
