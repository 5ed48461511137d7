//! OCI registries as tarball storage, against a real registry: Debian's `docker-registry`
//! (CNCF `distribution` 2.8) started on 127.0.0.1 by each test, without authentication, with
//! htpasswd (basic auth) and with token authentication (the bearer flow). Publishing pushes
//! an OCI artifact and records its manifest digest; installing pulls by digest and checks the
//! tarball's sha256 itself; a tampered blob, a wrong password, a moved tag and other bytes
//! under a published tag are refused with the registry left as it was.

mod common;
#[path = "common/python.rs"]
mod python;
#[path = "common/registry.rs"]
mod registry;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    Sandbox, assert_same_tree, git, run, run_ok, set_version, stderr, stdout, tree_state,
};
use registry::{Auth, Registry, sha256_hex};

/// ocp in the sandbox, with Docker's and Helm's credential files inside it (so nothing of
/// the machine's own logins is used).
fn ocp(sandbox: &Sandbox) -> Command {
    let mut command = sandbox.ocp();
    command
        .env("DOCKER_CONFIG", sandbox.dir.path().join("docker"))
        .env(
            "HELM_REGISTRY_CONFIG",
            sandbox.dir.path().join("helm-registry.json"),
        );
    command
}

/// Writes Docker's `config.json` in the sandbox.
fn docker_config(sandbox: &Sandbox, json: &serde_json::Value) {
    let dir = sandbox.dir.path().join("docker");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("config.json"), json.to_string()).expect("write config.json");
}

fn basic(user: &str, password: &str) -> String {
    use std::io::Write;
    // base64 of `user:password` with the tests' own tools: python's base64 module.
    let mut child = Command::new(python::python())
        .args([
            "-c",
            "import base64,sys; print(base64.b64encode(sys.stdin.buffer.read()).decode())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{user}:{password}").as_bytes())
        .expect("write");
    String::from_utf8(child.wait_with_output().expect("base64").stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A key, a package at `version`, and an index with OCI storage below
/// `<registry>/ocp`, pushed to a bare repository; returns (key, package, bare index).
fn setup(sandbox: &Sandbox, registry: &Registry, version: &str) -> (PathBuf, PathBuf, PathBuf) {
    setup_at(sandbox, &registry.host, version)
}

/// [`setup`] for a registry at `host`, which need not be running.
fn setup_at(sandbox: &Sandbox, host: &str, version: &str) -> (PathBuf, PathBuf, PathBuf) {
    let key = sandbox.signing_key("me");
    let root = sandbox.work().join("shopify-osiris");
    run_ok(
        sandbox
            .ocp()
            .args(["new", "shopify.extractor", "--author", "Jane Doe", "--path"])
            .arg(&root),
    );
    set_version(&root, version);
    let work = sandbox.dir.path().join("index-src");
    let init = run_ok(
        sandbox
            .ocp()
            .args(["index", "init"])
            .arg(&work)
            .args(["--storage", "oci", "--repository"])
            .arg(format!("{host}/ocp")),
    );
    assert!(
        stderr(&init).contains("tarballs pushed to the OCI registry"),
        "{}",
        stderr(&init)
    );
    let bare = sandbox.dir.path().join("remote.git");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet", "--bare"])
            .arg(&work)
            .arg(&bare),
    );
    (key, root, bare)
}

fn publish(sandbox: &Sandbox, root: &Path, index: &str, key: &Path) -> Output {
    run(ocp(sandbox)
        .args(["publish", "--format", "json", "--path"])
        .arg(root)
        .args(["--index", index, "--key"])
        .arg(key))
}

/// Version 1.0.0 published to a new OCI index on `registry`: the bare index, its path as
/// `--index`, and the publish's output.
fn published(sandbox: &Sandbox, registry: &Registry) -> (PathBuf, String, Output) {
    let (key, root, bare) = setup(sandbox, registry, "1.0.0");
    let index = bare.display().to_string();
    let output = publish(sandbox, &root, &index, &key);
    assert!(output.status.success(), "{}", stderr(&output));
    (bare, index, output)
}

/// Asserts that a command was refused (exit status 1) with `expected` in its error.
fn refused(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert!(stderr(output).contains(expected), "{}", stderr(output));
}

/// The entry the index holds for shopify-osiris (the last line).
fn entry(bare: &Path) -> serde_json::Value {
    let text = git(bare, &["show", "HEAD:packages/sh/op/shopify-osiris"]);
    serde_json::from_str(text.lines().last().expect("a line")).expect("json")
}

fn commits(bare: &Path) -> usize {
    git(bare, &["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .expect("count")
}

const REPOSITORY: &str = "ocp/shopify-osiris";

/// A fresh clone of the index, for `ocp index verify`.
fn checkout(sandbox: &Sandbox, bare: &Path) -> PathBuf {
    let checkout = sandbox.dir.path().join("check");
    let _ = fs::remove_dir_all(&checkout);
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(bare)
            .arg(&checkout),
    );
    checkout
}

/// `ocp install shopify.extractor` from `index` into the environment `env`.
fn install(sandbox: &Sandbox, index: &str, env: &Path) -> Output {
    run(ocp(sandbox)
        .args(["install", "shopify.extractor", "--index", index, "--env"])
        .arg(env))
}

/// Whether the component's spec is in the environment whose interpreter is `python`.
fn spec_installed(python: &Path) -> bool {
    python::site_packages_of(python)
        .join("components/shopify.extractor/spec.yaml")
        .is_file()
}

/// The files in the download cache (its folders may be made for a download that fails, but
/// no file enters it before its sha256 matches).
fn cached_files(sandbox: &Sandbox) -> Vec<String> {
    tree_state(&sandbox.home().join("cache"))
        .into_iter()
        .filter(|(_, kind)| kind.starts_with("file"))
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn publish_pushes_an_oci_artifact_and_install_pulls_it_by_digest() {
    let registry = Registry::start(Auth::None);
    let sandbox = Sandbox::new();
    let (bare, index, output) = published(&sandbox, &registry);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let entry = entry(&bare);
    let digest = entry["oci_manifest"]
        .as_str()
        .expect("the entry records the manifest digest");
    assert_eq!(
        report["tarball"],
        format!("oci://{}/{REPOSITORY}@{digest}", registry.host)
    );
    common::assert_matches_schema(
        include_str!("../schemas/publish-report.schema.json"),
        &report,
    );
    common::assert_matches_schema(include_str!("../schemas/index-entry.schema.json"), &entry);

    // The tag names exactly the recorded manifest: an OCI 1.1 artifact with the empty
    // config and the tarball as its one layer.
    let (tagged, manifest) = registry.manifest(REPOSITORY, "1.0.0").expect("tagged");
    assert_eq!(tagged, digest);
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).expect("json");
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.osiris.ocp.package.v1"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(manifest["config"]["size"], 2);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.osiris.ocp.package.v1.tar+gzip"
    );
    assert_eq!(
        layers[0]["digest"],
        format!("sha256:{}", entry["sha256"].as_str().expect("sha256"))
    );
    assert_eq!(
        layers[0]["annotations"]["org.opencontainers.image.title"],
        "shopify_osiris-1.0.0.tar.gz"
    );

    // distribution 2.8 has no referrers API: the signature is listed at the fallback tag,
    // and the real minisign verifies it against the tarball pulled from the registry.
    let fallback = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    let (_, referrers) = registry.manifest(REPOSITORY, &fallback).expect("referrers");
    let referrers: serde_json::Value = serde_json::from_slice(&referrers).expect("json");
    let signature_manifest = &referrers["manifests"][0];
    assert_eq!(
        signature_manifest["artifactType"],
        "application/vnd.osiris.ocp.signature.v1"
    );
    let (_, signature) = registry
        .manifest(
            REPOSITORY,
            signature_manifest["digest"].as_str().expect("digest"),
        )
        .expect("the signature manifest");
    let signature: serde_json::Value = serde_json::from_slice(&signature).expect("json");
    assert_eq!(signature["subject"]["digest"], digest);
    let minisig = registry.blob(
        REPOSITORY,
        signature["layers"][0]["digest"].as_str().expect("digest"),
    );
    assert_eq!(
        minisig,
        entry["signature"].as_str().expect("signature").as_bytes()
    );
    let tarball = registry.blob(REPOSITORY, layers[0]["digest"].as_str().expect("digest"));
    let pulled = sandbox.dir.path().join("pulled.tar.gz");
    fs::write(&pulled, &tarball).expect("write");
    fs::write(sandbox.dir.path().join("pulled.tar.gz.minisig"), &minisig).expect("write");
    let verified = run(Command::new("minisign")
        .args(["-V", "-p"])
        .arg(sandbox.dir.path().join("me.pub"))
        .arg("-m")
        .arg(&pulled));
    assert!(verified.status.success(), "{}", stderr(&verified));

    // The index checks out, tags and tarballs included.
    let checkout = checkout(&sandbox, &bare);
    let verify = run(ocp(&sandbox)
        .args(["index", "verify", "--fetch", "--format", "json"])
        .arg(&checkout));
    let verify_report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("json");
    assert_eq!(verify.status.code(), Some(0), "{verify_report:#}");
    assert_eq!(verify_report["tarballs_checked"], 1);

    // Install pulls by digest through the download cache.
    let env = sandbox.dir.path().join("venv");
    let python = python::osiris_env(&env, false);
    let installed = install(&sandbox, &index, &env);
    assert!(installed.status.success(), "{}", stderr(&installed));
    assert!(spec_installed(&python), "{}", stderr(&installed));
    let sha256 = entry["sha256"].as_str().expect("sha");
    assert_eq!(
        cached_files(&sandbox),
        vec![format!("v1/sha256/{}/{sha256}.tar.gz", &sha256[..2])],
        "the tarball went through the download cache"
    );
}

#[test]
fn a_tampered_blob_is_refused_and_nothing_is_installed() {
    let registry = Registry::start(Auth::None);
    let sandbox = Sandbox::new();
    let (bare, index, _) = published(&sandbox, &registry);
    let sha256 = entry(&bare)["sha256"].as_str().expect("sha").to_owned();

    // Someone with access to the registry's storage swaps the tarball's bytes; the registry
    // still serves them under the old digest (and says so in its digest header).
    let blob = registry.blob_path(&sha256);
    let mut bytes = fs::read(&blob).expect("the blob on disk");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&blob, &bytes).expect("tamper");

    let env = sandbox.dir.path().join("venv");
    python::osiris_env(&env, false);
    let env_before = tree_state(&env);
    let cache_before = cached_files(&sandbox);
    let installed = install(&sandbox, &index, &env);
    refused(&installed, &format!("but the index expects {sha256}"));
    assert_same_tree("the environment", &env_before, &tree_state(&env));
    assert_eq!(cache_before, cached_files(&sandbox));

    // `ocp index verify --fetch` catches it too.
    let checkout = checkout(&sandbox, &bare);
    let verify = run(ocp(&sandbox)
        .args(["index", "verify", "--fetch", "--format", "json"])
        .arg(&checkout));
    assert_eq!(verify.status.code(), Some(1), "{}", stdout(&verify));
    assert!(
        stdout(&verify).contains("\"code\": \"I005\"")
            && stdout(&verify).contains(&format!("but the entry says {sha256}")),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn a_wrong_password_is_refused_with_a_clear_error_and_nothing_is_pushed_or_installed() {
    let registry = Registry::start(Auth::Htpasswd {
        user: "ci".to_owned(),
        password: "right-password".to_owned(),
    });
    let sandbox = Sandbox::new();
    let (key, root, bare) = setup(&sandbox, &registry, "1.0.0");
    let index = bare.display().to_string();
    let index_before = tree_state(&bare);
    let registry_before = tree_state(&registry.data());

    let anonymous = publish(&sandbox, &root, &index, &key);
    refused(
        &anonymous,
        &format!(
            "the registry `{}` refused anonymous access (HTTP 401)",
            registry.host
        ),
    );

    docker_config(
        &sandbox,
        &serde_json::json!({"auths": {(registry.host.clone()): {"auth": basic("ci", "wrong-password")}}}),
    );
    let wrong = publish(&sandbox, &root, &index, &key);
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    let message = stderr(&wrong);
    assert!(
        message.contains(&format!(
            "the registry `{}` refused the credentials of `ci` from `",
            registry.host
        )) && message.contains("(HTTP 401)"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "help: log in with `docker login {}`",
            registry.host
        )),
        "{message}"
    );
    assert!(!message.contains("wrong-password"), "{message}");
    assert_same_tree("the index", &index_before, &tree_state(&bare));
    assert_same_tree(
        "the registry",
        &registry_before,
        &tree_state(&registry.data()),
    );

    docker_config(
        &sandbox,
        &serde_json::json!({"auths": {(format!("https://{}", registry.host)): {"auth": basic("ci", "right-password")}}}),
    );
    let published = publish(&sandbox, &root, &index, &key);
    assert!(published.status.success(), "{}", stderr(&published));
    assert_eq!(commits(&bare), 2);

    // Pulls need the login as well: `ocp index verify --fetch` uses Docker's file.
    let checkout = checkout(&sandbox, &bare);
    let verify = run(ocp(&sandbox)
        .args(["index", "verify", "--fetch", "--format", "json"])
        .arg(&checkout));
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
    assert!(
        stdout(&verify).contains("\"tarballs_checked\": 1"),
        "{}",
        stdout(&verify)
    );

    // The component directory reads the tarball with the same login (into the download
    // cache, empty until now).
    let site = run(ocp(&sandbox)
        .args([
            "index", "site", "--format", "json", "--index", &index, "--out",
        ])
        .arg(sandbox.dir.path().join("site")));
    assert!(site.status.success(), "{}", stderr(&site));
    let report: serde_json::Value = serde_json::from_slice(&site.stdout).expect("json");
    assert_eq!(report["packages"], 1, "{report:#}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report:#}");
    assert_eq!(cached_files(&sandbox).len(), 1);
    // Empty the cache, so the installs below go to the registry.
    fs::remove_dir_all(sandbox.home().join("cache")).expect("empty the cache");

    // `ocp install` pulls with the same login: a wrong password changes nothing in the
    // environment or the cache, the right one installs.
    let env = sandbox.dir.path().join("venv");
    let python = python::osiris_env(&env, false);
    docker_config(
        &sandbox,
        &serde_json::json!({"auths": {(registry.host.clone()): {"username": "ci", "password": "wrong-password"}}}),
    );
    let env_before = tree_state(&env);
    let cache_before = cached_files(&sandbox);
    let wrong = install(&sandbox, &index, &env);
    refused(
        &wrong,
        "failed to download shopify-osiris 1.0.0 from `oci://",
    );
    let message = stderr(&wrong);
    assert!(
        message.contains(&format!(
            "the registry `{}` refused the credentials of `ci` from `",
            registry.host
        )) && message.contains("help: log in with `docker login"),
        "{message}"
    );
    assert!(!message.contains("wrong-password"), "{message}");
    assert_same_tree("the environment", &env_before, &tree_state(&env));
    assert_eq!(cache_before, cached_files(&sandbox));
    docker_config(
        &sandbox,
        &serde_json::json!({"auths": {(registry.host.clone()): {"username": "ci", "password": "right-password"}}}),
    );
    let installed = install(&sandbox, &index, &env);
    assert!(installed.status.success(), "{}", stderr(&installed));
    assert!(spec_installed(&python), "{}", stderr(&installed));
}

/// A `docker-credential-ocptest` helper in `bin` that answers for `host` with `user` and
/// `password`, and writes the environment it was given to `env.txt` beside it.
fn credential_helper(bin: &Path, host: &str, user: &str, password: &str) {
    fs::create_dir_all(bin).expect("mkdir");
    let script = bin.join("docker-credential-ocptest");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > \"{}\"\nread server\nif [ \"$1\" = get ] && [ \"$server\" = \"{host}\" ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\nelse\n  echo 'credentials not found in native keychain'\n  exit 1\nfi\n",
            bin.join("env.txt").display()
        ),
    )
    .expect("write the helper");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn the_bearer_token_flow_takes_credentials_from_ocp_settings_and_credential_helpers() {
    let registry = Registry::start(Auth::Token {
        user: "ci".to_owned(),
        password: "token-password".to_owned(),
    });
    let sandbox = Sandbox::new();
    let (key, root, bare) = setup(&sandbox, &registry, "1.0.0");
    fs::write(
        sandbox.home().join("config.toml"),
        format!(
            "[registries.acme]\nindex = \"{}\"\ntoken-env = \"ACME_REGISTRY_PASSWORD\"\nupload-host = \"{}\"\nusername = \"ci\"\n",
            bare.display(),
            registry.host
        ),
    )
    .expect("write config.toml");

    let index_before = tree_state(&bare);
    let registry_before = tree_state(&registry.data());
    let wrong = run(ocp(&sandbox)
        .env("ACME_REGISTRY_PASSWORD", "not-the-password")
        .args(["publish", "--path"])
        .arg(&root)
        .args(["--index", "acme", "--key"])
        .arg(&key));
    refused(
        &wrong,
        "refused the credentials of `ci` from ocp's `[registries.NAME]` settings (HTTP 401): UNAUTHORIZED: wrong user name or password",
    );
    assert!(!stderr(&wrong).contains("not-the-password"));
    assert_same_tree("the index", &index_before, &tree_state(&bare));
    assert_same_tree(
        "the registry",
        &registry_before,
        &tree_state(&registry.data()),
    );

    let published = run(ocp(&sandbox)
        .env("ACME_REGISTRY_PASSWORD", "token-password")
        .args(["publish", "--path"])
        .arg(&root)
        .args(["--index", "acme", "--key"])
        .arg(&key));
    assert!(published.status.success(), "{}", stderr(&published));
    let asked = registry.token_requests.lock().expect("lock").clone();
    assert!(
        asked
            .iter()
            .any(|authorization| authorization.starts_with("Basic ")),
        "{asked:?}"
    );
    let digest = entry(&bare)["oci_manifest"]
        .as_str()
        .expect("a manifest digest")
        .to_owned();
    assert!(
        registry
            .blob_path(digest.trim_start_matches("sha256:"))
            .is_file(),
        "the manifest is in the registry's storage"
    );

    // Pulling with a Docker credential helper, which must not see ocp's secrets.
    let bin = sandbox.dir.path().join("bin");
    credential_helper(&bin, &registry.host, "ci", "token-password");
    docker_config(
        &sandbox,
        &serde_json::json!({"credHelpers": {(registry.host.clone()): "ocptest"}}),
    );
    let checkout = checkout(&sandbox, &bare);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let verify = run(ocp(&sandbox)
        .env("PATH", &path)
        .env("OCP_REGISTRY_ACME_TOKEN", "a-secret-token")
        .env("OCP_SIGNING_KEY_PASSWORD", "a-secret-password")
        .args(["index", "verify", "--fetch", "--format", "json"])
        .arg(&checkout));
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
    assert!(
        stdout(&verify).contains("\"tarballs_checked\": 1"),
        "{}",
        stdout(&verify)
    );
    let seen = fs::read_to_string(bin.join("env.txt")).expect("the helper ran");
    assert!(seen.contains("PATH="), "{seen}");
    assert!(
        !seen.contains("a-secret-token") && !seen.contains("a-secret-password"),
        "{seen}"
    );

    // A helper that does not know the registry means anonymous access, which is refused.
    credential_helper(&bin, "elsewhere.example.com", "ci", "token-password");
    let refused = run(ocp(&sandbox)
        .env("PATH", &path)
        .args(["index", "verify", "--fetch", "--format", "json"])
        .arg(&checkout));
    assert!(
        stdout(&refused).contains("refused anonymous access"),
        "{}",
        stdout(&refused)
    );
}

#[test]
fn a_moved_tag_is_caught_and_a_published_tag_is_never_moved() {
    // A registry that does not allow deletes: what a publish stored stays there even when
    // its push to the index fails.
    let registry = Registry::start_with(Auth::None, false);
    let sandbox = Sandbox::new();
    let (key, root, bare) = setup(&sandbox, &registry, "1.0.0");
    let index = bare.display().to_string();

    // The index refuses the first push: the tag stays behind without an entry.
    let hook = bare.join("hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\necho 'pushes are closed' >&2\nexit 1\n").expect("hook");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    let stray = publish(&sandbox, &root, &index, &key);
    refused(&stray, "failed to push to the index");
    let (first, _) = registry
        .manifest(REPOSITORY, "1.0.0")
        .expect("the stray tag");
    fs::remove_file(&hook).expect("reopen pushes");

    // Other bytes under the same version: refused, and the tag stays where it was.
    let readme = root.join("README.md");
    let original = fs::read_to_string(&readme).expect("read");
    fs::write(&readme, format!("{original}\nMore.\n")).expect("write");
    let index_before = tree_state(&bare);
    let conflict = publish(&sandbox, &root, &index, &key);
    refused(
        &conflict,
        &format!(
            "the tag `{}/{REPOSITORY}:1.0.0` already holds a different tarball (sha256 ",
            registry.host
        ),
    );
    assert!(
        stderr(&conflict).contains("help: a version's tag never moves"),
        "{}",
        stderr(&conflict)
    );
    assert_same_tree("the index", &index_before, &tree_state(&bare));
    assert_eq!(
        registry.manifest(REPOSITORY, "1.0.0").expect("tag").0,
        first
    );

    // The same bytes again: the tag already holds them, so the publish lands on it.
    fs::write(&readme, &original).expect("write");
    let same = publish(&sandbox, &root, &index, &key);
    assert!(same.status.success(), "{}", stderr(&same));
    assert_eq!(entry(&bare)["oci_manifest"], first.as_str());
    assert_eq!(
        registry.manifest(REPOSITORY, "1.0.0").expect("tag").0,
        first
    );

    // Someone moves the published tag to other bytes: `ocp index verify --fetch` says so.
    let other = b"not the tarball".to_vec();
    let layer = registry.push_blob(REPOSITORY, &other);
    let config = registry.push_blob(REPOSITORY, b"{}");
    let moved = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.osiris.ocp.package.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.osiris.ocp.package.v1.tar+gzip", "digest": layer, "size": other.len()}],
    })
    .to_string();
    registry.put_manifest(REPOSITORY, "1.0.0", moved.as_bytes());
    let moved_digest = format!("sha256:{}", sha256_hex(moved.as_bytes()));
    let checkout = checkout(&sandbox, &bare);
    let verify = run(ocp(&sandbox)
        .args(["index", "verify", "--fetch", "--format", "json"])
        .arg(&checkout));
    assert_eq!(verify.status.code(), Some(1), "{}", stdout(&verify));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("json");
    let finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "I016")
        .unwrap_or_else(|| panic!("no I016: {report:#}"));
    let text = finding.to_string();
    assert!(
        text.contains(&moved_digest) && text.contains(&first),
        "{text}"
    );
}

#[test]
fn an_unreachable_registry_is_refused_and_the_index_is_left_as_it_was() {
    // A port on which nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let host = format!("127.0.0.1:{port}");
    let sandbox = Sandbox::new();
    let (key, root, bare) = setup_at(&sandbox, &host, "1.0.0");
    let index = bare.display().to_string();
    let before = tree_state(&bare);
    let output = publish(&sandbox, &root, &index, &key);
    refused(
        &output,
        &format!("the request to `http://{host}/v2/ocp/shopify-osiris/manifests/1.0.0` failed"),
    );
    assert!(
        stderr(&output).contains(&format!(
            "help: check that `http://{host}` is the registry's address"
        )),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the index", &before, &tree_state(&bare));
}
