//! The release workflow that `ocp new` writes, run for real. The test reads the generated
//! `.github/workflows/release.yml` with saphyr and runs every `run:` step, in order, with bash
//! as GitHub would, on a scaffolded package in a git repository tagged with its version:
//! `python` is a fresh virtual environment (what `actions/setup-python` provides), pip finds
//! the ocp wheel built from this checkout in a local folder (`PIP_FIND_LINKS`) instead of on
//! PyPI, the secrets and variables the workflow reads are given as environment variables, and
//! the index is a bare repository behind a real git HTTP server (`git http-backend`) that
//! takes the push only with the right token. `uses:` steps (checkout, setup-python) only make
//! sense on GitHub and are skipped; so whatever `run:` steps the workflow gains are run too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use saphyr::{LoadableYamlNode, YamlOwned};

use super::common::{Sandbox, assert_same_tree, run_ok, stderr, stdout, tree_state};
use super::{VERSION, building, git_http, python, wheel_dir};

/// One `run:` step with its environment (workflow, job and step `env:`, in that order).
struct Step {
    name: String,
    run: String,
    env: Vec<(String, String)>,
    working_directory: Option<String>,
}

/// The workflow's `run:` steps in order, and the names of the `uses:` steps left out.
fn parse(workflow: &str) -> (Vec<Step>, Vec<String>) {
    let documents = YamlOwned::load_from_str(workflow).expect("release.yml is YAML");
    let document = documents.first().expect("one document");
    let env_of = |node: &YamlOwned| -> Vec<(String, String)> {
        node.as_mapping_get("env")
            .and_then(YamlOwned::as_mapping)
            .map(|env| {
                env.iter()
                    .map(|(key, value)| {
                        (
                            key.as_str().expect("an env name").to_owned(),
                            value.as_str().expect("an env value").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let workflow_env = env_of(document);
    let jobs = document
        .as_mapping_get("jobs")
        .and_then(YamlOwned::as_mapping)
        .expect("jobs");
    let mut steps = Vec::new();
    let mut skipped = Vec::new();
    for (_, job) in jobs {
        let job_env = env_of(job);
        for step in job
            .as_mapping_get("steps")
            .and_then(YamlOwned::as_sequence)
            .expect("steps")
        {
            if let Some(uses) = step.as_mapping_get("uses").and_then(YamlOwned::as_str) {
                skipped.push(uses.to_owned());
                continue;
            }
            let run = step
                .as_mapping_get("run")
                .and_then(YamlOwned::as_str)
                .expect("a step is `uses:` or `run:`");
            let mut env = workflow_env.clone();
            env.extend(job_env.iter().cloned());
            env.extend(env_of(step));
            steps.push(Step {
                name: step
                    .as_mapping_get("name")
                    .and_then(YamlOwned::as_str)
                    .unwrap_or(run)
                    .to_owned(),
                run: run.to_owned(),
                env,
                working_directory: step
                    .as_mapping_get("working-directory")
                    .and_then(YamlOwned::as_str)
                    .map(str::to_owned),
            });
        }
    }
    (steps, skipped)
}

/// GitHub's `${{ secrets.NAME }}` and `${{ vars.NAME }}` (empty when not set, as on GitHub).
/// Any other expression fails the test: the workflow should not need one.
fn expand(value: &str, secrets: &BTreeMap<&str, String>, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        let expression = rest[start + 3..end].trim();
        let value = if let Some(name) = expression.strip_prefix("secrets.") {
            secrets.get(name).cloned().unwrap_or_default()
        } else if let Some(name) = expression.strip_prefix("vars.") {
            vars.get(name).cloned().unwrap_or_default()
        } else {
            panic!("the workflow uses `${{{{ {expression} }}}}`, which this test cannot evaluate");
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The machine a step runs on: what GitHub's runner and setup-python would provide.
struct Runner {
    workspace: PathBuf,
    base_env: Vec<(String, String)>,
}

impl Runner {
    fn run(
        &self,
        step: &Step,
        secrets: &BTreeMap<&str, String>,
        vars: &BTreeMap<&str, String>,
    ) -> Output {
        assert!(
            !step.run.contains("${{"),
            "step `{}` puts an expression in its script; pass it through `env:` instead",
            step.name
        );
        let directory = match &step.working_directory {
            Some(dir) => self.workspace.join(dir),
            None => self.workspace.clone(),
        };
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &step.run])
            .current_dir(directory)
            .env_clear()
            .envs(self.base_env.iter().map(|(k, v)| (k, v)));
        for (name, value) in &step.env {
            command.env(name, expand(value, secrets, vars));
        }
        command.output().expect("run bash")
    }
}

/// Everything a step printed, for the record and for checks that a secret never appears.
fn printed(output: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    )
}

fn git(dir: &Path, args: &[&str]) -> String {
    stdout(&run_ok(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=Jane Doe",
                "-c",
                "user.email=jane@example.com",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null"),
    ))
}

#[test]
fn the_generated_release_workflow_publishes_with_the_wheel_and_an_index_token() {
    let wheels = wheel_dir();
    let sandbox = Sandbox::new();
    let token = "ocp-test-token-3f9c2a7e5b1d";
    let password = "release key password";

    // The package, in a git repository tagged with its version; a signing key with a
    // password; an index served over HTTP. (`target/debug/ocp` while no wheel is building.)
    let key = sandbox.dir.path().join("release.key");
    let index_root = sandbox.dir.path().join("git-server");
    let package = sandbox.work().join("shopify-osiris");
    {
        let _turn = building();
        run_ok(sandbox.ocp().args([
            "new",
            "shopify.extractor",
            "--author",
            "Jane Doe <jane@example.com>",
        ]));
        run_ok(
            sandbox
                .ocp()
                .args(["key", "generate", "--kdf-limits", "interactive", "--output"])
                .arg(&key)
                .env("OCP_SIGNING_KEY_PASSWORD", password),
        );
        let source = sandbox.dir.path().join("index-source");
        run_ok(sandbox.ocp().args(["index", "init"]).arg(&source));
        std::fs::create_dir_all(&index_root).expect("mkdir");
        run_ok(
            Command::new("git")
                .args(["clone", "--quiet", "--bare"])
                .arg(&source)
                .arg(index_root.join("index.git")),
        );
    }
    git(&package, &["init", "--quiet", "--initial-branch=main"]);
    git(&package, &["add", "--all"]);
    git(&package, &["commit", "--quiet", "-m", "Initial version"]);
    git(&package, &["tag", "v0.1.0"]);
    let bare = index_root.join("index.git");
    let server = git_http::GitHttpServer::start(&index_root, token);
    let index_url = format!("{}/index.git", server.base);

    // setup-python's interpreter, with pip: a fresh virtual environment first on PATH.
    let env = sandbox.dir.path().join("python");
    python::venv(&env, true);
    let runner_temp = sandbox.dir.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).expect("mkdir");
    let path = format!(
        "{}:{}",
        env.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut base_env: Vec<(String, String)> = [
        ("PATH", path),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        ("CI", "true".to_owned()),
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_REF", "refs/tags/v0.1.0".to_owned()),
        ("GITHUB_REF_NAME", "v0.1.0".to_owned()),
        ("GITHUB_REF_TYPE", "tag".to_owned()),
        ("GITHUB_WORKSPACE", package.display().to_string()),
        ("RUNNER_TEMP", runner_temp.display().to_string()),
        // The runner's own per-user folders, inside the sandbox.
        ("OCP_HOME", sandbox.home().display().to_string()),
        (
            "GIT_CONFIG_GLOBAL",
            sandbox.dir.path().join("gitconfig").display().to_string(),
        ),
        ("GIT_CONFIG_NOSYSTEM", "1".to_owned()),
        // ocp from the wheel built from this checkout, not from PyPI.
        ("PIP_FIND_LINKS", wheels.display().to_string()),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1".to_owned()),
        ("NO_COLOR", "1".to_owned()),
        ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
        ("no_proxy", "127.0.0.1,localhost".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // What this machine needs to reach PyPI.
    for name in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "PIP_INDEX_URL",
        "LANG",
    ] {
        if let Ok(value) = std::env::var(name) {
            base_env.push((name.to_owned(), value));
        }
    }
    let runner = Runner {
        workspace: package.clone(),
        base_env,
    };
    let secrets: BTreeMap<&str, String> = [
        (
            "OCP_SIGNING_KEY",
            std::fs::read_to_string(&key).expect("the key"),
        ),
        ("OCP_SIGNING_KEY_PASSWORD", password.to_owned()),
        ("OCP_INDEX_TOKEN", token.to_owned()),
    ]
    .into_iter()
    .collect();
    let vars: BTreeMap<&str, String> = [("OCP_INDEX", index_url.clone())].into_iter().collect();

    let workflow =
        std::fs::read_to_string(package.join(".github/workflows/release.yml")).expect("workflow");
    let (steps, skipped) = parse(&workflow);
    assert_eq!(
        skipped,
        ["actions/checkout@v4", "actions/setup-python@v5"],
        "only GitHub's own steps are skipped"
    );
    assert!(
        workflow.contains(&format!("\"osiris-ocp=={VERSION}\"")),
        "the workflow installs the ocp that wrote it:\n{workflow}"
    );
    let mut outputs = Vec::new();
    for step in &steps {
        let output = runner.run(step, &secrets, &vars);
        let text = printed(&output);
        assert!(
            output.status.success(),
            "step `{}` failed:\n{text}",
            step.name
        );
        assert!(
            !text.contains(token),
            "step `{}` printed the token",
            step.name
        );
        assert!(
            !text.contains(password),
            "step `{}` printed the key password",
            step.name
        );
        outputs.push(output);
    }

    // The ocp that ran is the one from the wheel, at this crate's version.
    let installed = run_ok(Command::new(env.join("bin/ocp")).arg("--version"));
    assert_eq!(stdout(&installed), format!("ocp {VERSION}\n"));
    // The last step published: its JSON report, the commit in the index, and the push that
    // the server let in with the token.
    let published = outputs.last().expect("a publish step");
    let report: serde_json::Value =
        serde_json::from_slice(&published.stdout).expect("ocp publish --format json");
    assert_eq!(report["name"], "shopify-osiris");
    assert_eq!(report["version"], "0.1.0");
    assert_eq!(report["index"], index_url.as_str());
    assert!(
        git(&bare, &["log", "-1", "--format=%s"]).starts_with("Publish shopify-osiris 0.1.0"),
        "{}",
        git(&bare, &["log", "--format=%s"])
    );
    let requests = server.requests();
    assert!(
        requests.contains(&"POST /index.git/git-receive-pack -> 200".to_owned()),
        "{requests:#?}"
    );
    // The token is in no file the workflow wrote, only in the helper's environment.
    let gitconfig = std::fs::read_to_string(sandbox.dir.path().join("gitconfig")).expect("read");
    assert!(gitconfig.contains("helper"), "{gitconfig}");
    assert!(!gitconfig.contains(token), "{gitconfig}");

    // With a wrong token the index refuses the publish step, which says so, prints neither
    // token, and leaves the index as it was.
    let publish = steps.last().expect("the publish step");
    let before = tree_state(&bare);
    let mut wrong = secrets.clone();
    wrong.insert("OCP_INDEX_TOKEN", "not-the-token-8d1e".to_owned());
    let output = runner.run(publish, &wrong, &vars);
    let text = printed(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("Authentication failed"), "{text}");
    assert!(
        !text.contains("not-the-token-8d1e") && !text.contains(token),
        "{text}"
    );
    assert_same_tree("the index", &before, &tree_state(&bare));

    // Without the OCP_INDEX variable, the step stops before ocp could fall back to a local
    // index on the runner.
    let output = runner.run(publish, &secrets, &BTreeMap::new());
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    assert_eq!(
        stderr(&output),
        "error: set the repository variable OCP_INDEX to the index's git URL\n"
    );
}
