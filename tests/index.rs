//! The git-backed index and `ocp publish`, `yank`, `owner`, `search`, `info` and
//! `index init/verify`, against real git repositories (a bare repository as the remote), a
//! real HTTP server on 127.0.0.1 for PUT storage, and concurrent publishers.

mod common;
#[path = "common/http.rs"]
mod http;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    Sandbox, assert_same_tree, change_version, git, run, run_ok, stderr, stdout, tree_state,
};

/// A new key pair without a password; returns the secret key path and the key id.
fn keygen(sandbox: &Sandbox, name: &str) -> (PathBuf, String) {
    let path = sandbox.dir.path().join(format!("{name}.key"));
    let output = run_ok(
        sandbox
            .ocp()
            .args(["key", "generate", "--no-password", "--output"])
            .arg(&path),
    );
    (path, stdout(&output).trim().to_owned())
}

/// A new index that stores tarballs in a directory; returns the directory and the bare
/// repository.
fn directory_index(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let storage = sandbox.dir.path().join("tarballs");
    let bare = sandbox.bare_index(&[
        "--storage",
        "directory",
        "--storage-path",
        &storage.display().to_string(),
    ]);
    (storage, bare)
}

fn publish(sandbox: &Sandbox, root: &Path, index: &Path, key: &Path) -> Output {
    run(sandbox
        .ocp()
        .args(["publish", "--format", "json", "--path"])
        .arg(root)
        .arg("--index")
        .arg(index)
        .arg("--key")
        .arg(key))
}

fn commits(bare: &Path) -> usize {
    git(bare, &["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .expect("count")
}

/// A fresh clone of the remote, to inspect or verify it as a stranger would.
fn clone(sandbox: &Sandbox, bare: &Path, name: &str) -> PathBuf {
    let target = sandbox.dir.path().join(name);
    let _ = fs::remove_dir_all(&target);
    let output = Command::new("git")
        .args(["clone", "--quiet"])
        .arg(bare)
        .arg(&target)
        .output()
        .expect("git clone");
    assert!(output.status.success());
    target
}

fn verify(sandbox: &Sandbox, checkout: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = run(sandbox
        .ocp()
        .args(["index", "verify", "--format", "json"])
        .arg(checkout)
        .args(extra));
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(&output), stderr(&output)));
    (output.status.code(), report)
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

#[test]
fn publish_to_the_default_local_index_then_read_it_back() {
    let sandbox = Sandbox::new();
    let (key, key_id) = keygen(&sandbox, "me");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    let output = run_ok(
        sandbox
            .ocp()
            .args(["publish", "--format", "json", "--path"])
            .arg(&root)
            .arg("--key")
            .arg(&key),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["name"], "shopify-osiris");
    assert_eq!(report["version"], "1.0.0");
    assert_eq!(report["key_id"], key_id.as_str());
    assert_eq!(report["claimed"], true);
    assert_eq!(report["index"], "default");
    assert!(
        sandbox.home().join("index/default.git").is_dir(),
        "the default index is created on first use"
    );

    let info = run_ok(
        sandbox
            .ocp()
            .args(["info", "shopify.extractor", "--format", "json"]),
    );
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    assert_eq!(info["name"], "shopify-osiris");
    assert_eq!(info["owners"], serde_json::json!([key_id]));
    assert_eq!(info["versions"][0]["osiris"], ">=0.5.0,<1.0.0");
    assert_eq!(info["versions"][0]["yanked"], false);
    let search = run_ok(sandbox.ocp().args(["search", "shop", "--offline"]));
    assert_eq!(
        stdout(&search),
        "shopify-osiris 1.0.0  shopify.extractor  (osiris >=0.5.0,<1.0.0)\n"
    );

    let checkout = clone(&sandbox, &sandbox.home().join("index/default.git"), "check");
    let (code, report) = verify(&sandbox, &checkout, &[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(
        (
            report["packages"].as_u64(),
            report["versions"].as_u64(),
            report["tarballs_checked"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    common::assert_matches_schema(
        include_str!("../schemas/index-entry.schema.json"),
        &serde_json::from_str(
            fs::read_to_string(checkout.join("packages/sh/op/shopify-osiris"))
                .expect("entry")
                .lines()
                .next()
                .expect("line"),
        )
        .expect("json"),
    );
    common::assert_matches_schema(
        include_str!("../schemas/index-config.schema.json"),
        &serde_json::from_str(&fs::read_to_string(checkout.join("config.json")).expect("config"))
            .expect("json"),
    );
    common::assert_matches_schema(
        include_str!("../schemas/owner-event.schema.json"),
        &serde_json::from_str(
            fs::read_to_string(checkout.join("owners/sh/op/shopify-osiris"))
                .expect("owners")
                .lines()
                .next()
                .expect("line"),
        )
        .expect("json"),
    );
}

#[test]
fn a_version_is_published_once_and_a_non_owner_is_refused() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (owner, _) = keygen(&sandbox, "owner");
    let (stranger, stranger_id) = keygen(&sandbox, "stranger");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    let first = publish(&sandbox, &root, &bare, &owner);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = commits(&bare);

    let again = publish(&sandbox, &root, &bare, &owner);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again)
            .contains("shopify-osiris 1.0.0 is already published; published versions never change"),
        "{}",
        stderr(&again)
    );

    let root2 = sandbox.new_package("shopify.extractor", "other-copy", "1.1.0");
    let foreign = publish(&sandbox, &root2, &bare, &stranger);
    assert_eq!(foreign.status.code(), Some(1));
    assert!(
        stderr(&foreign).contains(&format!("key {stranger_id} does not own `shopify-osiris`")),
        "{}",
        stderr(&foreign)
    );
    assert_eq!(
        commits(&bare),
        before,
        "refused publishes leave the index as it was"
    );
}

#[test]
fn a_component_belongs_to_the_first_package_that_published_it() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (alice, _) = keygen(&sandbox, "alice");
    let (bob, _) = keygen(&sandbox, "bob");
    let first = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &first, &bare, &alice).status.success());
    // Bob ships a package under another name that claims the same component.
    let second = sandbox.work().join("shop2");
    run_ok(
        sandbox
            .ocp()
            .args([
                "new",
                "shopify.extractor",
                "--name",
                "shopify-plus-osiris",
                "--path",
            ])
            .arg(&second),
    );
    let output = publish(&sandbox, &second, &bare, &bob);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("the component `shopify.extractor` belongs to `shopify-osiris`; `shopify-plus-osiris` cannot provide it"), "{}", stderr(&output));
}

#[test]
fn racing_publishers_all_land_exactly_once() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "ci");
    // Four release jobs, each on its own machine (own OCP_HOME, own clone), at the same moment.
    let jobs: Vec<(Sandbox, PathBuf)> = (0..4)
        .map(|i| {
            let job = Sandbox::new();
            let root = job.new_package(
                &format!("family{i}.extractor"),
                &format!("family{i}-osiris"),
                "1.0.0",
            );
            (job, root)
        })
        .collect();
    let handles: Vec<_> = jobs
        .iter()
        .map(|(job, root)| {
            let mut command = job.ocp();
            command
                .args(["-v", "publish", "--path"])
                .arg(root)
                .arg("--index")
                .arg(&bare)
                .arg("--key")
                .arg(&key);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for handle in handles {
        let output = handle.wait_with_output().expect("wait");
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let checkout = clone(&sandbox, &bare, "after-race");
    for i in 0..4 {
        let file = checkout.join(format!("packages/fa/mi/family{i}-osiris"));
        let text = fs::read_to_string(&file).expect("every version landed");
        assert_eq!(text.lines().count(), 1, "exactly once: {text}");
    }
    assert_eq!(commits(&bare), 5, "one commit per publish plus the first");
    let (code, report) = verify(&sandbox, &checkout, &[]);
    assert_eq!(code, Some(0), "{report:#}");
}

#[test]
fn yank_and_unyank_are_signed_by_an_owner() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (owner, _) = keygen(&sandbox, "owner");
    let (stranger, _) = keygen(&sandbox, "stranger");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &root, &bare, &owner).status.success());
    let yank = |spec: &str, key: &Path, undo: bool| {
        let mut command = sandbox.ocp();
        command
            .args(["yank", spec, "--index"])
            .arg(&bare)
            .arg("--key")
            .arg(key);
        if undo {
            command.arg("--undo");
        }
        run(&mut command)
    };
    let refused = yank("shopify-osiris@1.0.0", &stranger, false);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("does not own `shopify-osiris`"),
        "{}",
        stderr(&refused)
    );

    assert!(
        yank("shopify.extractor@1.0.0", &owner, false)
            .status
            .success()
    );
    let info = run_ok(
        sandbox
            .ocp()
            .args(["info", "shopify-osiris", "--format", "json", "--index"])
            .arg(&bare),
    );
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    assert_eq!(info["versions"][0]["yanked"], true);
    let missing = yank("shopify-osiris@9.9.9", &owner, false);
    assert!(
        stderr(&missing).contains("`shopify-osiris` has no version 9.9.9"),
        "{}",
        stderr(&missing)
    );

    assert!(yank("shopify-osiris@1.0.0", &owner, true).status.success());
    let checkout = clone(&sandbox, &bare, "yanks");
    let entry = fs::read_to_string(checkout.join("packages/sh/op/shopify-osiris")).expect("entry");
    assert!(entry.contains("\"yanked\":false"));
    let (code, report) = verify(&sandbox, &checkout, &[]);
    assert_eq!(code, Some(0), "{report:#}");
}

#[test]
fn owners_add_and_remove_owners() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (alice, alice_id) = keygen(&sandbox, "alice");
    let (bob, bob_id) = keygen(&sandbox, "bob");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &root, &bare, &alice).status.success());
    let bob_public = sandbox.dir.path().join("bob.pub");
    run_ok(
        sandbox
            .ocp()
            .args(["owner", "add", "shopify-osiris"])
            .arg(&bob_public)
            .arg("--index")
            .arg(&bare)
            .arg("--key")
            .arg(&alice),
    );
    let next = sandbox.new_package("shopify.extractor", "next", "1.1.0");
    let output = publish(&sandbox, &next, &bare, &bob);
    assert!(
        output.status.success(),
        "a new owner may publish: {}",
        stderr(&output)
    );
    run_ok(
        sandbox
            .ocp()
            .args(["owner", "remove", "shopify-osiris", &alice_id, "--index"])
            .arg(&bare)
            .arg("--key")
            .arg(&bob),
    );
    let list = run_ok(
        sandbox
            .ocp()
            .args(["owner", "list", "shopify-osiris", "--index"])
            .arg(&bare),
    );
    assert_eq!(
        stdout(&list)
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>(),
        vec![bob_id.clone()]
    );
    let last = run(sandbox
        .ocp()
        .args(["owner", "remove", "shopify-osiris", &bob_id, "--index"])
        .arg(&bare)
        .arg("--key")
        .arg(&bob));
    assert!(
        stderr(&last).contains("is the last owner"),
        "{}",
        stderr(&last)
    );
    // Alice's old version stays valid after she left.
    let (code, report) = verify(&sandbox, &clone(&sandbox, &bare, "owners"), &[]);
    assert_eq!(code, Some(0), "{report:#}");
}

#[test]
fn verify_catches_tampering_and_rewritten_history() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &root, &bare, &key).status.success());
    let second = sandbox.new_package("shopify.extractor", "second", "1.1.0");
    assert!(publish(&sandbox, &second, &bare, &key).status.success());
    let base = git(&bare, &["rev-parse", "HEAD"]).trim().to_owned();
    let entry_file = "packages/sh/op/shopify-osiris";

    // A changed checksum: the signature no longer vouches for the entry.
    let tampered = clone(&sandbox, &bare, "tamper-sha");
    let text = fs::read_to_string(tampered.join(entry_file)).expect("entry");
    let first_sha = text
        .split("\"sha256\":\"")
        .nth(1)
        .expect("sha")
        .get(..64)
        .expect("64 hex")
        .to_owned();
    fs::write(
        tampered.join(entry_file),
        text.replacen(&first_sha, &"0".repeat(64), 1),
    )
    .expect("write");
    let (code, report) = verify(&sandbox, &tampered, &[]);
    assert_eq!(code, Some(1));
    assert!(codes(&report).contains(&"I004".to_owned()), "{report:#}");
    assert!(codes(&report).contains(&"I005".to_owned()), "{report:#}");

    // A yank flipped by hand, without a signed event.
    let checkout = clone(&sandbox, &bare, "tamper-yank");
    let text = fs::read_to_string(checkout.join(entry_file)).expect("entry");
    fs::write(
        checkout.join(entry_file),
        text.replacen("\"yanked\":false", "\"yanked\":true", 1),
    )
    .expect("write");
    let (_, report) = verify(&sandbox, &checkout, &[]);
    assert!(codes(&report).contains(&"I008".to_owned()), "{report:#}");

    // A tarball swapped for other bytes.
    let checkout = clone(&sandbox, &bare, "tamper-tarball");
    let tarball = checkout.join("tarballs/sh/op/shopify_osiris-1.0.0.tar.gz");
    fs::write(&tarball, b"not the tarball").expect("write");
    let (_, report) = verify(&sandbox, &checkout, &[]);
    assert!(codes(&report).contains(&"I005".to_owned()), "{report:#}");

    // History rewritten: the first version's line removed and committed.
    let checkout = clone(&sandbox, &bare, "rewrite");
    let text = fs::read_to_string(checkout.join(entry_file)).expect("entry");
    fs::write(
        checkout.join(entry_file),
        text.lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .expect("write");
    git(&checkout, &["commit", "-qam", "rewrite"]);
    let (code, report) = verify(&sandbox, &checkout, &["--since", &base]);
    assert_eq!(code, Some(1));
    assert!(codes(&report).contains(&"I010".to_owned()), "{report:#}");
    let (code, report) = verify(
        &sandbox,
        &clone(&sandbox, &bare, "honest"),
        &["--since", &base],
    );
    assert_eq!(code, Some(0), "{report:#}");

    // Human output names the file and the code.
    let output = run(sandbox.ocp().args(["index", "verify"]).arg(&tampered));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error[I004]"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("packages/sh/op/shopify-osiris:1"),
        "{}",
        stderr(&output)
    );
}

/// `OCP_HOME/config.toml` naming `bare` as the index `files`, with an upload token in
/// `OCP_TEST_UPLOAD_TOKEN` for `host`.
fn configure_upload_token(sandbox: &Sandbox, bare: &Path, host: &str) {
    fs::write(
        sandbox.home().join("config.toml"),
        format!(
            "[registries.files]\nindex = \"{}\"\ntoken-env = \"OCP_TEST_UPLOAD_TOKEN\"\nupload-host = \"{host}\"\n",
            bare.display()
        ),
    )
    .expect("write config.toml");
}

#[test]
fn http_storage_uploads_with_a_token_and_refuses_without_one() {
    let server = http::FileServer::start(Some("s3cret-token"));
    let sandbox = Sandbox::new();
    let upload = format!("{}/ocp/{{name}}/{{file}}", server.base);
    let bare = sandbox.bare_index(&["--storage", "http", "--upload-url", &upload]);
    configure_upload_token(&sandbox, &bare, server.base.trim_start_matches("http://"));
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");

    let refused = run(sandbox
        .ocp()
        .env("OCP_TEST_UPLOAD_TOKEN", "wrong")
        .args(["publish", "--path"])
        .arg(&root)
        .args(["--index", "files", "--key"])
        .arg(&key));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("HTTP 401"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("`token-env` and `upload-host` under `[registries.NAME]`"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(commits(&bare), 1, "no entry without its tarball");
    assert!(server.files.lock().expect("lock").is_empty());

    let output = run(sandbox
        .ocp()
        .env("OCP_TEST_UPLOAD_TOKEN", "s3cret-token")
        .args(["publish", "--format", "json", "--path"])
        .arg(&root)
        .args(["--index", "files", "--key"])
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("s3cret-token") && !stdout(&output).contains("s3cret-token"));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let stored = server
        .get("/ocp/shopify-osiris/shopify_osiris-1.0.0.tar.gz")
        .expect("uploaded");
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&stored)),
        report["sha256"].as_str().expect("sha")
    );
    let (code, report) = verify(&sandbox, &clone(&sandbox, &bare, "http"), &["--fetch"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["tarballs_checked"], 1);
}

#[test]
fn the_registry_token_variable_works_like_cargos() {
    let server = http::FileServer::start(Some("ci-token"));
    let sandbox = Sandbox::new();
    let upload = format!("{}/ocp/{{name}}/{{file}}", server.base);
    let bare = sandbox.bare_index(&["--storage", "http", "--upload-url", &upload]);
    fs::write(
        sandbox.home().join("config.toml"),
        format!("[registries.files]\nindex = \"{}\"\n", bare.display()),
    )
    .expect("write config.toml");
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    let publish = |host: Option<&str>| {
        let mut command = sandbox.ocp();
        command
            .env("OCP_REGISTRY_FILES_TOKEN", "ci-token")
            .args(["publish", "--path"])
            .arg(&root)
            .args(["--index", "files", "--key"])
            .arg(&key);
        if let Some(host) = host {
            command.env("OCP_REGISTRY_FILES_UPLOAD_HOST", host);
        }
        run(&mut command)
    };
    let no_host = publish(None);
    assert_eq!(no_host.status.code(), Some(1));
    assert!(
        stderr(&no_host)
            .contains("there is an upload token for the index `files`, but no host to send it to"),
        "{}",
        stderr(&no_host)
    );
    assert!(
        server.log.lock().expect("lock").is_empty(),
        "nothing was sent"
    );
    let output = publish(Some(server.base.trim_start_matches("http://")));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        server
            .get("/ocp/shopify-osiris/shopify_osiris-1.0.0.tar.gz")
            .is_some()
    );
}

#[test]
fn index_init_refuses_a_token_variable() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().args([
        "index",
        "init",
        "new-index",
        "--storage",
        "http",
        "--upload-url",
        "https://files.example.com/{name}/{file}",
        "--token-env",
        "OCP_UPLOAD_TOKEN",
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("`--token-env` is not part of an index any more"),
        "{}",
        stderr(&output)
    );
    assert!(!sandbox.work().join("new-index").exists());
}

#[test]
fn a_push_that_fails_for_good_takes_the_stored_tarball_back() {
    let sandbox = Sandbox::new();
    let (storage, bare) = directory_index(&sandbox);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    // The remote refuses every push.
    let hook = bare.join("hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\necho 'pushes are closed' >&2\nexit 1\n").expect("hook");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    let output = publish(&sandbox, &root, &bare, &key);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("failed to push to the index"),
        "{}",
        stderr(&output)
    );
    assert!(
        !storage
            .join("shopify-osiris/shopify_osiris-1.0.0.tar.gz")
            .exists(),
        "no tarball without its entry"
    );
    assert_eq!(commits(&bare), 1);

    fs::remove_file(&hook).expect("reopen pushes");
    let output = publish(&sandbox, &root, &bare, &key);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        storage
            .join("shopify-osiris/shopify_osiris-1.0.0.tar.gz")
            .is_file()
    );
    let (code, report) = verify(&sandbox, &clone(&sandbox, &bare, "dir"), &[]);
    assert_eq!(code, Some(0), "{report:#}");
}

#[test]
fn dry_run_validates_everything_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    let output = run_ok(
        sandbox
            .ocp()
            .args(["publish", "--dry-run", "--format", "json", "--path"])
            .arg(&root)
            .arg("--index")
            .arg(&bare)
            .arg("--key")
            .arg(&key),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["dry_run"], true);
    assert!(report["commit"].is_null());
    assert_eq!(commits(&bare), 1);
}

#[test]
fn a_dirty_working_tree_is_refused_unless_allowed() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    git(&root, &["init", "-q"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-qm", "init"]);
    fs::write(root.join("README.md"), "changed\n").expect("write");
    let output = publish(&sandbox, &root, &bare, &key);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("has uncommitted changes"),
        "{}",
        stderr(&output)
    );
    let output = run(sandbox
        .ocp()
        .args(["publish", "--allow-dirty", "--path"])
        .arg(&root)
        .arg("--index")
        .arg(&bare)
        .arg("--key")
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn index_init_makes_a_repository_that_works_as_a_remote() {
    let sandbox = Sandbox::new();
    let index = sandbox.dir.path().join("team-index");
    run_ok(sandbox.ocp().args(["index", "init"]).arg(&index));
    assert!(index.join(".github/workflows/verify.yml").is_file());
    assert!(
        fs::read_to_string(index.join(".github/workflows/verify.yml"))
            .expect("workflow")
            .contains("ocp index verify")
    );
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    let output = publish(&sandbox, &root, &index, &key);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        index.join("packages/sh/op/shopify-osiris").is_file(),
        "the push updated the index's working tree"
    );
    let again = run(sandbox.ocp().args(["index", "init"]).arg(&index));
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn broken_indexes_get_clear_errors() {
    let sandbox = Sandbox::new();
    let not_git = sandbox.dir.path().join("plain");
    fs::create_dir_all(&not_git).expect("mkdir");
    let output = run(sandbox
        .ocp()
        .args(["info", "x.extractor", "--index"])
        .arg(&not_git));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not a git repository, so it cannot be an index"),
        "{}",
        stderr(&output)
    );

    let bare = sandbox.bare_index(&[]);
    let checkout = clone(&sandbox, &bare, "broken");
    fs::create_dir_all(checkout.join("packages/sh/op")).expect("mkdir");
    fs::write(
        checkout.join("packages/sh/op/shopify-osiris"),
        "{\"name\": \"shopify-osiris\"\nnot json\n",
    )
    .expect("write");
    let (code, report) = verify(&sandbox, &checkout, &[]);
    assert_eq!(code, Some(1));
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .expect("message")
            .contains("line 1"),
        "{report:#}"
    );

    let gitonly = sandbox.dir.path().join("gitonly");
    fs::create_dir_all(&gitonly).expect("mkdir");
    git(&gitonly, &["init", "-q"]);
    git(&gitonly, &["commit", "-q", "--allow-empty", "-m", "x"]);
    let output = run(sandbox
        .ocp()
        .args(["info", "x.extractor", "--index"])
        .arg(&gitonly));
    assert!(
        stderr(&output).contains("is a git repository but not an ocp index"),
        "{}",
        stderr(&output)
    );

    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &root, &bare, &key).status.success());
    let checkout = clone(&sandbox, &bare, "moved");
    fs::create_dir_all(checkout.join("packages/xx/yy")).expect("mkdir");
    fs::rename(
        checkout.join("packages/sh/op/shopify-osiris"),
        checkout.join("packages/xx/yy/shopify-osiris"),
    )
    .expect("move");
    let (code, report) = verify(&sandbox, &checkout, &[]);
    assert_eq!(code, Some(1));
    assert!(codes(&report).contains(&"I002".to_owned()), "{report:#}");

    let checkout = clone(&sandbox, &bare, "future");
    fs::write(checkout.join("config.json"), "{\"format_version\": 7}").expect("write");
    let output = run(sandbox.ocp().args(["index", "verify"]).arg(&checkout));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("format version 7, but this ocp reads version 2"),
        "{}",
        stderr(&output)
    );

    let output = run(sandbox
        .ocp()
        .args(["info", "nothing", "--index", "no-such-index"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no index named `no-such-index`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_published_version_is_refused_before_the_key_is_read() {
    // Decrypting a key costs seconds and a GiB of memory: the index is asked first. A key
    // path that does not exist shows that the key was never read.
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    let first = publish(&sandbox, &root, &bare, &key);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = (tree_state(&bare), tree_state(&root));

    let again = publish(
        &sandbox,
        &root,
        &bare,
        &sandbox.dir.path().join("missing.key"),
    );
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert_eq!(
        stderr(&again),
        "error: shopify-osiris 1.0.0 is already published; published versions never change\n\
         help: raise the version in pyproject.toml, spec.yaml and `__version__`, then publish again\n"
    );
    assert_eq!(stdout(&again), "");
    assert_same_tree("the index", &before.0, &tree_state(&bare));
    assert_same_tree("the package", &before.1, &tree_state(&root));
}

#[test]
fn racing_publishers_of_one_version_never_lose_the_tarball() {
    let sandbox = Sandbox::new();
    let (storage, bare) = directory_index(&sandbox);
    let (key, _) = keygen(&sandbox, "ci");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    // Two release jobs of the same commit, on two machines, publish the same version (the
    // same bytes) at the same moment, round after round.
    let jobs = [Sandbox::new(), Sandbox::new()];
    for round in 0..20 {
        let version = format!("1.0.{round}");
        if round > 0 {
            change_version(&root, &format!("1.0.{}", round - 1), &version);
        }
        let children: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(number, job)| {
                // Two machines commit as two identities, so their commits differ even
                // within one second and one push must lose.
                job.ocp()
                    .env("GIT_AUTHOR_NAME", format!("release job {number}"))
                    .env("GIT_COMMITTER_NAME", format!("release job {number}"))
                    .args(["publish", "--path"])
                    .arg(&root)
                    .arg("--index")
                    .arg(&bare)
                    .arg("--key")
                    .arg(&key)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|child| child.wait_with_output().expect("wait"))
            .collect();
        let winners = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(
            winners,
            1,
            "round {round}: exactly one publish lands:\n{}\n---\n{}",
            stderr(&outputs[0]),
            stderr(&outputs[1])
        );
        for loser in outputs.iter().filter(|o| !o.status.success()) {
            assert!(
                stderr(loser).contains("is already published"),
                "round {round}: {}",
                stderr(loser)
            );
        }
        let tarball = storage.join(format!("shopify-osiris/shopify_osiris-{version}.tar.gz"));
        let bytes = fs::read(&tarball)
            .unwrap_or_else(|_| panic!("round {round}: the winner's tarball is gone"));
        let checkout = clone(&sandbox, &bare, "race-check");
        let entries =
            fs::read_to_string(checkout.join("packages/sh/op/shopify-osiris")).expect("entries");
        let entry: serde_json::Value =
            serde_json::from_str(entries.lines().last().expect("a line")).expect("json");
        assert_eq!(entry["version"], version.as_str());
        assert_eq!(
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            entry["sha256"].as_str().expect("sha256"),
            "round {round}"
        );
    }
    let (code, report) = verify(&sandbox, &clone(&sandbox, &bare, "race-final"), &[]);
    assert_eq!(code, Some(0), "{report:#}");
}

#[test]
fn a_rewritten_index_is_taken_only_when_accepted() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &root, &bare, &key).status.success());
    let search = || run(sandbox.ocp().args(["search", "shop", "--index"]).arg(&bare));
    assert!(search().status.success());
    let seen = fs::read_dir(sandbox.home().join("index/seen"))
        .expect("ocp remembers the heads it saw")
        .count();
    assert!(seen >= 1);

    // The maintainers drop the last commit on purpose and force-push.
    let checkout = clone(&sandbox, &bare, "maintainer");
    git(&checkout, &["reset", "--hard", "HEAD~1"]);
    git(&checkout, &["push", "--quiet", "--force", "origin", "main"]);
    let refused = search();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("was rewritten")
            && stderr(&refused).contains("Publish shopify-osiris 1.0.0"),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());

    let accepted = run(sandbox
        .ocp()
        .args(["index", "accept-rewrite", "--index"])
        .arg(&bare));
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    assert!(
        stderr(&accepted).contains("1 commit(s) gone, 0 new"),
        "{}",
        stderr(&accepted)
    );
    let after = search();
    assert!(after.status.success(), "{}", stderr(&after));
    assert!(
        stdout(&after).is_empty(),
        "the package is gone with its commit"
    );
    // Appending again is an ordinary fast-forward.
    assert!(publish(&sandbox, &root, &bare, &key).status.success());
    assert!(stdout(&search()).contains("shopify-osiris 1.0.0"));
}

/// Turns an index published by this ocp into a format 1 index, as an older ocp wrote it:
/// `format_version` 1, `token_env` in the config, and signatures whose trusted comment names
/// only the package, version and sha256 (made by the real `minisign`).
fn downgrade_to_format_1(checkout: &Path, key: &Path) {
    let config = checkout.join("config.json");
    let text = fs::read_to_string(&config).expect("config");
    fs::write(
        &config,
        text.replace("\"format_version\": 2", "\"format_version\": 1"),
    )
    .expect("write config");
    let file = checkout.join("packages/sh/op/shopify-osiris");
    let mut lines = Vec::new();
    for line in fs::read_to_string(&file).expect("entries").lines() {
        let mut entry: serde_json::Value = serde_json::from_str(line).expect("json");
        let version = entry["version"].as_str().expect("version").to_owned();
        let sha = entry["sha256"].as_str().expect("sha").to_owned();
        let tarball = checkout.join(format!("tarballs/sh/op/shopify_osiris-{version}.tar.gz"));
        let minisig = sandbox_minisign(
            key,
            &tarball,
            &format!("ocp-package:shopify-osiris version:{version} sha256:{sha} timestamp:1"),
        );
        entry["signature"] = serde_json::Value::String(minisig);
        lines.push(entry.to_string());
    }
    fs::write(&file, lines.join("\n") + "\n").expect("write entries");
}

/// Signs `file` with the real `minisign` and the given trusted comment; returns the `.minisig`.
fn sandbox_minisign(key: &Path, file: &Path, comment: &str) -> String {
    let signature = file.with_extension("gz.minisig");
    let output = Command::new("minisign")
        .args(["-S", "-s"])
        .arg(key)
        .arg("-m")
        .arg(file)
        .arg("-x")
        .arg(&signature)
        .args(["-t", comment])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run minisign");
    assert!(
        output.status.success(),
        "minisign: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = fs::read_to_string(&signature).expect("signature");
    fs::remove_file(&signature).expect("remove");
    text
}

#[test]
fn a_format_1_index_is_migrated_by_its_owner() {
    let sandbox = Sandbox::new();
    let bare = sandbox.bare_index(&[]);
    let (key, _) = keygen(&sandbox, "owner");
    let root = sandbox.new_package("shopify.extractor", "shopify-osiris", "1.0.0");
    assert!(publish(&sandbox, &root, &bare, &key).status.success());
    let checkout = clone(&sandbox, &bare, "old");
    downgrade_to_format_1(&checkout, &key);
    git(&checkout, &["commit", "-qam", "format 1"]);

    let refused = run(sandbox.ocp().args(["index", "verify"]).arg(&checkout));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains(
            "the index uses format version 1, whose signatures do not cover dependencies"
        ),
        "{}",
        stderr(&refused)
    );

    // An entry edited in its unsigned fields is not blessed by the migration.
    let tampered = clone(&sandbox, &bare, "tampered");
    downgrade_to_format_1(&tampered, &key);
    let file = tampered.join("packages/sh/op/shopify-osiris");
    let text = fs::read_to_string(&file).expect("entries");
    fs::write(&file, text.replace("\"pyyaml>=6.0\"", "\"evil>=1\"")).expect("write");
    assert!(
        fs::read_to_string(&file)
            .expect("entries")
            .contains("evil>=1")
    );
    git(&tampered, &["commit", "-qam", "format 1, edited"]);
    let output = run(sandbox
        .ocp()
        .args(["index", "migrate"])
        .arg(&tampered)
        .arg("--key")
        .arg(&key));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "the entry's python_dependencies differ from what the tarball's `ocp.json` declares"
        ),
        "{}",
        stderr(&output)
    );

    // The honest one migrates, and then verifies as format 2.
    let output = run(sandbox
        .ocp()
        .args(["index", "migrate"])
        .arg(&checkout)
        .arg("--key")
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Re-signed shopify-osiris 1.0.0"),
        "{}",
        stderr(&output)
    );
    let head = git(&checkout, &["log", "-1", "--format=%s"]);
    assert_eq!(head.trim(), "Migrate the index to format 2");
    let (code, report) = verify(&sandbox, &checkout, &[]);
    assert_eq!(code, Some(0), "{report:#}");
}
