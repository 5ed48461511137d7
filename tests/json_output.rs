//! Every command's `--format json` output, from the real binary, against its schema in
//! `schemas/` (the copies embedded in `ocp::schemas`): a key, a package published to the
//! default local index, the commands that read that index, a signed tarball, and installs into
//! a real virtual environment. Each test also checks a few values, so a command that prints
//! valid but wrong JSON fails too.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Sandbox, assert_matches_schema, run, run_ok, stderr, stdout};
use ocp::schemas;
use serde_json::Value;

const COMPONENT: &str = "shopify.extractor";
const PACKAGE: &str = "shopify-osiris";

/// Parses a command's stdout as one JSON document.
fn json(output: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|error| {
        panic!(
            "stdout is not one JSON document ({error})\n--- stdout\n{}\n--- stderr\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Runs a command that must succeed and returns its stdout as JSON.
fn json_ok(command: &mut Command) -> Value {
    json(&run_ok(command))
}

/// A sandbox with a key at the default place (`OCP_HOME/keys/ocp.key`) and a new package.
struct World {
    sandbox: Sandbox,
    key: Value,
    package: PathBuf,
}

impl World {
    fn new() -> World {
        let sandbox = Sandbox::new();
        let key =
            json_ok(
                sandbox
                    .ocp()
                    .args(["key", "generate", "--no-password", "--format", "json"]),
            );
        run_ok(
            sandbox
                .ocp()
                .args(["new", COMPONENT, "--author", "Jane Doe"]),
        );
        let package = sandbox.work().join(PACKAGE);
        assert!(
            package.join("pyproject.toml").is_file(),
            "ocp new made no package"
        );
        World {
            sandbox,
            key,
            package,
        }
    }

    fn key_id(&self) -> &str {
        self.key["key_id"].as_str().expect("key_id is a string")
    }

    fn ocp(&self) -> Command {
        self.sandbox.ocp()
    }

    /// `ocp publish --format json` of the package to the default local index.
    fn publish(&self, extra: &[&str]) -> Value {
        json_ok(
            self.ocp()
                .args(["publish", "--format", "json", "--path"])
                .arg(&self.package)
                .args(extra),
        )
    }

    /// The default local index, where `ocp publish` with no `--index` pushes.
    fn index_remote(&self) -> PathBuf {
        self.sandbox.home().join("index/default.git")
    }
}

fn is_hex(text: &str, length: usize) -> bool {
    text.len() == length && text.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn key_generate_and_key_public_match_the_key_schema() {
    let world = World::new();
    assert_matches_schema(schemas::KEY_REPORT, &world.key);
    let secret = world.key["secret_key_path"].as_str().expect("secret path");
    let public = world.key["public_key_path"].as_str().expect("public path");
    assert!(Path::new(secret).ends_with("keys/ocp.key"), "{secret}");
    assert!(Path::new(public).ends_with("keys/ocp.pub"), "{public}");
    assert!(Path::new(public).is_file());
    assert!(is_hex(world.key_id(), 16), "{}", world.key_id());

    let shown = json_ok(world.ocp().args(["key", "public", "--format", "json"]));
    assert_matches_schema(schemas::KEY_REPORT, &shown);
    assert_eq!(shown["key_id"], world.key["key_id"]);
    assert_eq!(shown["public_key"], world.key["public_key"]);
    // `ocp key public` wrote nothing, so it names no files: the fields are absent, not null.
    let fields = shown.as_object().expect("an object");
    assert!(!fields.contains_key("secret_key_path"), "{shown:#}");
    assert!(!fields.contains_key("public_key_path"), "{shown:#}");
}

#[test]
fn publish_and_the_commands_that_read_the_index_match_their_schemas() {
    let world = World::new();

    let dry = world.publish(&["--dry-run"]);
    assert_matches_schema(schemas::PUBLISH_REPORT, &dry);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["claimed"], true);
    assert_eq!(dry["commit"], Value::Null);
    assert_eq!(dry["tarball"], Value::Null);

    let published = world.publish(&[]);
    assert_matches_schema(schemas::PUBLISH_REPORT, &published);
    assert_eq!(published["name"], PACKAGE);
    assert_eq!(published["version"], "0.1.0");
    assert_eq!(published["components"], serde_json::json!([COMPONENT]));
    assert_eq!(published["index"], "default");
    assert_eq!(published["dry_run"], false);
    assert_eq!(published["claimed"], true);
    assert_eq!(published["key_id"], world.key["key_id"]);
    // The dry run packaged the same bytes.
    assert_eq!(published["sha256"], dry["sha256"]);
    let commit = published["commit"].as_str().expect("a commit");
    let head = run_ok(
        Command::new("git")
            .arg("-C")
            .arg(world.index_remote())
            .args(["rev-parse", "HEAD"]),
    );
    assert_eq!(
        commit,
        stdout(&head).trim(),
        "the commit is the index's HEAD"
    );
    assert!(published["tarball"].is_string(), "{published:#}");

    let search = json_ok(world.ocp().args(["search", "shop", "--format", "json"]));
    assert_matches_schema(schemas::SEARCH_REPORT, &search);
    let hits = search["packages"].as_array().expect("packages");
    assert_eq!(hits.len(), 1, "{search:#}");
    assert_eq!(hits[0]["name"], PACKAGE);
    assert_eq!(hits[0]["version"], "0.1.0");
    assert_eq!(hits[0]["components"], serde_json::json!([COMPONENT]));

    let nothing = json_ok(world.ocp().args(["search", "postgres", "--format", "json"]));
    assert_matches_schema(schemas::SEARCH_REPORT, &nothing);
    assert_eq!(nothing["packages"], serde_json::json!([]));

    let info = json_ok(world.ocp().args(["info", COMPONENT, "--format", "json"]));
    assert_matches_schema(schemas::INFO_REPORT, &info);
    assert_eq!(info["name"], PACKAGE);
    assert_eq!(info["owners"], serde_json::json!([world.key_id()]));
    let versions = info["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "{info:#}");
    assert_eq!(versions[0]["version"], "0.1.0");
    assert_eq!(versions[0]["yanked"], false);
    assert_eq!(versions[0]["sha256"], published["sha256"]);
    assert_eq!(versions[0]["key_id"], world.key["key_id"]);

    let owners = json_ok(
        world
            .ocp()
            .args(["owner", "list", PACKAGE, "--format", "json"]),
    );
    assert_matches_schema(schemas::OWNER_LIST_REPORT, &owners);
    assert_eq!(owners["package"], PACKAGE);
    assert_eq!(
        owners["owners"],
        serde_json::json!([{
            "key_id": world.key["key_id"],
            "public_key": world.key["public_key"],
        }])
    );

    let clone = world.sandbox.dir.path().join("index-clone");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(world.index_remote())
            .arg(&clone),
    );
    let verified = json_ok(
        world
            .ocp()
            .args(["index", "verify"])
            .arg(&clone)
            .args(["--format", "json"]),
    );
    assert_matches_schema(schemas::INDEX_VERIFY_REPORT, &verified);
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert_eq!(verified["packages"], 1);
    assert_eq!(verified["versions"], 1);
    assert_eq!(verified["findings"], serde_json::json!([]));
}

#[test]
fn index_verify_of_a_broken_index_prints_findings_that_match_the_schema() {
    let world = World::new();
    world.publish(&[]);
    let clone = world.sandbox.dir.path().join("index-clone");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(world.index_remote())
            .arg(&clone),
    );
    let package_file = std::fs::read_dir(clone.join("packages"))
        .expect("packages/")
        .flatten()
        .flat_map(|shard| walk(&shard.path()))
        .find(|path| path.file_name().is_some_and(|name| name == PACKAGE))
        .expect("the package's index file");
    let text = std::fs::read_to_string(&package_file).expect("read the entry");
    std::fs::write(&package_file, format!("{text}this is not an entry\n")).expect("write");

    let output = run(world
        .ocp()
        .args(["index", "verify"])
        .arg(&clone)
        .args(["--format", "json"]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = json(&output);
    assert_matches_schema(schemas::INDEX_VERIFY_REPORT, &report);
    assert_eq!(report["ok"], false);
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .any(|f| f["severity"] == "error" && f["code"] == "I001"),
        "{report:#}"
    );
}

/// Every file under `dir` (or `dir` itself when it is a file).
fn walk(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    std::fs::read_dir(dir)
        .expect("read a directory")
        .flatten()
        .flat_map(|entry| walk(&entry.path()))
        .collect()
}

#[test]
fn sign_matches_the_sign_schema_and_verify_agrees() {
    let world = World::new();
    let out_dir = world.sandbox.dir.path().join("dist");
    let build = run_ok(
        world
            .ocp()
            .args(["build", "--path"])
            .arg(&world.package)
            .arg("--out-dir")
            .arg(&out_dir),
    );
    let tarball = out_dir.join("shopify_osiris-0.1.0.tar.gz");
    assert!(tarball.is_file(), "{}", stderr(&build));

    let signed = json_ok(
        world
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .args(["--format", "json"]),
    );
    assert_matches_schema(schemas::SIGN_REPORT, &signed);
    assert_eq!(signed["file"], tarball.display().to_string());
    assert_eq!(
        signed["signature"],
        format!("{}.minisig", tarball.display())
    );
    assert_eq!(signed["key_id"], world.key["key_id"]);
    assert_eq!(signed["package"]["name"], PACKAGE);
    assert_eq!(signed["package"]["version"], "0.1.0");
    let sha256 = signed["package"]["sha256"].as_str().expect("sha256");
    assert!(is_hex(sha256, 64), "{sha256}");

    let verified = json_ok(
        world
            .ocp()
            .arg("verify")
            .arg(&tarball)
            .args(["--public-key"])
            .arg(world.key["public_key"].as_str().expect("public key"))
            .args(["--format", "json"]),
    );
    assert_matches_schema(schemas::VERIFY_REPORT, &verified);
    for field in ["file", "signature", "key_id", "trusted_comment", "package"] {
        assert_eq!(verified[field], signed[field], "`{field}` differs");
    }
}

#[test]
fn install_lock_and_list_match_their_schemas() {
    let world = World::new();
    world.publish(&[]);
    let env = world.sandbox.dir.path().join("venv");
    run_ok(
        Command::new(std::env::var("OCP_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned()))
            .args(["-m", "venv", "--without-pip"])
            .arg(&env),
    );
    let install_args = |extra: &[&str]| {
        let mut command = world.ocp();
        command
            .args(["install", COMPONENT, "--env"])
            .arg(&env)
            .args(["--osiris-version", "0.5.7", "--no-python-deps"])
            .args(["--format", "json"])
            .args(extra);
        command
    };

    let listed = json_ok(
        world
            .ocp()
            .args(["list", "--env"])
            .arg(&env)
            .args(["--format", "json"]),
    );
    assert_matches_schema(schemas::LIST_REPORT, &listed);
    assert_eq!(listed["packages"], serde_json::json!([]));

    let dry = json_ok(&mut install_args(&["--dry-run"]));
    assert_matches_schema(schemas::INSTALL_REPORT, &dry);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["osiris"], "0.5.7");
    assert_eq!(dry["index"], "default");
    assert_eq!(
        dry["lockfile"],
        Value::Null,
        "a dry run writes no lock file"
    );
    assert_eq!(dry["packages"][0]["name"], PACKAGE);
    assert_eq!(dry["packages"][0]["action"], "install");
    assert_eq!(dry["packages"][0]["previous"], Value::Null);
    assert!(
        !world.sandbox.work().join("ocp.lock").exists(),
        "a dry run wrote ocp.lock"
    );

    let locked = json_ok(
        world
            .ocp()
            .args(["lock", COMPONENT, "--env"])
            .arg(&env)
            .args(["--osiris-version", "0.5.7", "--format", "json"]),
    );
    assert_matches_schema(schemas::INSTALL_REPORT, &locked);
    assert_eq!(locked["dry_run"], false);
    assert_eq!(locked["lockfile"], "ocp.lock");
    assert_eq!(locked["packages"][0]["action"], "lock");
    assert!(world.sandbox.work().join("ocp.lock").is_file());

    let installed = json_ok(&mut install_args(&[]));
    assert_matches_schema(schemas::INSTALL_REPORT, &installed);
    assert_eq!(installed["dry_run"], false);
    assert_eq!(installed["environment"], env.display().to_string());
    let packages = installed["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 1, "{installed:#}");
    assert_eq!(packages[0]["name"], PACKAGE);
    assert_eq!(packages[0]["version"], "0.1.0");
    assert_eq!(packages[0]["action"], "install");
    assert_eq!(packages[0]["requested"], true);
    assert_eq!(packages[0]["components"], serde_json::json!([COMPONENT]));
    assert_eq!(packages[0]["key_id"], world.key["key_id"]);

    let again = json_ok(&mut install_args(&["--dry-run"]));
    assert_matches_schema(schemas::INSTALL_REPORT, &again);
    assert_eq!(again["packages"][0]["action"], "keep");

    let listed = json_ok(
        world
            .ocp()
            .args(["list", "--env"])
            .arg(&env)
            .args(["--format", "json"]),
    );
    assert_matches_schema(schemas::LIST_REPORT, &listed);
    assert_eq!(listed["environment"], env.display().to_string());
    let packages = listed["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 1, "{listed:#}");
    assert_eq!(packages[0]["name"], PACKAGE);
    assert_eq!(packages[0]["version"], "0.1.0");
    assert_eq!(packages[0]["requested"], true);
    assert_eq!(packages[0]["index"], "default");
    assert_eq!(packages[0]["sha256"], installed["packages"][0]["sha256"]);
}

/// The documents that point readers at schemas.
fn documentation() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![
        root.join("README.md"),
        root.join("registry-index/README.md"),
    ];
    files.extend(
        walk(&root.join("docs"))
            .into_iter()
            .filter(|path| path.extension().is_some_and(|extension| extension == "md")),
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read a document");
            (path, text)
        })
        .collect()
}

#[test]
fn every_schema_the_documentation_names_exists_and_every_report_schema_is_named() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = 0;
    for (path, text) in documentation() {
        for (start, _) in text.match_indices("schemas/") {
            let rest = &text[start..];
            let Some(end) = rest.find(".schema.json") else {
                continue;
            };
            let reference = &rest[..end + ".schema.json".len()];
            if reference.contains(char::is_whitespace) || reference.contains('`') {
                continue;
            }
            named += 1;
            assert!(
                root.join(reference).is_file(),
                "`{}` names `{reference}`, which does not exist",
                path.display()
            );
        }
    }
    assert!(named > 0, "found no schema references at all");

    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    for entry in std::fs::read_dir(root.join("schemas")).expect("read schemas/") {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy();
        if let Some(report) = name.strip_suffix(".schema.json")
            && report.ends_with("-report")
        {
            assert!(
                readme.contains(&format!("`{report}`")),
                "README.md does not list `{report}` under JSON output"
            );
        }
    }
}
