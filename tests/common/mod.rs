//! Shared helpers for the integration tests: run the real `ocp` binary in a clean
//! environment (its own temporary `OCP_HOME`, no inherited `OCP_*` variables, no colors).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary world for one test: a home for ocp and a working directory.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ocp-test-")
            .tempdir()
            .expect("create a temporary directory");
        std::fs::create_dir_all(dir.path().join("home")).expect("create OCP_HOME");
        std::fs::create_dir_all(dir.path().join("work")).expect("create the work directory");
        // The work directory is an Osiris project, as where users run ocp: its root holds
        // `ocp.lock` and its `plugins:` section (none here) is the policy.
        std::fs::write(dir.path().join("work/osiris.yaml"), "version: '2.0'\n")
            .expect("write osiris.yaml");
        Sandbox { dir }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// A signing key pair without a password, `<sandbox>/<name>.key` (and `.pub`), made with
    /// `ocp key generate`; returns the secret key's path for `--key`.
    pub fn signing_key(&self, name: &str) -> PathBuf {
        let key = self.dir.path().join(format!("{name}.key"));
        run_ok(
            self.ocp()
                .args(["key", "generate", "--no-password", "--output"])
                .arg(&key),
        );
        key
    }

    /// A package made by `ocp new <component>` in `<work>/<dir>`, set to `version`.
    pub fn new_package(&self, component: &str, dir: &str, version: &str) -> PathBuf {
        let root = self.work().join(dir);
        run_ok(
            self.ocp()
                .args(["new", component, "--author", "Jane Doe", "--path"])
                .arg(&root),
        );
        set_version(&root, version);
        root
    }

    /// A new index made by `ocp index init <extra>`, cloned into a bare repository as a git
    /// server holds it; returns the bare repository.
    pub fn bare_index(&self, extra: &[&str]) -> PathBuf {
        let source = self.dir.path().join("index-src");
        run_ok(self.ocp().args(["index", "init"]).arg(&source).args(extra));
        let bare = self.dir.path().join("remote.git");
        run_ok(
            Command::new("git")
                .args(["clone", "--quiet", "--bare"])
                .arg(&source)
                .arg(&bare),
        );
        bare
    }

    /// `ocp` with this sandbox's environment, run in the work directory.
    pub fn ocp(&self) -> Command {
        self.ocp_in(&self.work())
    }

    /// `ocp` with this sandbox's environment, run in `dir`.
    pub fn ocp_in(&self, dir: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ocp"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OCP_")
                || key == "SOURCE_DATE_EPOCH"
                || key == "VIRTUAL_ENV"
            {
                command.env_remove(&key);
            }
        }
        command
            .env("OCP_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(dir);
        command
    }
}

/// Runs `git -C dir args...` (committing, where it does, as a fixed test identity) and returns
/// what it printed; fails the test when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sets the version of a package made by `ocp new` (pyproject.toml, spec.yaml and
/// `__version__`) from `0.1.0` to `version`.
pub fn set_version(root: &Path, version: &str) {
    change_version(root, "0.1.0", version);
}

/// Changes the version of a package made by `ocp new` from `from` to `version`.
pub fn change_version(root: &Path, from: &str, version: &str) {
    let import = std::fs::read_dir(root.join("src"))
        .expect("src")
        .next()
        .expect("one package")
        .expect("entry")
        .path();
    for (path, from, to) in [
        (
            root.join("pyproject.toml"),
            format!("version = \"{from}\""),
            format!("version = \"{version}\""),
        ),
        (
            import.join("spec.yaml"),
            format!("version: {from}"),
            format!("version: {version}"),
        ),
        (
            import.join("__init__.py"),
            format!("__version__ = \"{from}\""),
            format!("__version__ = \"{version}\""),
        ),
    ] {
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replacen(&from, &to, 1)).expect("write");
    }
}

/// Replaces the first `from` in the file at `path` with `to`; `from` must be there.
pub fn replace_in_file(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

/// Runs a command and returns its output, whatever the exit status.
pub fn run(command: &mut Command) -> Output {
    command.output().expect("run the command")
}

/// Runs a command that must succeed, and returns its output.
pub fn run_ok(command: &mut Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "command failed: {command:?}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(&output),
        stderr(&output)
    );
    output
}

/// Asserts a user error: exit status 1 (not 2, not a panic's 101), `needle` on stderr, and
/// no panic.
pub fn assert_user_error(output: &Output, needle: &str) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit 1\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
    let text = stderr(output);
    assert!(text.contains(needle), "stderr lacks {needle:?}:\n{text}");
    assert!(!text.contains("panicked"), "panic:\n{text}");
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `value` is valid for the JSON schema text `schema` (one of `schemas/`).
pub fn assert_matches_schema(schema: &str, value: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(schema).expect("the schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{value:#}");
}

/// What a directory holds, for asserting that a refused command changed nothing: every path
/// below `root` (relative, `/`-separated) with its kind, permission bits and, for files, the
/// sha256 of the contents (for symlinks, the link target). Missing `root` gives an empty map.
pub fn tree_state(root: &Path) -> std::collections::BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            let relative = path
                .strip_prefix(root)
                .expect("below the root")
                .to_string_lossy()
                .replace('\\', "/");
            let meta = std::fs::symlink_metadata(&path).expect("stat a file");
            let mode = meta.permissions().mode() & 0o7777;
            let state = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("read a link");
                format!("link {}", target.display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {mode:o}")
            } else {
                let bytes = std::fs::read(&path).expect("read a file");
                format!("file {mode:o} {}", hex::encode(Sha256::digest(&bytes)))
            };
            out.insert(relative, state);
        }
    }
    out
}

/// Asserts that two [`tree_state`]s are equal, listing only the paths that differ.
pub fn assert_same_tree(
    what: &str,
    before: &std::collections::BTreeMap<String, String>,
    after: &std::collections::BTreeMap<String, String>,
) {
    let mut differences = Vec::new();
    for (path, state) in before {
        match after.get(path) {
            None => differences.push(format!("removed {path}")),
            Some(now) if now != state => {
                differences.push(format!("changed {path}: {state} -> {now}"))
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|path| !before.contains_key(*path)) {
        differences.push(format!("added {path}"));
    }
    assert!(
        differences.is_empty(),
        "{what} changed:\n{}",
        differences.join("\n")
    );
}
