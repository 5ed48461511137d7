//! Transactions on a virtual environment made on disk (no interpreter needed): rollback,
//! conflicts, and a stop after every single step of a commit and of a recovery, each of
//! which must leave the environment and the lock file exactly as before or exactly as after.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::recovery::Steps;
use super::*;
use crate::build::{Manifest, ManifestComponent};
use crate::store::StoredPackage;

struct Fixture {
    dir: tempfile::TempDir,
    env: PythonEnv,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("venv");
        fs::create_dir_all(root.join("lib/python3.11/site-packages/components")).expect("mkdir");
        fs::create_dir_all(root.join("bin")).expect("mkdir");
        fs::create_dir_all(dir.path().join("project")).expect("mkdir");
        fs::write(root.join("pyvenv.cfg"), "version = 3.11.7\n").expect("cfg");
        let env = PythonEnv::from_env_dir(&root).expect("env");
        Fixture { dir, env }
    }

    /// A stored package `<family>-osiris` with the component `<family>.extractor`.
    fn package(&self, family: &str, version: &str, body: &str) -> StoredPackage {
        let stored = self.dir.path().join(format!("store/{family}-{version}"));
        let module = format!("{family}_osiris");
        fs::create_dir_all(stored.join(format!("src/{module}/sub"))).expect("mkdir");
        for (file, text) in [
            ("__init__.py", body.to_owned()),
            ("sub/extra.py", format!("{body}# {version}\n")),
            (
                "spec.yaml",
                format!("name: {family}.extractor\nversion: {version}\n"),
            ),
        ] {
            fs::write(stored.join(format!("src/{module}/{file}")), text).expect("write");
        }
        let name = format!("{family}-osiris");
        fs::write(
            stored.join("PKG-INFO"),
            format!("Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n"),
        )
        .expect("write");
        let manifest = Manifest {
            format_version: 1,
            name,
            version: version.into(),
            components: vec![ManifestComponent {
                name: format!("{family}.extractor"),
                spec: format!("src/{module}/spec.yaml"),
                entry_point: format!("{module}:load_spec"),
                driver: None,
            }],
            dependencies: Vec::new(),
            python_dependencies: Vec::new(),
            osiris: String::new(),
            python: String::new(),
            files: [
                "PKG-INFO".to_owned(),
                format!("src/{module}/__init__.py"),
                format!("src/{module}/sub/extra.py"),
                format!("src/{module}/spec.yaml"),
            ]
            .into_iter()
            .map(|path| (path, "0".repeat(64)))
            .collect(),
        };
        StoredPackage {
            dir: stored,
            manifest: crate::intake::CheckedManifest::parse(&manifest).expect("valid manifest"),
        }
    }

    fn lockfile(&self) -> PathBuf {
        self.dir.path().join("project/ocp.lock")
    }

    fn site(&self) -> &Path {
        &self.env.site_packages
    }

    /// Installs `versions` of `families` in one committed transaction, with a lock file.
    fn install(&self, families: &[&str], version: &str) {
        let lock = ExclusiveLock::acquire(&self.env, || {}).expect("lock");
        let mut txn = Transaction::begin(&self.env, &lock).expect("begin");
        for family in families {
            txn.install(
                &self.package(family, version, &format!("V = '{version}'\n")),
                &receipt(family, version),
            )
            .expect("install");
        }
        txn.prepare(Some((
            &self.lockfile(),
            format!("lock {version}\n").as_bytes(),
        )))
        .expect("prepare");
        txn.commit().expect("commit");
    }

    /// Every path of the environment and the project, with kind, mode and contents.
    fn snapshot(&self) -> BTreeMap<String, String> {
        use std::os::unix::fs::PermissionsExt;
        let mut out = BTreeMap::new();
        for root in [self.env.root.clone(), self.dir.path().join("project")] {
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                for entry in fs::read_dir(&dir).expect("read").flatten() {
                    let path = entry.path();
                    let meta = fs::symlink_metadata(&path).expect("stat");
                    let relative = path
                        .strip_prefix(self.dir.path())
                        .expect("inside")
                        .display()
                        .to_string();
                    let mode = meta.permissions().mode() & 0o7777;
                    let state = if meta.is_dir() {
                        stack.push(path);
                        format!("dir {mode:o}")
                    } else {
                        format!("file {mode:o} {:?}", fs::read(&path).expect("read"))
                    };
                    out.insert(relative, state);
                }
            }
        }
        out
    }
}

fn receipt(family: &str, version: &str) -> Receipt {
    Receipt {
        name: format!("{family}-osiris"),
        version: version.into(),
        sha256: String::new(),
        key_id: String::new(),
        index: "test".into(),
        requested: true,
        components: vec![format!("{family}.extractor")],
        dependencies: Vec::new(),
    }
}

/// A distribution as uv would add it: a module, a script in `bin/`, and a RECORD.
fn add_distribution(fixture: &Fixture) {
    let site = fixture.site();
    fs::create_dir_all(site.join("extra-1.0.dist-info")).expect("mkdir");
    fs::create_dir_all(site.join("extra")).expect("mkdir");
    fs::write(site.join("extra/__init__.py"), "X = 1\n").expect("write");
    fs::write(fixture.env.root.join("bin/extra"), "#!python\n").expect("write");
    fs::write(
        site.join("extra-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: extra\nVersion: 1.0\n",
    )
    .expect("write");
    fs::write(
        site.join("extra-1.0.dist-info/RECORD"),
        "extra/__init__.py,,\n../../../bin/extra,,\n../../../../outside,,\nextra-1.0.dist-info/RECORD,,\n",
    )
    .expect("write");
}

fn leftovers(fixture: &Fixture) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(fixture.site())
        .expect("read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TXN_PREFIX))
        .collect();
    out.extend(
        fs::read_dir(fixture.dir.path().join("project"))
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(TXN_PREFIX)),
    );
    out
}

/// Upgrades `a` and `b` from 1.0.0 to 2.0.0 (with a Python requirement that adds a
/// distribution), stopping after `stop` steps of the commit; `None` runs it through.
fn upgrade(fixture: &Fixture, stop: Option<usize>) -> Result<(), ActivateError> {
    let lock = ExclusiveLock::acquire(&fixture.env, || {}).expect("lock");
    let mut txn = Transaction::begin(&fixture.env, &lock)?;
    for family in ["a", "b"] {
        txn.install(
            &fixture.package(family, "2.0.0", "V = '2.0.0'\n"),
            &receipt(family, "2.0.0"),
        )?;
    }
    txn.prepare(Some((&fixture.lockfile(), b"lock 2.0.0\n")))?;
    txn.python_started()?;
    add_distribution(fixture);
    txn.python_finished()?;
    if let Some(stop) = stop {
        txn.stop_after(stop);
    }
    txn.commit()
}

#[test]
fn a_rollback_restores_every_package_and_the_lock_file() {
    let fixture = Fixture::new();
    fixture.install(&["a", "b"], "1.0.0");
    let before = fixture.snapshot();
    let lock = ExclusiveLock::acquire(&fixture.env, || {}).expect("lock");
    let mut txn = Transaction::begin(&fixture.env, &lock).expect("begin");
    for family in ["a", "b", "c"] {
        txn.install(
            &fixture.package(family, "2.0.0", "NEW\n"),
            &receipt(family, "2.0.0"),
        )
        .expect("install");
    }
    txn.prepare(Some((&fixture.lockfile(), b"lock 2.0.0\n")))
        .expect("prepare");
    txn.python_started().expect("python");
    add_distribution(&fixture);
    txn.rollback().expect("rollback");
    assert_eq!(fixture.snapshot(), before);
    assert!(leftovers(&fixture).is_empty());
}

#[test]
fn every_stop_in_a_commit_recovers_to_before_or_after() {
    let mut outcomes = Vec::new();
    let mut before = None;
    for stop in 0.. {
        let fixture = Fixture::new();
        fixture.install(&["a", "b"], "1.0.0");
        let start = fixture.snapshot();
        assert_eq!(*before.get_or_insert_with(|| start.clone()), start);
        match upgrade(&fixture, Some(stop)) {
            Err(ActivateError::SimulatedKill) => {}
            Err(ActivateError::Unfinished(error)) if error.is_simulated_kill() => {}
            Ok(()) => {
                let after = fixture.snapshot();
                assert!(leftovers(&fixture).is_empty());
                // Every stop before the commit point gives "before", every one after it "after".
                let first_after = outcomes.iter().position(|o| *o == after);
                assert!(first_after.is_some(), "the commit point was never reached");
                for (index, outcome) in outcomes.iter().enumerate() {
                    let expected = if Some(index) < first_after {
                        before.as_ref()
                    } else {
                        Some(&after)
                    };
                    assert_eq!(Some(outcome), expected, "stop after {index} steps");
                }
                assert!(
                    stop > 10,
                    "only {stop} steps: the stops did not cover the moves"
                );
                return;
            }
            Err(other) => panic!("stop after {stop}: {other}"),
        }
        let lock = ExclusiveLock::acquire(&fixture.env, || {}).expect("lock");
        let report = recover(&fixture.env, &lock).expect("recover");
        assert_eq!(report.len(), 1, "stop after {stop}");
        assert!(leftovers(&fixture).is_empty(), "stop after {stop}");
        outcomes.push(fixture.snapshot());
    }
}

#[test]
fn a_recovery_stopped_at_any_step_is_finished_by_the_next() {
    // The full upgrade, for its "after" state and its number of steps.
    let reference = Fixture::new();
    reference.install(&["a", "b"], "1.0.0");
    let before = reference.snapshot();
    upgrade(&reference, None).expect("upgrade");
    let after = reference.snapshot();
    for stop in [2, 7, 12, 17, 40] {
        for recovery_stop in 0.. {
            let fixture = Fixture::new();
            fixture.install(&["a", "b"], "1.0.0");
            let result = upgrade(&fixture, Some(stop));
            let finished = result.is_ok();
            let steps = Steps::default();
            steps.stop_after(recovery_stop);
            let stopped = matches!(
                recovery::recover_with(&fixture.env, &steps),
                Err(ActivateError::SimulatedKill)
            );
            let lock = ExclusiveLock::acquire(&fixture.env, || {}).expect("lock");
            recover(&fixture.env, &lock).expect("recover");
            let state = fixture.snapshot();
            assert!(
                state == before || state == after,
                "commit stop {stop}, recovery stop {recovery_stop}"
            );
            assert!(leftovers(&fixture).is_empty());
            if !stopped || finished {
                break;
            }
        }
    }
}

/// Why a transaction installing `a` 1.0.0 (and `other`, if given) is refused; the
/// environment must be as it was afterwards.
fn refusal(fixture: &Fixture, other: Option<StoredPackage>) -> String {
    let before = fixture.snapshot();
    let lock = ExclusiveLock::acquire(&fixture.env, || {}).expect("lock");
    let mut txn = Transaction::begin(&fixture.env, &lock).expect("begin");
    txn.install(
        &fixture.package("a", "1.0.0", "X\n"),
        &receipt("a", "1.0.0"),
    )
    .expect("install");
    if let Some(other) = other {
        txn.install(&other, &receipt("other", "1.0.0"))
            .expect("install");
    }
    let error = txn.prepare(None).expect_err("refused").to_string();
    drop(txn);
    assert_eq!(fixture.snapshot(), before);
    error
}

#[test]
fn another_distributions_component_is_never_replaced() {
    let fixture = Fixture::new();
    fs::create_dir_all(fixture.site().join("components/a.extractor")).expect("mkdir");
    fs::write(
        fixture.site().join("components/a.extractor/spec.yaml"),
        "name: a.extractor\n",
    )
    .expect("write");
    let error = refusal(&fixture, None);
    assert!(
        error.contains("already provided by Osiris itself"),
        "{error}"
    );
}

#[test]
fn two_packages_of_one_transaction_cannot_place_one_file() {
    let fixture = Fixture::new();
    let mut other = fixture.package("a", "1.0.0", "Y\n");
    other.manifest.name = "other-osiris".parse().expect("a package name");
    other.manifest.components[0].name = "other.extractor".parse().expect("a component name");
    let error = refusal(&fixture, Some(other));
    assert!(
        error.contains(
            "`a_osiris/__init__.py` in site-packages already belongs to `a-osiris` 1.0.0"
        ),
        "{error}"
    );
}

#[test]
fn a_file_another_installer_placed_is_never_replaced() {
    let fixture = Fixture::new();
    fs::create_dir_all(fixture.site().join("a_osiris")).expect("mkdir");
    fs::write(fixture.site().join("a_osiris/__init__.py"), "MINE\n").expect("write");
    let error = refusal(&fixture, None);
    assert!(
        error.contains("already belongs to another installer"),
        "{error}"
    );
}

#[test]
fn uninstall_removes_several_packages_at_once_and_refuses_others() {
    let fixture = Fixture::new();
    fixture.install(&["a", "b"], "1.0.0");
    let lock = ExclusiveLock::acquire(&fixture.env, || {}).expect("lock");
    let mut txn = Transaction::begin(&fixture.env, &lock).expect("begin");
    assert_eq!(txn.remove("a.extractor").expect("remove").name, "a-osiris");
    txn.remove("b-osiris").expect("remove");
    assert!(matches!(
        txn.remove("c-osiris"),
        Err(ActivateError::NotInstalled { .. })
    ));
    txn.prepare(None).expect("prepare");
    txn.commit().expect("commit");
    let names: Vec<String> = fs::read_dir(fixture.site())
        .expect("read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["components".to_owned()], "{names:?}");
    assert!(installed_receipts(&fixture.env).expect("read").is_empty());
}

#[test]
fn finds_osiris_entry_points() {
    let text = "[console_scripts]\nshopify.extractor = x:y\n[osiris.components]\nshopify.extractor = shopify_osiris:load_spec\n";
    assert!(conflicts::declares(text, "shopify.extractor"));
    assert!(!conflicts::declares(
        "[console_scripts]\nshopify.extractor = x:y\n",
        "shopify.extractor"
    ));
}
