//! A sandbox with a signing key that publishes packages to its default local index, for
//! the tests that install them.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{Sandbox, git, run, run_ok, stderr};

/// A sandbox with a signing key and packages published to its default local index.
pub struct World {
    pub sandbox: Sandbox,
    pub key: PathBuf,
}

impl World {
    pub fn new() -> World {
        let sandbox = Sandbox::new();
        let key = sandbox.signing_key("me");
        World { sandbox, key }
    }

    /// Publishes `component` at `version`; `edit` may change pyproject.toml first.
    pub fn publish(
        &self,
        component: &str,
        version: &str,
        edit: impl Fn(&str) -> String,
    ) -> PathBuf {
        let root = self.scaffold(component, version, edit);
        self.publish_dir(&root);
        root
    }

    /// A new package for `component` at `version` in the work directory, not yet published;
    /// `edit` may change pyproject.toml and spec.yaml.
    pub fn scaffold(
        &self,
        component: &str,
        version: &str,
        edit: impl Fn(&str) -> String,
    ) -> PathBuf {
        let family = component.split('.').next().expect("family");
        let root = self.sandbox.work().join(format!("{family}-{version}"));
        run_ok(
            self.sandbox
                .ocp()
                .args(["new", component, "--author", "Jane Doe", "--path"])
                .arg(&root),
        );
        let import = format!("{}_osiris", family.replace('-', "_"));
        for (file, from, to) in [
            (
                "pyproject.toml".to_owned(),
                "version = \"0.1.0\"".to_owned(),
                format!("version = \"{version}\""),
            ),
            (
                format!("src/{import}/spec.yaml"),
                "version: 0.1.0".to_owned(),
                format!("version: {version}"),
            ),
            (
                format!("src/{import}/__init__.py"),
                "__version__ = \"0.1.0\"".to_owned(),
                format!("__version__ = \"{version}\""),
            ),
        ] {
            let path = root.join(file);
            let text = fs::read_to_string(&path).expect("read");
            fs::write(&path, text.replacen(&from, &to, 1)).expect("write");
        }
        for file in [
            "pyproject.toml".to_owned(),
            format!("src/{import}/spec.yaml"),
        ] {
            let path = root.join(file);
            let text = fs::read_to_string(&path).expect("read");
            fs::write(&path, edit(&text)).expect("write");
        }
        root
    }

    /// Publishes the package at `root` to the default index.
    pub fn publish_dir(&self, root: &Path) {
        let output = run(self
            .sandbox
            .ocp()
            .args(["publish", "--path"])
            .arg(root)
            .arg("--key")
            .arg(&self.key));
        assert!(output.status.success(), "{}", stderr(&output));
    }

    /// Someone with write access to the default index changes it: clone, `edit`, commit, push.
    pub fn tamper_index(&self, name: &str, edit: impl FnOnce(&Path)) {
        let checkout = self.sandbox.dir.path().join(name);
        let bare = self.sandbox.home().join("index/default.git");
        run_ok(
            std::process::Command::new("git")
                .args(["clone", "--quiet"])
                .arg(&bare)
                .arg(&checkout),
        );
        edit(&checkout);
        git(&checkout, &["commit", "-qam", name]);
        git(&checkout, &["push", "-q"]);
    }

    pub fn install(&self, env: &Path, args: &[&str]) -> Output {
        run(self
            .sandbox
            .ocp()
            .args(["install", "--env"])
            .arg(env)
            .args(args))
    }
}

/// An edit that changes nothing.
pub fn keep(text: &str) -> String {
    text.to_owned()
}
