//! An index read over plain HTTP (`sparse+http://`), and the signed checkpoints that make it
//! trustworthy: a real HTTP server on 127.0.0.1 (with `ETag`s, `304`s and kept-alive
//! connections) serving a real index checkout made by `ocp publish` and signed by
//! `ocp index checkpoint`, real installs into real environments with Osiris, and the attacks
//! a plain HTTP view allows (files from different moments, an expired or rolled-back
//! checkpoint, a key nobody handed over), plus a force-push and a rolled-back checkpoint on a
//! git index. Every refusal is checked for its message, its exit status and that nothing
//! changed on disk.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/python.rs"]
mod python;
#[path = "common/world.rs"]
mod world;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{assert_same_tree, git, run, run_ok, stderr, stdout, tree_state};
use http::FileServer;
use python::{osiris_env, site_packages};
use world::{World, keep};

/// `base.processor` 1.0.0, and `app.extractor` depending on it, published to a world's
/// default index; a maintainers' clone of that index signed with an index key and served
/// over HTTP.
struct Served {
    world: World,
    /// The maintainers' clone, at its newest checkpoint.
    checkout: PathBuf,
    index_key: PathBuf,
    server: FileServer,
}

fn with_base(text: &str) -> String {
    text.replacen(
        "    \"pyyaml>=6.0\",\n",
        "    \"pyyaml>=6.0\",\n    \"base-osiris>=1.0\",\n",
        1,
    )
}

impl Served {
    fn new() -> Served {
        let world = World::new();
        world.publish("base.processor", "1.0.0", keep);
        world.publish("app.extractor", "1.0.0", with_base);
        let checkout = world.sandbox.dir.path().join("maintainers");
        run_ok(
            Command::new("git")
                .args(["clone", "--quiet"])
                .arg(world.sandbox.home().join("index/default.git"))
                .arg(&checkout),
        );
        let index_key = world.sandbox.signing_key("index");
        let server = FileServer::start(None);
        server.keep_alive.store(true, Ordering::SeqCst);
        let served = Served {
            world,
            checkout,
            index_key,
            server,
        };
        served.checkpoint(&[]);
        served
    }

    fn url(&self) -> String {
        format!("sparse+{}/", self.server.base)
    }

    fn ocp(&self) -> Command {
        self.world.sandbox.ocp()
    }

    /// Signs a checkpoint of the clone's head with `extra` arguments (the index key unless
    /// they name another), pushes it, and serves the clone.
    fn checkpoint(&self, extra: &[&str]) -> serde_json::Value {
        let mut command = self.ocp();
        command
            .args(["index", "checkpoint", "--format", "json"])
            .arg(&self.checkout);
        if !extra.contains(&"--key") {
            command.arg("--key").arg(&self.index_key);
        }
        let output = run_ok(command.args(extra));
        git(&self.checkout, &["push", "--quiet", "origin", "HEAD:main"]);
        self.server.serve_index(&self.checkout);
        serde_json::from_slice(&output.stdout).expect("the checkpoint report is JSON")
    }

    /// Publishes `component` at `version`, brings the clone up to date, and signs and serves
    /// a new checkpoint.
    fn publish(&self, component: &str, version: &str, edit: impl Fn(&str) -> String) {
        self.world.publish(component, version, edit);
        git(&self.checkout, &["pull", "--quiet", "--ff-only"]);
        self.checkpoint(&[]);
    }

    /// `ocp install app.extractor --dry-run` over HTTP: resolution without an environment.
    fn resolve(&self, extra: &[&str]) -> Output {
        run(self
            .ocp()
            .args([
                "install",
                "app.extractor",
                "--dry-run",
                "--osiris-version",
                "0.5.7",
            ])
            .args(["--python-version", "3.12", "--index", &self.url()])
            .args(extra))
    }

    /// `ocp install app.extractor` over HTTP into the environment at `env`.
    fn install_into(&self, env: &Path) -> Output {
        run(self
            .ocp()
            .args([
                "install",
                "app.extractor",
                "--no-python-deps",
                "--index",
                &self.url(),
            ])
            .arg("--env")
            .arg(env))
    }

    /// The bytes the server serves at `path` now.
    fn served(&self, path: &str) -> Vec<u8> {
        self.server.get(path).expect("the server has the file")
    }

    fn home(&self) -> PathBuf {
        self.world.sandbox.home()
    }
}

fn refused(output: &Output, message: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert!(stderr(output).contains(message), "{}", stderr(output));
    assert!(stdout(output).is_empty(), "{}", stdout(output));
}

#[test]
fn install_update_and_search_over_http() {
    let served = Served::new();
    let search = run_ok(
        served
            .ocp()
            .args(["search", "app", "--index", &served.url()]),
    );
    assert_eq!(
        stdout(&search),
        "app-osiris 1.0.0  app.extractor  (osiris >=0.5.0,<1.0.0)\n"
    );
    assert!(
        stderr(&search).contains("Pinned key") && stderr(&search).contains("on first use"),
        "{}",
        stderr(&search)
    );
    let config = fs::read_to_string(served.home().join("config.toml")).expect("the config");
    let public = fs::read_to_string(served.index_key.with_extension("pub")).expect("the key");
    let public_line = public.lines().nth(1).expect("the key line");
    assert!(
        config.contains("[index-keys]") && config.contains(public_line),
        "{config}"
    );
    // A search reads only what matches: the component record and package file it needs.
    let gets = served.server.gets();
    assert!(
        !gets.iter().any(|path| path.contains("base-osiris")),
        "{gets:?}"
    );

    let env = served.world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    served.server.reset_counts();
    let install = served.install_into(&env);
    assert!(install.status.success(), "{}", stderr(&install));
    assert!(
        stderr(&install).contains("Installed base-osiris v1.0.0")
            && stderr(&install).contains("Installed app-osiris v1.0.0"),
        "{}",
        stderr(&install)
    );
    assert!(
        site_packages(&env)
            .join("components/app.extractor/spec.yaml")
            .is_file()
    );
    // The tarballs came from the same server, below the index.
    let gets = served.server.gets();
    assert!(
        gets.iter().any(|path| path.starts_with("/tarballs/")),
        "{gets:?}"
    );
    // Kept-alive connections carried several requests each.
    let connections = served.server.connections.load(Ordering::SeqCst);
    assert!(
        connections < gets.len(),
        "{connections} connections for {gets:?}"
    );
    let lock = fs::read_to_string(served.world.sandbox.work().join("ocp.lock")).expect("lock");
    assert!(lock.contains(&served.url()), "{lock}");

    served.publish("app.extractor", "1.1.0", with_base);
    let update = run(served
        .ocp()
        .args(["update", "--no-python-deps", "--index", &served.url()])
        .arg("--env")
        .arg(&env));
    assert!(update.status.success(), "{}", stderr(&update));
    assert!(
        stderr(&update).contains("Upgraded app-osiris v1.1.0 (was 1.0.0)"),
        "{}",
        stderr(&update)
    );
    let info = run_ok(
        served
            .ocp()
            .args(["info", "app-osiris", "--index", &served.url()]),
    );
    assert!(stdout(&info).contains("1.1.0") && stdout(&info).contains("1.0.0"));
}

#[test]
fn unchanged_files_come_from_the_cache_and_the_checkpoint_is_revalidated() {
    let served = Served::new();
    let ok = || served.server.ok_answers.load(Ordering::SeqCst);
    let not_modified = || served.server.not_modified.load(Ordering::SeqCst);

    // Cold: the checkpoint, the key history (first use), the manifest, the config, the
    // component record, and each package's file and owner log, once each.
    let cold = served.resolve(&[]);
    assert!(cold.status.success(), "{}", stderr(&cold));
    assert!(
        stderr(&cold).contains("Would install app-osiris v1.0.0"),
        "{}",
        stderr(&cold)
    );
    let mut gets = served.server.gets();
    gets.sort();
    let mut unique = gets.clone();
    unique.dedup();
    assert_eq!(gets, unique, "a file was fetched twice");
    assert_eq!(gets.len(), 9, "{gets:?}");
    for expected in [
        "/checkpoint/manifest.minisig",
        "/checkpoint/keys",
        "/checkpoint/manifest",
        "/config.json",
    ] {
        assert!(gets.contains(&expected.to_owned()), "{gets:?}");
    }
    assert_eq!((ok(), not_modified()), (9, 0));

    // Warm: one conditional request for the checkpoint, answered 304; everything else is
    // what the checkpoint lists, with the sha256 it lists, so it comes from the cache.
    served.server.reset_counts();
    let warm = served.resolve(&[]);
    assert!(warm.status.success(), "{}", stderr(&warm));
    assert_eq!(served.server.gets(), vec!["/checkpoint/manifest.minisig"]);
    assert_eq!((ok(), not_modified()), (0, 1));

    // A new checkpoint of the same files (the daily one): only the checkpoint is new.
    served.checkpoint(&[]);
    served.server.reset_counts();
    let resigned = served.resolve(&[]);
    assert!(resigned.status.success(), "{}", stderr(&resigned));
    assert_eq!(served.server.gets(), vec!["/checkpoint/manifest.minisig"]);
    assert_eq!((ok(), not_modified()), (1, 0));

    // A new version: the checkpoint, the manifest and the one package file that changed.
    served.publish("app.extractor", "1.1.0", with_base);
    served.server.reset_counts();
    let newer = served.resolve(&[]);
    assert!(newer.status.success(), "{}", stderr(&newer));
    assert!(
        stderr(&newer).contains("Would install app-osiris v1.1.0"),
        "{}",
        stderr(&newer)
    );
    let gets = served.server.gets();
    assert_eq!(gets.len(), 3, "{gets:?}");
    assert_eq!(
        &gets[..2],
        ["/checkpoint/manifest.minisig", "/checkpoint/manifest"]
    );
    assert!(gets[2].starts_with("/packages/") && gets[2].ends_with("/app-osiris"));
    assert_eq!((ok(), not_modified()), (3, 0));

    // Offline, nothing is asked at all.
    served.server.reset_counts();
    let offline = served.resolve(&["--offline"]);
    assert!(offline.status.success(), "{}", stderr(&offline));
    assert!(served.server.gets().is_empty());
}

#[test]
fn a_stale_file_beside_a_new_checkpoint_is_refused() {
    let served = Served::new();
    let env = served.world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    let install = served.install_into(&env);
    assert!(install.status.success(), "{}", stderr(&install));
    let package_file = served
        .server
        .gets()
        .into_iter()
        .find(|path| path.starts_with("/packages/") && path.ends_with("/app-osiris"))
        .expect("the package file was read");
    let old = served.served(&package_file);

    // The server takes the new checkpoint but still has the old package file.
    served.publish("app.extractor", "1.1.0", with_base);
    served.server.put_file(&package_file, &old);
    let before = (tree_state(&env), tree_state(&served.world.sandbox.work()));
    let update = run(served
        .ocp()
        .args(["update", "--no-python-deps", "--index", &served.url()])
        .arg("--env")
        .arg(&env));
    refused(&update, "but the checkpoint lists");
    assert!(
        stderr(&update).contains("is from another state of the index than the checkpoint")
            && stderr(&update).contains("help: nothing was changed; the server mixes files"),
        "{}",
        stderr(&update)
    );
    let after = (tree_state(&env), tree_state(&served.world.sandbox.work()));
    assert_same_tree("the environment", &before.0, &after.0);
    assert_same_tree("the project", &before.1, &after.1);

    // A reader that never saw the index is refused the same way.
    let stranger = common::Sandbox::new();
    let cold = run(stranger.ocp().args([
        "install",
        "app.extractor",
        "--dry-run",
        "--osiris-version",
        "0.5.7",
        "--python-version",
        "3.12",
        "--index",
        &served.url(),
    ]));
    refused(
        &cold,
        "is from another state of the index than the checkpoint",
    );
}

#[test]
fn an_expired_checkpoint_is_refused_and_offline_warns_with_its_age() {
    let served = Served::new();
    let signed = Instant::now();
    served.checkpoint(&["--expires-in", "8s"]);
    let fresh = served.resolve(&[]);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    assert!(
        signed.elapsed() < Duration::from_secs(8),
        "the machine is too slow to read the index before its checkpoint expires"
    );
    std::thread::sleep(Duration::from_secs(9).saturating_sub(signed.elapsed()));

    let before = tree_state(&served.home());
    let expired = served.resolve(&[]);
    refused(&expired, "the checkpoint expired");
    assert!(
        stderr(&expired).contains("so it may be frozen")
            && stderr(&expired).contains("`--offline` works from what ocp has"),
        "{}",
        stderr(&expired)
    );
    assert_same_tree("OCP_HOME", &before, &tree_state(&served.home()));

    let offline = served.resolve(&["--offline"]);
    assert!(offline.status.success(), "{}", stderr(&offline));
    let text = stderr(&offline);
    assert!(
        text.contains("warning: the checkpoint of the index")
            && text.contains("expired")
            && text.contains("ago and was signed")
            && text.contains("working offline from it"),
        "{text}"
    );
}

#[test]
fn a_rolled_back_checkpoint_is_refused_until_accepted() {
    let served = Served::new();
    let first = served.server.files.lock().expect("lock").clone();
    served.publish("app.extractor", "1.1.0", with_base);
    let seen = served.resolve(&[]);
    assert!(seen.status.success(), "{}", stderr(&seen));

    // The server goes back to the first checkpoint, with every file as it was then.
    *served.server.files.lock().expect("lock") = first;
    let before = tree_state(&served.home());
    let rolled_back = served.resolve(&[]);
    refused(
        &rolled_back,
        "the checkpoint is version 1, older than version 2, which ocp already accepted: the index was rolled back",
    );
    assert!(stderr(&rolled_back).contains("do not trust this server"));
    assert_same_tree("OCP_HOME", &before, &tree_state(&served.home()));

    let accepted = run(served
        .ocp()
        .args(["index", "accept-rewrite", "--index", &served.url()]));
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let after = served.resolve(&[]);
    assert!(after.status.success(), "{}", stderr(&after));
    assert!(stderr(&after).contains("Would install app-osiris v1.0.0"));
}

#[test]
fn a_new_index_key_is_followed_only_when_the_old_key_signed_it() {
    let served = Served::new();
    let first = served.resolve(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let identity = served.checkpoint(&[])["identity"]
        .as_str()
        .expect("an identity")
        .to_owned();

    // The maintainers move to a new key, signed by the old one.
    let new_key = served.world.sandbox.signing_key("index-2");
    let report = served.checkpoint(&[
        "--key",
        &new_key.display().to_string(),
        "--rotate-from",
        &served.index_key.display().to_string(),
    ]);
    let new_id = report["key_id"].as_str().expect("a key id").to_owned();
    assert!(report["rotated_from"].is_string(), "{report}");
    let rotated = served.resolve(&[]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert!(
        stderr(&rotated).contains("Rotated the key of the index")
            && stderr(&rotated).contains(&format!("to {new_id}")),
        "{}",
        stderr(&rotated)
    );
    let config = fs::read_to_string(served.home().join("config.toml")).expect("the config");
    let new_public = fs::read_to_string(new_key.with_extension("pub")).expect("the key");
    assert!(
        config.contains(new_public.lines().nth(1).expect("the key line")),
        "{config}"
    );

    // Someone with another key signs a checkpoint of the same index, with a key history of
    // their own: nobody the reader trusts handed the index to that key.
    let forged = served.world.sandbox.dir.path().join("forged");
    run_ok(
        Command::new("cp")
            .arg("-r")
            .arg(&served.checkout)
            .arg(&forged),
    );
    git(&forged, &["rm", "-r", "--quiet", "checkpoint"]);
    git(&forged, &["commit", "--quiet", "-m", "Start over"]);
    let attacker = served.world.sandbox.signing_key("attacker");
    run_ok(
        served
            .ocp()
            .args(["index", "checkpoint", "--identity", &identity, "--key"])
            .arg(&attacker)
            .arg(&forged),
    );
    served.server.serve_index(&forged);
    let before = tree_state(&served.home());
    let refused_key = served.resolve(&[]);
    refused(
        &refused_key,
        &format!("but the index key is {new_id}, and no key history signed by {new_id} leads to"),
    );
    assert!(stderr(&refused_key).contains("write it as `index-key`"));
    assert_same_tree("OCP_HOME", &before, &tree_state(&served.home()));
}

#[test]
fn an_index_over_http_needs_a_checkpoint_and_is_read_only() {
    let world = World::new();
    world.publish("app.extractor", "1.0.0", keep);
    let checkout = world.sandbox.dir.path().join("plain");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(world.sandbox.home().join("index/default.git"))
            .arg(&checkout),
    );
    let server = FileServer::start(None);
    server.serve_index(&checkout);
    let url = format!("sparse+{}/", server.base);
    // Nothing is cached, pinned or remembered: only the lock that guards the cache is made.
    let state = || {
        let mut state = tree_state(&world.sandbox.home());
        state.retain(|path, _| !path.ends_with(".lock") && path != "index/sparse");
        state
    };
    let before = state();
    let output = run(world.sandbox.ocp().args(["search", "app", "--index", &url]));
    refused(
        &output,
        "has no signed checkpoint (`checkpoint/manifest.minisig`)",
    );
    assert!(stderr(&output).contains("help: the index's maintainers sign checkpoints"));
    assert_same_tree("OCP_HOME", &before, &state());

    let root = world.scaffold("app.extractor", "2.0.0", keep);
    let output = run(world
        .sandbox
        .ocp()
        .args(["publish", "--index", &url, "--key"])
        .arg(&world.key)
        .arg("--path")
        .arg(&root));
    refused(&output, "is read over HTTP");
    assert!(stderr(&output).contains("through the index's git repository"));

    for bad in [
        "sparse+ftp://example.com/",
        "sparse+https://user:secret@example.com/",
    ] {
        let output = run(world.sandbox.ocp().args(["search", "x", "--index", bad]));
        refused(&output, "is not an index URL ocp reads over HTTP");
        assert!(!stderr(&output).contains("secret"), "{}", stderr(&output));
    }
}

/// The bare repository the world publishes to, which the maintainers' clone pushes to.
fn git_remote(served: &Served) -> PathBuf {
    served.world.sandbox.home().join("index/default.git")
}

#[test]
fn a_git_index_with_checkpoints_refuses_a_force_push_and_a_rolled_back_checkpoint() {
    let served = Served::new();
    let remote = git_remote(&served);
    let info = || {
        run(served
            .ocp()
            .args(["info", "app-osiris", "--index"])
            .arg(&remote))
    };
    let first = info();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("Pinned key"), "{}", stderr(&first));

    // A version published after the checkpoint is read once a checkpoint lists it.
    served.world.publish("app.extractor", "1.1.0", with_base);
    let unsigned = info();
    assert!(unsigned.status.success(), "{}", stderr(&unsigned));
    assert!(
        !stdout(&unsigned).contains("1.1.0"),
        "{}",
        stdout(&unsigned)
    );
    git(&served.checkout, &["pull", "--quiet", "--ff-only"]);
    let v1_commit = git(&served.checkout, &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    served.checkpoint(&[]);
    let signed = info();
    assert!(stdout(&signed).contains("1.1.0"), "{}", stdout(&signed));

    // A commit that puts the first checkpoint back: history grows, the version does not.
    let clone = served.world.sandbox.home().join("index/checkouts");
    let before = tree_state(&clone);
    git(
        &served.checkout,
        &["checkout", "HEAD~2", "--", "checkpoint"],
    );
    git(
        &served.checkout,
        &["commit", "--quiet", "-m", "Restore an old checkpoint"],
    );
    git(
        &served.checkout,
        &["push", "--quiet", "origin", "HEAD:main"],
    );
    let rolled_back = info();
    refused(
        &rolled_back,
        "older than version 2, which ocp already accepted",
    );
    assert_same_tree("the clone", &before, &tree_state(&clone));

    // A force-push that drops the signed commits is caught by the history check.
    git(
        &served.checkout,
        &["reset", "--quiet", "--hard", &v1_commit],
    );
    git(
        &served.checkout,
        &["push", "--quiet", "--force", "origin", "HEAD:main"],
    );
    let rewritten = info();
    refused(&rewritten, "was rewritten");
    assert_same_tree("the clone", &before, &tree_state(&clone));
}

#[test]
fn index_verify_checks_the_checkpoint_chain() {
    let served = Served::new();
    served.publish("app.extractor", "1.1.0", with_base);
    let checkout = &served.checkout;
    let verify = || {
        let output = run(served
            .ocp()
            .args(["index", "verify", "--format", "json"])
            .arg(checkout));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&output)));
        (output.status.code(), report)
    };
    let (code, report) = verify();
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["checkpoints"], 2, "{report}");
    common::assert_matches_schema(
        include_str!("../schemas/index-verify-report.schema.json"),
        &report,
    );
    // The checkpoint is a minisign signature of the manifest.
    let minisign = Command::new("minisign")
        .args(["-V", "-q", "-m"])
        .arg(checkout.join("checkpoint/manifest"))
        .arg("-p")
        .arg(served.index_key.with_extension("pub"))
        .output()
        .expect("run minisign");
    assert!(minisign.status.success(), "{}", stderr(&minisign));

    // A hand-edited manifest no longer matches its signature.
    let manifest = checkout.join("checkpoint/manifest");
    let text = fs::read_to_string(&manifest).expect("the manifest");
    fs::write(&manifest, text.replacen(&text[..2], "00", 1)).expect("write");
    git(checkout, &["commit", "--quiet", "-am", "Edit the manifest"]);
    let (code, report) = verify();
    assert_eq!(code, Some(1), "{report}");
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|finding| finding["code"].as_str())
        .collect();
    assert!(codes.contains(&"I013"), "{report}");

    // The first checkpoint committed again after the second: out of order.
    git(checkout, &["reset", "--quiet", "--hard", "HEAD~1"]);
    git(checkout, &["checkout", "HEAD~2", "--", "checkpoint"]);
    git(
        checkout,
        &["commit", "--quiet", "-m", "Restore the first checkpoint"],
    );
    let (code, report) = verify();
    assert_eq!(code, Some(1), "{report}");
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["code"] == "I014")
        .filter_map(|finding| finding["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|message| message.contains("older than version 2")),
        "{report}"
    );
}

#[test]
fn a_new_index_says_how_to_sign_and_serve_it() {
    let sandbox = common::Sandbox::new();
    let index = sandbox.dir.path().join("index");
    run_ok(sandbox.ocp().args(["index", "init"]).arg(&index));
    let readme = fs::read_to_string(index.join("README.md")).expect("the README");
    for needed in [
        "sparse+https://",
        "ocp index checkpoint",
        "--rotate-from",
        "GitHub Pages",
        "nginx",
        "object store",
    ] {
        assert!(readme.contains(needed), "the README lacks {needed}");
    }
    let workflow = fs::read_to_string(index.join(".github/workflows/checkpoint.yml"))
        .expect("the checkpoint workflow");
    assert!(workflow.contains("ocp index checkpoint") && workflow.contains("schedule:"));
    assert!(
        git(&index, &["ls-files"]).contains(".github/workflows/checkpoint.yml"),
        "the workflow is committed"
    );
}
