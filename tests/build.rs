//! `ocp build`: reproducible bytes, a clean file list, a manifest that matches the archive,
//! a wheel beside the tarball whose RECORD matches its contents, and refusal (with nothing
//! written) while `ocp check` finds errors.

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

/// One wheel entry: path, contents, unix mode and (year, month, day).
type WheelEntry = (String, Vec<u8>, u32, (u16, u8, u8));

/// The wheel's entries in archive order.
fn wheel_entries(wheel: &Path) -> Vec<WheelEntry> {
    let mut archive = zip::ZipArchive::new(fs::File::open(wheel).expect("open the wheel"))
        .expect("a zip archive");
    (0..archive.len())
        .map(|index| {
            let mut file = archive.by_index(index).expect("entry");
            let mut contents = Vec::new();
            file.read_to_end(&mut contents).expect("read entry");
            let time = file.last_modified().expect("a timestamp");
            (
                file.name().expect("a UTF-8 name").into_owned(),
                contents,
                file.unix_mode().expect("a unix mode") & 0o777,
                (time.year(), time.month(), time.day()),
            )
        })
        .collect()
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
    let wheel = PathBuf::from(report["wheel"]["path"].as_str().expect("wheel path"));
    assert_eq!(
        wheel.file_name().and_then(|n| n.to_str()),
        Some("shopify_osiris-0.1.0-py3-none-any.whl")
    );
    let wheel_bytes = fs::read(&wheel).expect("read the wheel");
    assert_eq!(report["wheel"]["sha256"], sha256_hex(&wheel_bytes));

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
    let other_wheel = fs::read(
        sandbox
            .work()
            .join("out/shopify_osiris-0.1.0-py3-none-any.whl"),
    )
    .expect("read");
    assert_eq!(
        sha256_hex(&other_wheel),
        sha256_hex(&wheel_bytes),
        "the wheel differs between the two places"
    );
}

#[test]
fn the_wheel_carries_the_package_the_spec_for_osiris_and_a_matching_record() {
    use base64::Engine;
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "pkg");
    run_ok(sandbox.ocp().args(["build", "--path"]).arg(&root));
    let entries = wheel_entries(&root.join("dist/shopify_osiris-0.1.0-py3-none-any.whl"));
    let paths: Vec<&str> = entries.iter().map(|(path, ..)| path.as_str()).collect();
    let info = "shopify_osiris-0.1.0.dist-info";
    assert_eq!(
        paths,
        [
            "components/shopify.extractor/spec.yaml".to_owned(),
            "shopify_osiris/__init__.py".to_owned(),
            "shopify_osiris/connection.py".to_owned(),
            "shopify_osiris/driver.py".to_owned(),
            "shopify_osiris/spec.yaml".to_owned(),
            format!("{info}/METADATA"),
            format!("{info}/WHEEL"),
            format!("{info}/entry_points.txt"),
            format!("{info}/licenses/LICENSE"),
            format!("{info}/RECORD"),
        ]
    );
    let contents: BTreeMap<&str, &[u8]> = entries
        .iter()
        .map(|(path, bytes, ..)| (path.as_str(), bytes.as_slice()))
        .collect();
    let spec = fs::read(root.join("src/shopify_osiris/spec.yaml")).expect("spec");
    assert_eq!(contents["components/shopify.extractor/spec.yaml"], spec);
    assert_eq!(contents["shopify_osiris/spec.yaml"], spec);
    assert_eq!(
        String::from_utf8_lossy(contents[format!("{info}/entry_points.txt").as_str()]),
        "[osiris.components]\nshopify.extractor = shopify_osiris:load_spec\n\n"
    );
    let wheel_file = String::from_utf8_lossy(contents[format!("{info}/WHEEL").as_str()]);
    assert!(
        wheel_file.contains("Root-Is-Purelib: true\nTag: py3-none-any\n"),
        "{wheel_file}"
    );
    let metadata = String::from_utf8_lossy(contents[format!("{info}/METADATA").as_str()]);
    assert!(metadata.starts_with("Metadata-Version: 2.2\nName: shopify-osiris\nVersion: 0.1.0\n"));
    assert!(metadata.contains("Provides-Extra: dev\n"), "{metadata}");

    // RECORD lists every other file with its sha256 and size, and itself without either.
    let record = String::from_utf8_lossy(contents[format!("{info}/RECORD").as_str()]).into_owned();
    let mut listed = Vec::new();
    for line in record.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 3, "{line}");
        listed.push(fields[0]);
        if fields[0].ends_with("/RECORD") {
            assert_eq!(&fields[1..], ["", ""]);
            continue;
        }
        let bytes = contents[fields[0]];
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        assert_eq!(fields[1], format!("sha256={digest}"), "{line}");
        assert_eq!(fields[2], bytes.len().to_string(), "{line}");
    }
    assert_eq!(listed, paths);
    assert!(entries.iter().all(|(_, _, mode, _)| *mode == 0o644));
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
    let printed = stdout(&output);
    let (tarball, wheel): (Vec<&str>, Vec<&str>) = printed
        .lines()
        .partition(|line| line.starts_with("shopify_osiris-0.1.0/"));
    let listed: Vec<&str> = tarball
        .iter()
        .map(|line| line.trim_start_matches("shopify_osiris-0.1.0/"))
        .collect();
    assert!(
        wheel.contains(
            &"shopify_osiris-0.1.0-py3-none-any.whl/components/shopify.extractor/spec.yaml"
        ),
        "{wheel:?}"
    );
    assert!(
        wheel
            .iter()
            .all(|line| !line.contains("docs/") && !line.contains("tests/")),
        "the wheel holds only the import package and metadata: {wheel:?}"
    );
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
            "src/shopify_osiris/connection.py",
            "src/shopify_osiris/driver.py",
            "src/shopify_osiris/spec.yaml",
            "tests/conftest.py",
            "tests/test_driver.py",
            "tests/test_pipeline.py",
            "tests/test_spec.py",
        ]
    );
    for built in [
        "shopify_osiris-0.1.0.tar.gz",
        "shopify_osiris-0.1.0-py3-none-any.whl",
    ] {
        assert!(
            !root.join("dist").join(built).exists(),
            "--list writes nothing"
        );
    }
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
    // 1700000000 is 2023-11-14 (UTC); zip stores the date and time without a zone.
    let wheel = wheel_entries(&root.join("dist/shopify_osiris-0.1.0-py3-none-any.whl"));
    assert!(
        wheel.iter().all(|(.., date)| *date == (2023, 11, 14)),
        "{:?}",
        wheel.iter().map(|e| e.3).collect::<Vec<_>>()
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
        assert!(
            report["wheel"]["files"]
                .as_array()
                .expect("wheel files")
                .iter()
                .any(|f| f == "components/shopify.extractor/spec.yaml")
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
