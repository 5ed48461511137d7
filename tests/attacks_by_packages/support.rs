//! The worlds the attack catalogue runs in: a hand-made tarball builder (any name, link or
//! manifest), a user with a trusted hostile signer and a virtual environment, and a user
//! who published to a real local git index that someone with write access edits.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::common::{Sandbox, assert_same_tree, git, run, run_ok, stderr, tree_state};
use super::python;

/// One entry of a hand-made tarball, below its top folder.
pub(crate) enum Item {
    File(Vec<u8>, Vec<u8>),
    Symlink(Vec<u8>, String),
}

/// An OCP tarball written entry by entry, so a test can put in it what `ocp build` never
/// would: any name, any link, any manifest.
pub(crate) struct Tarball {
    pub(crate) top: String,
    pub(crate) items: Vec<Item>,
    pub(crate) manifest: Value,
}

impl Tarball {
    /// A valid OCP of `{family}-osiris` providing `component` from `{family}_osiris`.
    pub(crate) fn ocp(component: &str, version: &str) -> Tarball {
        let family = component.split('.').next().expect("family");
        Tarball::named(&format!("{family}-osiris"), version, component)
    }

    /// A valid OCP called `name`, providing `component` from `{family}_osiris`.
    pub(crate) fn named(name: &str, version: &str, component: &str) -> Tarball {
        let family = component.split('.').next().expect("family");
        let import = format!("{}_osiris", family.replace('-', "_"));
        let spec = format!(
            "name: {component}\nversion: {version}\nx-runtime:\n  driver: {import}.driver.Driver\n"
        );
        let tarball = Tarball {
            top: format!("{}-{version}", name.replace('-', "_")),
            items: Vec::new(),
            manifest: json!({
                "format_version": 1,
                "name": name,
                "version": version,
                "components": [{
                    "name": component,
                    "spec": format!("src/{import}/spec.yaml"),
                    "entry_point": format!("{import}:load_spec"),
                    "driver": format!("{import}.driver.Driver"),
                }],
                "dependencies": [],
                "python_dependencies": [],
                "osiris": ">=0.5.0,<1.0.0",
                "python": ">=3.11",
                "files": {},
            }),
        };
        tarball
            .file(
                "PKG-INFO",
                format!("Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n\nA component.\n"),
            )
            .file(
                format!("src/{import}/__init__.py"),
                "def load_spec():\n    return {}\n",
            )
            .file(
                format!("src/{import}/driver.py"),
                "class Driver:\n    def run(self, *, step_id, config, inputs=None, ctx=None):\n        return {}\n",
            )
            .file(format!("src/{import}/spec.yaml"), spec)
    }

    pub(crate) fn file(mut self, name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Tarball {
        self.items
            .push(Item::File(name.as_ref().to_vec(), data.as_ref().to_vec()));
        self
    }

    pub(crate) fn symlink(mut self, name: &str, target: &str) -> Tarball {
        self.items
            .push(Item::Symlink(name.as_bytes().to_vec(), target.to_owned()));
        self
    }

    /// Lists every file in the manifest with its sha256, as `ocp build` does.
    pub(crate) fn listed(mut self) -> Tarball {
        let mut files = serde_json::Map::new();
        for item in &self.items {
            if let Item::File(name, data) = item {
                files.insert(
                    String::from_utf8_lossy(name).into_owned(),
                    Value::String(hex::encode(Sha256::digest(data))),
                );
            }
        }
        self.manifest["files"] = Value::Object(files);
        self
    }

    /// The gzipped tar archive: every item under the top folder, then `ocp.json`.
    pub(crate) fn pack(&self) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut manifest = serde_json::to_vec_pretty(&self.manifest).expect("json");
        manifest.push(b'\n');
        let manifest = Item::File(b"ocp.json".to_vec(), manifest);
        for item in self.items.iter().chain([&manifest]) {
            let (name, kind, data, link) = match item {
                Item::File(name, data) => (name, tar::EntryType::Regular, data.as_slice(), None),
                Item::Symlink(name, target) => (
                    name,
                    tar::EntryType::Symlink,
                    &[][..],
                    Some(target.as_str()),
                ),
            };
            let mut path = format!("{}/", self.top).into_bytes();
            path.extend(name);
            if path.len() > 100 {
                // A GNU long name entry, as GNU tar writes it.
                let mut long = path.clone();
                long.push(0);
                let header = raw_header(
                    b"././@LongLink",
                    tar::EntryType::GNULongName,
                    long.len() as u64,
                    None,
                );
                builder.append(&header, long.as_slice()).expect("long name");
                path.truncate(100);
            }
            let header = raw_header(&path, kind, data.len() as u64, link);
            builder.append(&header, data).expect("append");
        }
        let tar_bytes = builder.into_inner().expect("tar");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &tar_bytes).expect("gzip");
        encoder.finish().expect("gzip")
    }
}

/// A tar header with `name` written byte for byte, so hostile names reach ocp unchanged.
pub(crate) fn raw_header(
    name: &[u8],
    kind: tar::EntryType,
    size: u64,
    link: Option<&str>,
) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(946_684_800);
    let old = header.as_old_mut();
    old.name[..name.len()].copy_from_slice(name);
    if let Some(link) = link {
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_cksum();
    header
}

/// The real minisign, without a password in its environment.
pub(crate) fn minisign() -> Command {
    let mut command = Command::new("minisign");
    command.env_remove("MINISIGN_PASSWORD");
    command
}

/// A user with a key of their own, a trusted signer `mallory` (the hostile author), and a
/// virtual environment with pip and setuptools in which a good package is already installed
/// (so the index, the store and the lock file exist before the attack).
pub(crate) struct World {
    pub(crate) sandbox: Sandbox,
    pub(crate) env: PathBuf,
    pub(crate) mallory: PathBuf,
}

impl World {
    pub(crate) fn new() -> World {
        World::with_env(|env| {
            python::venv(env, true);
        })
    }

    pub(crate) fn with_env(make_env: impl FnOnce(&Path)) -> World {
        let sandbox = Sandbox::new();
        run_ok(sandbox.ocp().args(["key", "generate", "--no-password"]));
        let mallory = sandbox.dir.path().join("mallory.key");
        let public = sandbox.dir.path().join("mallory.pub");
        run_ok(
            minisign()
                .args(["-G", "-W", "-p"])
                .arg(&public)
                .arg("-s")
                .arg(&mallory),
        );
        run_ok(sandbox.ocp().args(["key", "trust", "mallory"]).arg(&public));
        let env = sandbox.dir.path().join("venv");
        make_env(&env);
        let world = World {
            sandbox,
            env,
            mallory,
        };
        let good = world.write(&Tarball::ocp("good.extractor", "1.0.0").listed(), "good");
        let output = world.install(&good);
        assert!(output.status.success(), "{}", stderr(&output));
        world
    }

    /// Writes the tarball to the work folder and signs it as mallory, with the claim ocp
    /// writes (package name, version and sha256 in the trusted comment).
    pub(crate) fn write(&self, tarball: &Tarball, file: &str) -> PathBuf {
        let path = self.sandbox.work().join(format!("{file}.tar.gz"));
        let bytes = tarball.pack();
        fs::write(&path, &bytes).expect("write the tarball");
        let claim = format!(
            "ocp-package:{} version:{} sha256:{}",
            tarball.manifest["name"].as_str().unwrap_or_default(),
            tarball.manifest["version"].as_str().unwrap_or_default(),
            hex::encode(Sha256::digest(&bytes))
        );
        run_ok(
            minisign()
                .arg("-S")
                .arg("-s")
                .arg(&self.mallory)
                .arg("-m")
                .arg(&path)
                .arg("-t")
                .arg(&claim),
        );
        path
    }

    pub(crate) fn install(&self, tarball: &Path) -> Output {
        run(self
            .sandbox
            .ocp()
            .arg("install")
            .arg(tarball)
            .args(["--no-python-deps", "--osiris-version", "0.5.7", "--env"])
            .arg(&self.env))
    }

    pub(crate) fn state(&self) -> BTreeMap<String, String> {
        sandbox_state(&self.sandbox)
    }

    pub(crate) fn site_packages(&self) -> PathBuf {
        python::site_packages(&self.env)
    }

    /// Writes and signs `tarball`, installs it, and asserts that ocp refused it with every
    /// `expected` text, exit status 1, and nothing changed.
    pub(crate) fn assert_install_refused(&self, tarball: &Tarball, expected: &[&str]) {
        let path = self.write(tarball, "hostile");
        let before = self.state();
        let output = self.install(&path);
        assert_refused(&output, expected);
        assert_same_tree("the sandbox", &before, &self.state());
    }
}

/// Everything in the sandbox but the download cache and git's record of the index clone's
/// last update (`FETCH_HEAD`, `ORIG_HEAD` and the reflog change on every update, whatever the
/// command; the clone's refs, objects and files are compared).
pub(crate) fn sandbox_state(sandbox: &Sandbox) -> BTreeMap<String, String> {
    tree_state(sandbox.dir.path())
        .into_iter()
        .filter(|(path, _)| {
            let git_bookkeeping = path.starts_with("home/index/checkouts/")
                && ["/.git/FETCH_HEAD", "/.git/ORIG_HEAD"]
                    .iter()
                    .any(|end| path.ends_with(end))
                || path.contains("/.git/logs/");
            !path.starts_with("home/cache") && !git_bookkeeping
        })
        .collect()
}

pub(crate) fn assert_refused(output: &Output, expected: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    // Status lines (indented, `   Resolved ...`) may come first; then the error.
    let error = text
        .lines()
        .position(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no `error:` line in:\n{text}"));
    assert!(
        text.lines().take(error).all(|line| line.starts_with(' ')),
        "{text}"
    );
    for part in expected {
        assert!(text.contains(part), "expected {part:?} in:\n{text}");
    }
}

/// A user who published `base.processor` and `shop.extractor` 0.1.0 to the default local
/// index with their own key, and installed `base-osiris` (so the store and `ocp.lock` exist).
pub(crate) struct Registry {
    pub(crate) sandbox: Sandbox,
    pub(crate) env: PathBuf,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        let sandbox = Sandbox::new();
        run_ok(sandbox.ocp().args(["key", "generate", "--no-password"]));
        let registry = Registry {
            env: sandbox.dir.path().join("venv"),
            sandbox,
        };
        registry.publish("base.processor", None);
        registry.publish("shop.extractor", None);
        python::venv(&registry.env, false);
        let output = registry.install(&["base-osiris", "--no-python-deps"]);
        assert!(output.status.success(), "{}", stderr(&output));
        registry
    }

    /// `ocp new` then `ocp publish` (with `key`, or the user's own key); returns the package.
    pub(crate) fn publish(&self, component: &str, key: Option<&Path>) -> PathBuf {
        let root = self.sandbox.work().join(component);
        run_ok(
            self.sandbox
                .ocp()
                .args(["new", component, "--author", "Jane Doe", "--path"])
                .arg(&root),
        );
        let mut publish = self.sandbox.ocp();
        publish.args(["publish", "--path"]).arg(&root);
        if let Some(key) = key {
            publish.arg("--key").arg(key);
        }
        run_ok(&mut publish);
        root
    }

    /// Someone with write access to the index repository (but no owner's key) changes it.
    pub(crate) fn push_edit(&self, edit: impl FnOnce(&Path)) {
        let clone = self.sandbox.dir.path().join("write-access");
        let bare = self.sandbox.home().join("index/default.git");
        git(
            self.sandbox.dir.path(),
            &[
                "clone",
                "--quiet",
                &bare.display().to_string(),
                "write-access",
            ],
        );
        edit(&clone);
        git(&clone, &["commit", "--quiet", "--all", "--message", "edit"]);
        git(&clone, &["push", "--quiet"]);
        fs::remove_dir_all(&clone).expect("remove the clone");
        // Bring ocp's own clone up to date, so the snapshot taken next is the state the
        // install starts from.
        run_ok(self.sandbox.ocp().args(["search", "osiris"]));
    }

    /// Edits the newest entry of `package` (at its sharded path, `sh/op/shop-osiris`).
    pub(crate) fn edit_entry(&self, package: &str, edit: impl FnOnce(&Path, &mut Value)) {
        let shard = format!("{}/{}/{package}", &package[..2], &package[2..4]);
        self.push_edit(|clone| {
            let path = clone.join("packages").join(&shard);
            let text = fs::read_to_string(&path).expect("the entry file");
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let last = lines.pop().expect("an entry");
            let mut entry: Value = serde_json::from_str(&last).expect("json");
            edit(clone, &mut entry);
            lines.push(entry.to_string());
            fs::write(&path, lines.join("\n") + "\n").expect("write the entry");
        });
    }

    /// Edits the newest entry of `package` and signs the edited entry with the owner's own
    /// key (the user's `ocp.key`), as a careless or malicious owner's tool could: the
    /// signature holds, so only the check of the tarball against its entry stands between
    /// the edit and the environment.
    pub(crate) fn edit_entry_as_owner(&self, package: &str, edit: impl FnOnce(&mut Value)) {
        let key_text = fs::read_to_string(self.sandbox.home().join("keys/ocp.key")).expect("key");
        self.edit_entry(package, |clone, entry| {
            edit(entry);
            let mut edited: ocp::index::format::IndexEntry =
                serde_json::from_value(entry.clone()).expect("an index entry");
            let config: ocp::index::format::IndexConfig = serde_json::from_str(
                &fs::read_to_string(clone.join("config.json")).expect("config.json"),
            )
            .expect("an index config");
            let tarball =
                fs::read(clone.join(config.download_location(&edited.name, &edited.version)))
                    .expect("the tarball, stored in the index");
            let key = ocp::signing::SecretKeyFile::parse(&key_text)
                .and_then(|file| file.open(None))
                .expect("the owner's key");
            let claim = ocp::signing::PackageClaim {
                name: edited.name.clone(),
                version: edited.version.clone(),
                sha256: edited.sha256.clone(),
                entry: Some(edited.signed_fields().digest().to_hex()),
                timestamp: Some(1_767_225_600),
            };
            let signature = ocp::signing::SignatureFile::sign(
                &key,
                tarball.as_slice(),
                &claim.to_trusted_comment(),
                "signature from ocp secret key",
            )
            .expect("sign");
            edited.signature = signature.to_text();
            *entry = serde_json::to_value(&edited).expect("json");
        });
    }

    /// A new key pair without a password, `<name>.key` and `<name>.pub`; returns the secret
    /// key's path and its key id.
    pub(crate) fn new_key(&self, name: &str) -> (PathBuf, String) {
        let path = self.sandbox.dir.path().join(format!("{name}.key"));
        let output = run_ok(
            self.sandbox
                .ocp()
                .args([
                    "key",
                    "generate",
                    "--no-password",
                    "--format",
                    "json",
                    "--output",
                ])
                .arg(&path),
        );
        let report: Value = serde_json::from_slice(&output.stdout).expect("json");
        let key_id = report["key_id"].as_str().expect("key id").to_owned();
        (path, key_id)
    }

    pub(crate) fn install(&self, args: &[&str]) -> Output {
        run(self
            .sandbox
            .ocp()
            .arg("install")
            .args(args)
            .args(["--osiris-version", "0.5.7", "--env"])
            .arg(&self.env))
    }

    pub(crate) fn assert_install_refused(&self, args: &[&str], expected: &[&str]) {
        let before = sandbox_state(&self.sandbox);
        let output = self.install(args);
        assert_refused(&output, expected);
        assert_same_tree("the sandbox", &before, &sandbox_state(&self.sandbox));
    }
}
