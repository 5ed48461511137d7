//! A catalogue of attacks on the index, one test per attack, each named for it.
//!
//! The attacker has write access to the index repository but no signing key: they clone it,
//! edit entries, rewrite `config.json`, force-push. Each test builds its attack with real
//! files and real git against a real bare repository, runs the real `ocp` binary, and asserts
//! the refusal message, exit status 1, and that the user's environment, store, index clone,
//! lock file and keys are exactly as before (`OCP_HOME`, the working directory and the
//! virtual environment, compared file by file). Attacks that would run code carry a live
//! payload: a real `setup.py` that writes a marker file, shown to work when installed
//! directly, and shown never to run through ocp.
//!
//! Where an attack arrives as an ordinary push, the user's clone first fetches it the way any
//! command that updates the index would (`ocp search`), and the snapshot is taken then: the
//! command under attack must then change nothing at all. A history rewrite is refused before
//! anything is fetched into the clone.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/python.rs"]
mod python;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    Sandbox, assert_same_tree, assert_user_error, git, run, run_ok, set_version, stderr, stdout,
    tree_state,
};

/// What a refused command must leave as it was: named file trees.
type State = Vec<(&'static str, BTreeMap<String, String>)>;

/// The entry file of `shopify-osiris` in an index checkout.
const SHOPIFY: &str = "packages/sh/op/shopify-osiris";

/// A user who published and installed from their own index, and the places an attack must
/// leave alone.
struct World {
    sandbox: Sandbox,
    /// The index repository everyone pushes to.
    bare: PathBuf,
    /// The user's virtual environment, with `shopify-osiris 1.0.0` installed by ocp.
    env: PathBuf,
}

impl World {
    /// Publishes `base-osiris 1.0.0` and `shopify-osiris 1.0.0` and `1.1.0` (each needing
    /// `base-osiris>=1.0`) with the user's own key, and installs `shopify.extractor@1.0.0`
    /// into a fresh environment, which writes `ocp.lock`.
    fn new() -> World {
        let sandbox = Sandbox::new();
        run_ok(sandbox.ocp().args(["key", "generate", "--no-password"]));
        let bare = sandbox.bare_index(&[]);
        let world = World {
            env: sandbox.dir.path().join("venv"),
            sandbox,
            bare,
        };
        world.publish("base.extractor", "1.0.0", &[]);
        world.publish("shopify.extractor", "1.0.0", &["base-osiris>=1.0"]);
        world.publish("shopify.extractor", "1.1.0", &["base-osiris>=1.0"]);
        python::venv(&world.env, true);
        let output = world.ocp(&["install", "shopify.extractor@1.0.0", "--no-python-deps"]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(world.sandbox.work().join("ocp.lock").is_file());
        world
    }

    /// `ocp <args> --index <bare> --env <env> --osiris-version 0.5.7`, in the work folder.
    fn ocp(&self, args: &[&str]) -> Output {
        run(self
            .sandbox
            .ocp()
            .args(args)
            .arg("--index")
            .arg(&self.bare)
            .arg("--env")
            .arg(&self.env)
            .args(["--osiris-version", "0.5.7"]))
    }

    /// A package made with `ocp new`, its Python requirements replaced by `requirements`,
    /// published with the user's key.
    fn publish(&self, component: &str, version: &str, requirements: &[&str]) {
        let family = component.split('.').next().expect("a family");
        let root = self.sandbox.work().join(format!("{family}-{version}"));
        run_ok(
            self.sandbox
                .ocp()
                .args(["new", component, "--author", "Jane Doe", "--path"])
                .arg(&root),
        );
        set_version(&root, version);
        let pyproject = root.join("pyproject.toml");
        let text = fs::read_to_string(&pyproject).expect("read pyproject.toml");
        let wanted: String = requirements
            .iter()
            .map(|r| format!("    \"{r}\",\n"))
            .collect();
        fs::write(
            &pyproject,
            // The package imports `yaml` itself (`ocp check` insists it stays declared).
            text.replacen(
                "    \"pyyaml>=6.0\",\n",
                &format!("    \"pyyaml>=6.0\",\n{wanted}"),
                1,
            ),
        )
        .expect("write pyproject.toml");
        let output = run(self
            .sandbox
            .ocp()
            .args(["publish", "--path"])
            .arg(&root)
            .arg("--index")
            .arg(&self.bare));
        assert!(output.status.success(), "{}", stderr(&output));
    }

    /// The attacker's move: clone the index, `edit` the checkout, commit and push.
    fn tamper(&self, name: &str, edit: impl FnOnce(&Path)) {
        let checkout = self.sandbox.dir.path().join(format!("attacker-{name}"));
        run_ok(
            Command::new("git")
                .args(["clone", "--quiet"])
                .arg(&self.bare)
                .arg(&checkout),
        );
        edit(&checkout);
        git(&checkout, &["add", "-A"]);
        git(&checkout, &["commit", "--quiet", "-m", name]);
        git(&checkout, &["push", "--quiet", "--force", "origin", "HEAD"]);
    }

    /// The user's clone fetches what the attacker pushed, as any command that updates the
    /// index does (whether it then succeeds does not matter here).
    fn fetch(&self) {
        let _ = run(self
            .sandbox
            .ocp()
            .args(["search", "shop", "--index"])
            .arg(&self.bare));
    }

    /// Runs `ocp <args>` (as [`World::ocp`]) once the attacker's commit is fetched, and
    /// asserts it is refused with `needle` and changes nothing.
    fn refuses(&self, args: &[&str], needle: &str) -> Output {
        self.fetch();
        let before = self.state();
        let output = self.ocp(args);
        self.assert_refused(&output, needle, &before);
        output
    }

    /// The user's next release, `shopify-osiris 2.0.0`, ready to publish once the attacker's
    /// commit is fetched; and the state it must leave as it was if refused.
    fn next_version_to_publish(&self) -> (PathBuf, State) {
        let root = self
            .sandbox
            .new_package("shopify.extractor", "shopify-2.0.0", "2.0.0");
        self.fetch();
        (root, self.state())
    }

    /// Everything an attack must leave as it was: `OCP_HOME` (store, index clone, download
    /// cache, keys, remembered heads), the work folder (`ocp.lock`) and the environment.
    fn state(&self) -> State {
        vec![
            ("OCP_HOME", tree_state(&self.sandbox.home())),
            ("the work folder", tree_state(&self.sandbox.work())),
            ("the environment", tree_state(&self.env)),
        ]
    }

    /// Asserts that `output` is a refusal (exit 1, `needle` in stderr, no panic) that left
    /// everything as it was in `before`.
    fn assert_refused(&self, output: &Output, needle: &str, before: &State) {
        assert_user_error(output, needle);
        for ((what, was), (_, now)) in before.iter().zip(self.state()) {
            assert_same_tree(what, was, &now);
        }
    }
}

/// Publishes the package at `root` to `index` with the secret key `key`.
fn publish_as(sandbox: &Sandbox, root: &Path, index: &Path, key: &Path) {
    let output = run(sandbox
        .ocp()
        .args(["publish", "--path"])
        .arg(root)
        .arg("--index")
        .arg(index)
        .arg("--key")
        .arg(key));
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Writes the `config.json` of an index that stores tarballs with HTTP `PUT` at `upload`;
/// `storage` adds fields to its `storage` object.
fn write_http_config(checkout: &Path, upload: &str, storage: serde_json::Value) {
    let mut config = serde_json::json!({
        "format_version": 2,
        "download": upload,
        "storage": {"kind": "http", "upload": upload},
    });
    if let (Some(target), Some(extra)) = (config["storage"].as_object_mut(), storage.as_object()) {
        target.extend(extra.clone());
    }
    fs::write(
        checkout.join("config.json"),
        serde_json::to_string_pretty(&config).expect("json"),
    )
    .expect("write config.json");
}

fn assert_stderr_contains(output: &Output, needle: &str) {
    assert!(stderr(output).contains(needle), "{}", stderr(output));
}

/// Rewrites the JSON line of `version` in a package file with `edit`.
fn edit_entry(file: &Path, version: &str, edit: impl Fn(&mut serde_json::Value)) {
    let text = fs::read_to_string(file).expect("read the package file");
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let mut entry: serde_json::Value = serde_json::from_str(line).expect("an entry");
            if entry["version"] == version {
                edit(&mut entry);
            }
            entry.to_string()
        })
        .collect();
    fs::write(file, lines.join("\n") + "\n").expect("write the package file");
}

/// A project whose `setup.py` writes `marker` the moment an installer builds it (through a
/// build backend inside the project, so no download is needed).
fn evil_project(dir: &Path, marker: &Path) -> PathBuf {
    let project = dir.join("evil");
    fs::create_dir_all(&project).expect("mkdir");
    fs::write(
        project.join("setup.py"),
        format!(
            "import pathlib\npathlib.Path({:?}).write_text(\"setup.py ran\\n\")\n",
            marker.display().to_string()
        ),
    )
    .expect("write setup.py");
    python_project(
        &project,
        "    import runpy\n    runpy.run_path(\"setup.py\")\n    raise RuntimeError(\"not a real project\")\n",
    );
    project
}

/// A Python project at `dir` whose build backend (inside the project, so no download is
/// needed) runs `hook` (Python statements, indented) for every build hook uv or pip calls.
fn python_project(dir: &Path, hook: &str) {
    fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n",
    )
    .expect("write pyproject.toml");
    fs::write(
        dir.join("backend.py"),
        format!(
            "def _hook(*args, **kwargs):\n{hook}\nget_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _hook\n"
        ),
    )
    .expect("write backend.py");
}

/// Shows that the payload is live: installing `requirement` directly, into a throwaway
/// environment, runs the `setup.py` (then the marker is removed again).
fn assert_payload_runs(dir: &Path, requirement: &[&str], marker: &Path) {
    let scratch = dir.join("control-venv");
    let python = python::venv(&scratch, false);
    let _ = run(python::uv()
        .args(["pip", "install", "--quiet", "--python"])
        .arg(&python)
        .args(requirement));
    assert!(
        marker.is_file(),
        "the payload does not run: the test proves nothing"
    );
    fs::remove_file(marker).expect("remove the marker");
}

#[test]
fn unsigned_python_dependencies_edit_is_refused() {
    let world = World::new();
    let marker = world.sandbox.dir.path().join("marker");
    let evil = evil_project(world.sandbox.dir.path(), &marker);
    let requirement = format!("evil @ file://{}", evil.display());
    assert_payload_runs(world.sandbox.dir.path(), &["--", &requirement], &marker);
    world.tamper("python-dependencies", |checkout| {
        edit_entry(&checkout.join(SHOPIFY), "1.1.0", |entry| {
            entry["python_dependencies"] = serde_json::json!([requirement]);
        });
    });
    let output = world.refuses(&["update"], "refusing shopify-osiris 1.1.0: its components, dependencies, Python requirements or version ranges are not what its owner signed");
    assert_stderr_contains(&output, "packages/sh/op/shopify-osiris:2`");
    assert!(!marker.exists(), "the attacker's setup.py ran");
}

#[test]
fn python_dependency_smuggled_as_an_installer_option_is_refused() {
    let world = World::new();
    let marker = world.sandbox.dir.path().join("marker");
    let evil = evil_project(world.sandbox.dir.path(), &marker);
    let evil = evil.display().to_string();
    assert_payload_runs(
        world.sandbox.dir.path(),
        &["--no-build-isolation", &evil],
        &marker,
    );
    world.tamper("installer-option", |checkout| {
        edit_entry(&checkout.join(SHOPIFY), "1.1.0", |entry| {
            entry["python_dependencies"] = serde_json::json!(["--no-build-isolation", evil]);
        });
    });
    world.refuses(
        &["update"],
        "the Python requirement `--no-build-isolation` starts with `-`, so uv or pip would read it as an option",
    );
    assert!(!marker.exists(), "the attacker's setup.py ran");
}

#[test]
fn unsigned_dependency_edit_is_refused() {
    let world = World::new();
    // The attacker publishes a package of their own under a new name (anyone may claim one)...
    let attacker = world.sandbox.signing_key("attacker");
    let root = world
        .sandbox
        .new_package("evil.extractor", "evil-osiris", "0.1.0");
    publish_as(&world.sandbox, &root, &world.bare, &attacker);
    // ...and makes the victim's version need it.
    world.tamper("dependency", |checkout| {
        edit_entry(&checkout.join(SHOPIFY), "1.1.0", |entry| {
            entry["dependencies"]
                .as_array_mut()
                .expect("dependencies")
                .push(serde_json::json!({"name": "evil-osiris", "requirement": ""}));
        });
    });
    let output = world.refuses(&["update"], "refusing shopify-osiris 1.1.0: its components, dependencies, Python requirements or version ranges are not what its owner signed");
    assert!(!stderr(&output).contains("Installed evil-osiris"));
}

#[test]
fn components_edited_to_another_packages_are_caught() {
    let world = World::new();
    world.tamper("components", |checkout| {
        edit_entry(&checkout.join(SHOPIFY), "1.0.0", |entry| {
            entry["components"] = serde_json::json!(["other.extractor"]);
        });
    });
    world.refuses(&["install"], "refusing shopify-osiris 1.0.0");

    let checkout = world.sandbox.dir.path().join("review");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(&world.bare)
            .arg(&checkout),
    );
    let verify = run(world
        .sandbox
        .ocp()
        .args(["index", "verify", "--format", "json"])
        .arg(&checkout));
    assert_eq!(verify.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("json");
    let signature_findings: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "I004")
        .collect();
    assert_eq!(signature_findings.len(), 1, "{report:#}");
    let message = signature_findings[0]["message"].as_str().expect("message");
    assert!(
        message.starts_with("packages/sh/op/shopify-osiris:1: its components, dependencies"),
        "{message}"
    );
}

#[test]
fn dependency_named_outside_the_checkout_is_refused() {
    let world = World::new();
    // A file outside the index checkout that the name would reach if it became a path.
    let outside = world.sandbox.home().join("index/outside");
    world.tamper("escape", |checkout| {
        edit_entry(&checkout.join(SHOPIFY), "1.0.0", |entry| {
            entry["dependencies"] = serde_json::json!([
                {"name": "../../outside", "requirement": ""}
            ]);
        });
    });
    fs::write(&outside, "{not an entry\n").expect("plant a file");
    world.refuses(
        &["install"],
        "refusing shopify-osiris 1.0.0: the entry is not valid: dependency `../../outside`",
    );
}

#[test]
fn install_spec_naming_a_path_is_refused() {
    let world = World::new();
    world.refuses(
        &["install", "../../../keys/ocp.key"],
        "`../../../keys/ocp.key` is neither a component name (`family.role`) nor a package name",
    );
}

#[test]
fn force_pushed_history_is_refused() {
    let world = World::new();
    // The attacker replaces the whole history: a fresh index in which their own key claims
    // `shopify-osiris` and signs a version of their own, force-pushed over the real one.
    let attacker = world.sandbox.signing_key("attacker");
    let forged = world.sandbox.dir.path().join("forged-index");
    run_ok(world.sandbox.ocp().args(["index", "init"]).arg(&forged));
    let root = world
        .sandbox
        .new_package("shopify.extractor", "forged-shopify", "1.0.0");
    publish_as(&world.sandbox, &root, &forged, &attacker);
    let pushed = Command::new("git")
        .arg("-C")
        .arg(&forged)
        .args(["push", "--quiet", "--force"])
        .arg(&world.bare)
        .arg("main:main")
        .output()
        .expect("git push");
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );

    let output = world.refuses(
        &["install"],
        "was rewritten: its history no longer contains",
    );
    assert_stderr_contains(&output, "ocp index accept-rewrite --index");
    assert_stderr_contains(&output, "M packages/sh/op/shopify-osiris");
    // A fresh install elsewhere does not get the attacker's package either.
    world.refuses(
        &["install", "shopify.extractor", "--dry-run"],
        "was rewritten",
    );
}

#[test]
fn config_json_naming_the_key_password_as_upload_token_is_refused() {
    let world = World::new();
    let collector = http::FileServer::start(None);
    // An encrypted key, as a CI job has: its password is in the environment.
    let key = world.sandbox.dir.path().join("ci.key");
    run_ok(
        world
            .sandbox
            .ocp()
            .env("OCP_SIGNING_KEY_PASSWORD", "correct horse battery staple")
            .args(["key", "generate", "--kdf-limits", "interactive", "--output"])
            .arg(&key),
    );
    world.tamper("token-env", |checkout| {
        let upload = format!("{}/collect/{{name}}/{{file}}", collector.base);
        let token = serde_json::json!({"token_env": "OCP_SIGNING_KEY_PASSWORD"});
        write_http_config(checkout, &upload, token);
    });
    let (root, before) = world.next_version_to_publish();
    let output = run(world
        .sandbox
        .ocp()
        .env("OCP_SIGNING_KEY_PASSWORD", "correct horse battery staple")
        .args(["publish", "--path"])
        .arg(&root)
        .arg("--index")
        .arg(&world.bare)
        .arg("--key")
        .arg(&key));
    world.assert_refused(
        &output,
        "names an upload token variable (`token_env`), but an index does not choose credentials",
        &before,
    );
    assert!(
        collector.log.lock().expect("lock").is_empty(),
        "nothing was sent"
    );
    assert!(!stderr(&output).contains("correct horse"));
}

#[test]
fn upload_url_moved_to_another_host_gets_no_token() {
    let real = http::FileServer::start(Some("the-token"));
    let collector = http::FileServer::start(None);
    let world = World::new();
    // The user's token is for the index's real upload host only.
    configure_team(
        &world.sandbox,
        &world.bare,
        real.base.trim_start_matches("http://"),
    );
    // The attacker points uploads at their own server.
    world.tamper("upload-host", |checkout| {
        let upload = format!("{}/collect/{{name}}/{{file}}", collector.base);
        write_http_config(checkout, &upload, serde_json::json!({}));
    });
    // The user's clone of `team` already holds the attacker's commit.
    let _ = run(world
        .sandbox
        .ocp()
        .args(["search", "shop", "--index", "team"]));
    let (root, before) = world.next_version_to_publish();
    let output = run(world
        .sandbox
        .ocp()
        .env("TEAM_UPLOAD_TOKEN", "the-token")
        .args(["publish", "--index", "team", "--path"])
        .arg(&root));
    world.assert_refused(&output, "but your upload token is for `127.0.0.1:", &before);
    assert_stderr_contains(&output, "help: if the index really moved its uploads");
    assert!(
        collector.authorizations.lock().expect("lock").is_empty(),
        "the token reached the attacker's server"
    );
}

#[test]
fn upload_redirected_to_another_host_keeps_the_token() {
    let real = http::FileServer::start(Some("the-token"));
    let collector = http::FileServer::start(None);
    *real.redirect_writes_to.lock().expect("lock") = Some(collector.base.clone());
    let sandbox = Sandbox::new();
    run_ok(sandbox.ocp().args(["key", "generate", "--no-password"]));
    let upload = format!("{}/ocp/{{name}}/{{file}}", real.base);
    let index = sandbox.dir.path().join("index");
    run_ok(sandbox.ocp().args(["index", "init"]).arg(&index).args([
        "--storage",
        "http",
        "--upload-url",
        &upload,
    ]));
    configure_team(&sandbox, &index, real.base.trim_start_matches("http://"));
    let root = sandbox.new_package("shopify.extractor", "shopify", "0.1.0");
    let before = tree_state(&index);
    let output = run(sandbox
        .ocp()
        .env("TEAM_UPLOAD_TOKEN", "the-token")
        .args(["publish", "--index", "team", "--path"])
        .arg(&root));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("was redirected to")
            && stderr(&output).contains("another host; ocp does not follow it with your token"),
        "{}",
        stderr(&output)
    );
    assert!(
        collector.authorizations.lock().expect("lock").is_empty(),
        "the token followed the redirect"
    );
    assert!(collector.log.lock().expect("lock").is_empty());
    assert_same_tree("the index", &before, &tree_state(&index));
}

#[test]
fn yank_flag_flipped_without_a_signed_event_is_ignored() {
    let world = World::new();
    let yank = run(world
        .sandbox
        .ocp()
        .args(["yank", "shopify-osiris@1.1.0", "--index"])
        .arg(&world.bare));
    assert!(yank.status.success(), "{}", stderr(&yank));
    // The attacker un-yanks it by hand, without the owner log's signed event.
    world.tamper("unyank", |checkout| {
        edit_entry(&checkout.join(SHOPIFY), "1.1.0", |entry| {
            entry["yanked"] = serde_json::json!(false);
        });
    });
    world.refuses(&["install", "shopify-osiris==1.1.0", "--dry-run"], "yanked");
}

#[test]
fn oversized_index_file_is_refused_before_it_is_parsed() {
    let world = World::new();
    world.tamper("huge-line", |checkout| {
        let mut text = fs::read_to_string(checkout.join(SHOPIFY)).expect("entries");
        text.push_str(&format!("{{\"name\": \"{}\"}}\n", "x".repeat(4 << 20)));
        fs::write(checkout.join(SHOPIFY), text).expect("write");
    });
    world.fetch();
    let before = world.state();
    let started = Instant::now();
    let output = world.ocp(&["install"]);
    world.assert_refused(&output, "index lines are at most 65536 bytes", &before);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn symlinked_index_file_is_refused() {
    let world = World::new();
    let key = world.sandbox.home().join("keys/ocp.key");
    world.tamper("symlink", |checkout| {
        let file = checkout.join("packages/ba/se/base-osiris");
        fs::remove_file(&file).expect("remove");
        std::os::unix::fs::symlink(&key, &file).expect("symlink");
    });
    let output = world.refuses(
        &["install"],
        "is a symbolic link; an index holds only plain files",
    );
    let secret = fs::read_to_string(&key).expect("key");
    let key_line = secret.lines().nth(1).expect("the key line");
    assert!(!stderr(&output).contains(key_line));
}

/// Secrets a release job has in its environment, and their values.
const SECRETS: [(&str, &str); 4] = [
    ("OCP_SIGNING_KEY_PASSWORD", "correct-horse-battery-staple"),
    ("OCP_REGISTRY_TEAM_TOKEN", "registry-token-value"),
    ("TEAM_UPLOAD_TOKEN", "configured-token-value"),
    ("OCP_REGISTRY_OTHER_TOKEN", "other-token-value"),
];

/// `OCP_HOME/config.toml` naming `index` as `team`, whose upload token is in
/// `TEAM_UPLOAD_TOKEN` and may go to `host` only.
fn configure_team(sandbox: &Sandbox, index: &Path, host: &str) {
    fs::write(
        sandbox.home().join("config.toml"),
        format!(
            "[registries.team]\nindex = \"{}\"\ntoken-env = \"TEAM_UPLOAD_TOKEN\"\nupload-host = \"{host}\"\n",
            index.display()
        ),
    )
    .expect("write config.toml");
}

/// Asserts that a dump of a child's environment exists (the child ran) and holds none of
/// the secrets, neither the names nor the values, nor the signing key's text.
fn assert_no_secrets(dump: &Path, key_text: &str) {
    let text = fs::read_to_string(dump).expect("the child ran and dumped its environment");
    assert!(text.contains("PATH="), "{text}");
    for (name, value) in SECRETS {
        assert!(
            !text.contains(name) && !text.contains(value),
            "{name} leaked:\n{text}"
        );
    }
    assert!(!text.contains("OCP_SIGNING_KEY="), "{text}");
    let key_line = key_text.lines().nth(1).expect("the key line");
    assert!(!text.contains(key_line), "the signing key leaked");
}

#[test]
fn git_hook_in_the_index_never_sees_the_signing_key_or_tokens() {
    let sandbox = Sandbox::new();
    let key = sandbox.signing_key("ci");
    let key_text = fs::read_to_string(&key).expect("key");
    let bare = sandbox.bare_index(&[]);
    // Whoever controls the index repository's server controls its hooks.
    let dump = sandbox.dir.path().join("hook-env");
    let hook = bare.join("hooks/pre-receive");
    fs::write(
        &hook,
        format!("#!/bin/sh\nenv > '{}'\nexit 0\n", dump.display()),
    )
    .expect("write the hook");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    configure_team(&sandbox, &bare, "files.example.com");
    let root = sandbox.new_package("shopify.extractor", "shopify", "0.1.0");
    let mut publish = sandbox.ocp();
    publish
        .env("OCP_SIGNING_KEY", &key_text)
        .args(["publish", "--index", "team", "--path"])
        .arg(&root);
    for (name, value) in SECRETS {
        publish.env(name, value);
    }
    let output = run(&mut publish);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secrets(&dump, &key_text);
}

#[test]
fn build_backend_of_a_python_requirement_never_sees_ocps_secrets() {
    let sandbox = Sandbox::new();
    run_ok(sandbox.ocp().args(["key", "generate", "--no-password"]));
    let key_text = fs::read_to_string(sandbox.home().join("keys/ocp.key")).expect("key");
    // A Python requirement whose build backend writes out the environment it runs in.
    let dump = sandbox.dir.path().join("backend-env");
    let project = sandbox.dir.path().join("envdump");
    fs::create_dir_all(&project).expect("mkdir");
    python_project(
        &project,
        &format!(
            "    import os\n    with open({:?}, \"w\") as out:\n        out.writelines(f\"{{k}}={{v}}\\n\" for k, v in os.environ.items())\n    raise RuntimeError(\"only here to look\")\n",
            dump.display().to_string()
        ),
    );
    let root = sandbox.new_package("shopify.extractor", "shopify", "0.1.0");
    let pyproject = root.join("pyproject.toml");
    let text = fs::read_to_string(&pyproject).expect("read");
    fs::write(
        &pyproject,
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            &format!(
                "    \"pyyaml>=6.0\",\n    \"envdump @ file://{}\",\n",
                project.display()
            ),
            1,
        ),
    )
    .expect("write");
    let published = run(sandbox.ocp().args(["publish", "--path"]).arg(&root));
    assert!(published.status.success(), "{}", stderr(&published));
    configure_team(
        &sandbox,
        &sandbox.home().join("index/default.git"),
        "files.example.com",
    );

    let env = sandbox.dir.path().join("venv");
    python::venv(&env, true);
    let mut install = sandbox.ocp();
    install
        .env("OCP_SIGNING_KEY", &key_text)
        .args([
            "install",
            "shopify.extractor",
            "--osiris-version",
            "0.5.7",
            "--env",
        ])
        .arg(&env);
    for (name, value) in SECRETS {
        install.env(name, value);
    }
    let output = run(&mut install);
    // The requirement cannot be built, so the install is rolled back; what matters is what
    // its build backend saw.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_stderr_contains(&output, "install was rolled back");
    assert_no_secrets(&dump, &key_text);
}

#[test]
fn deeply_nested_spec_yaml_is_refused_quickly() {
    let sandbox = Sandbox::new();
    let root = sandbox.new_package("shopify.extractor", "shopify", "0.1.0");
    let spec = root.join("src/shopify_osiris/spec.yaml");
    // 14,000 levels of block-nested sequences: a stack overflow for a recursive reader.
    fs::write(&spec, format!("{}x\n", "- ".repeat(14_000))).expect("write the spec");
    let before = tree_state(sandbox.dir.path());
    let started = Instant::now();
    let output = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_stderr_contains(
        &output,
        "nests mappings and sequences more than 64 levels deep",
    );
    assert!(!stderr(&output).contains("overflow"));
    assert_same_tree("the sandbox", &before, &tree_state(sandbox.dir.path()));
}
