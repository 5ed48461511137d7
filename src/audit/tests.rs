use std::fs;
use std::time::{Duration, SystemTime};

use super::*;
use crate::record::RecordRow;

/// A site-packages folder with one OCP (`acme_osiris`, its component spec and dist-info)
/// and one distribution pip installed (which claims `pip-thing.pth`).
struct Site {
    dir: tempfile::TempDir,
}

const FILES: &[(&str, &str)] = &[
    ("acme_osiris/__init__.py", "def load_spec(): ...\n"),
    ("acme_osiris/driver.py", "class Driver: ...\n"),
    (
        "components/acme.extractor/spec.yaml",
        "name: acme.extractor\n",
    ),
    (
        "acme_osiris-1.0.0.dist-info/METADATA",
        "Name: acme-osiris\n",
    ),
    ("acme_osiris-1.0.0.dist-info/INSTALLER", "ocp\n"),
    ("acme_osiris-1.0.0.dist-info/ocp_install.json", "{}\n"),
];

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let site = Site { dir };
        let mut rows = Vec::new();
        for (path, text) in FILES {
            site.write(path, text);
            rows.push(RecordRow::of(path, text.as_bytes()).expect("row"));
        }
        rows.push(RecordRow::unhashed("acme_osiris-1.0.0.dist-info/RECORD").expect("row"));
        site.write_bytes(
            "acme_osiris-1.0.0.dist-info/RECORD",
            &crate::record::to_bytes(&rows),
        );
        let pip_rows = [RecordRow::of("pip-thing.pth", b"import os\n").expect("row")];
        site.write("pip_thing-1.0.dist-info/METADATA", "Name: pip-thing\n");
        site.write_bytes(
            "pip_thing-1.0.dist-info/RECORD",
            &crate::record::to_bytes(&pip_rows),
        );
        site.write("pip-thing.pth", "import os\n");
        // Written before the install, as `uv venv` writes `_virtualenv.pth`.
        site.write("_virtualenv.pth", "import _virtualenv\n");
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(site.path("_virtualenv.pth"))
            .and_then(|file| file.set_modified(old))
            .expect("backdate");
        site
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        self.write_bytes(relative, text.as_bytes());
    }

    fn write_bytes(&self, relative: &str, bytes: &[u8]) {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, bytes).expect("write");
    }

    fn findings(&self) -> Vec<(Kind, Option<String>)> {
        let ocps = [InstalledOcp {
            name: "acme-osiris".to_owned(),
            version: "1.0.0".to_owned(),
            dist_info: self.path("acme_osiris-1.0.0.dist-info"),
        }];
        let dist_infos = [
            self.path("acme_osiris-1.0.0.dist-info"),
            self.path("pip_thing-1.0.dist-info"),
        ];
        check_files(&Environment {
            site_packages: self.dir.path(),
            ocps: &ocps,
            dist_infos: &dist_infos,
        })
        .into_iter()
        .map(|finding| (finding.kind, finding.path))
        .collect()
    }
}

fn at(kind: Kind, path: &str) -> (Kind, Option<String>) {
    (kind, Some(path.to_owned()))
}

#[test]
fn an_untouched_install_has_no_findings() {
    assert_eq!(Site::new().findings(), Vec::new());
}

#[test]
fn changed_and_missing_files_are_found() {
    let site = Site::new();
    site.write("acme_osiris/driver.py", "class Driver: steal()\n");
    site.write(
        "components/acme.extractor/spec.yaml",
        "name: acme.extractoR\n",
    );
    fs::remove_file(site.path("acme_osiris/__init__.py")).expect("remove");
    assert_eq!(
        site.findings(),
        vec![
            at(Kind::Modified, "acme_osiris/driver.py"),
            at(Kind::Modified, "components/acme.extractor/spec.yaml"),
            at(Kind::Missing, "acme_osiris/__init__.py"),
        ]
    );
}

#[test]
fn a_file_replaced_by_a_link_to_the_same_bytes_is_still_found() {
    let site = Site::new();
    let copy = site.path("elsewhere.py");
    fs::copy(site.path("acme_osiris/driver.py"), &copy).expect("copy");
    fs::remove_file(site.path("acme_osiris/driver.py")).expect("remove");
    crate::fsutil::symlink(&copy, &site.path("acme_osiris/driver.py")).expect("link");
    assert_eq!(
        site.findings(),
        vec![at(Kind::Modified, "acme_osiris/driver.py")]
    );
}

#[test]
fn dropped_files_and_bytecode_without_a_checked_source_are_found() {
    let site = Site::new();
    site.write("acme_osiris/extra.py", "import os\n");
    site.write("acme_osiris-1.0.0.dist-info/direct_url.json", "{}\n");
    // Bytecode Python wrote for a claimed module: timestamp-based and checked hash-based.
    let mut timestamp = vec![0u8; 16];
    timestamp[..4].copy_from_slice(&[0xa7, 0x0d, 0x0d, 0x0a]);
    site.write_bytes("acme_osiris/__pycache__/driver.cpython-311.pyc", &timestamp);
    let mut checked = timestamp.clone();
    checked[4] = 0b11;
    site.write_bytes(
        "acme_osiris/__pycache__/__init__.cpython-311.opt-1.pyc",
        &checked,
    );
    // Unchecked hash-based bytecode, and bytecode of no claimed module.
    let mut unchecked = timestamp.clone();
    unchecked[4] = 0b01;
    site.write_bytes("acme_osiris/__pycache__/driver.cpython-312.pyc", &unchecked);
    site.write_bytes("acme_osiris/__pycache__/evil.cpython-311.pyc", &timestamp);
    site.write_bytes("acme_osiris/evil.pyc", &timestamp);
    assert_eq!(
        site.findings(),
        vec![
            at(
                Kind::Unclaimed,
                "acme_osiris-1.0.0.dist-info/direct_url.json"
            ),
            at(
                Kind::Unclaimed,
                "acme_osiris/__pycache__/driver.cpython-312.pyc"
            ),
            at(
                Kind::Unclaimed,
                "acme_osiris/__pycache__/evil.cpython-311.pyc"
            ),
            at(Kind::Unclaimed, "acme_osiris/evil.pyc"),
            at(Kind::Unclaimed, "acme_osiris/extra.py"),
        ]
    );
}

#[test]
fn a_pth_file_added_after_install_is_found_and_claimed_ones_are_not() {
    let site = Site::new();
    std::thread::sleep(Duration::from_millis(20));
    site.write("zz-evil.pth", "import evil\n");
    assert_eq!(
        site.findings(),
        vec![(Kind::Pth, Some("zz-evil.pth".to_owned()))]
    );
}

#[test]
fn a_record_that_cannot_vouch_for_its_files_is_a_finding() {
    let site = Site::new();
    let rows = [
        RecordRow::of("acme_osiris/__init__.py", b"def load_spec(): ...\n").expect("row"),
        RecordRow::unhashed("acme_osiris/driver.py").expect("row"),
        RecordRow::of("../../bin/evil", b"x").expect("row"),
    ];
    site.write_bytes(
        "acme_osiris-1.0.0.dist-info/RECORD",
        &crate::record::to_bytes(&rows),
    );
    let findings = site.findings();
    assert!(
        findings.contains(&at(Kind::Record, "acme_osiris/driver.py")),
        "{findings:?}"
    );
    assert!(
        findings.contains(&at(Kind::Record, "../../bin/evil")),
        "{findings:?}"
    );

    fs::remove_file(site.path("acme_osiris-1.0.0.dist-info/RECORD")).expect("remove");
    assert_eq!(site.findings(), vec![(Kind::Record, None)]);
}
