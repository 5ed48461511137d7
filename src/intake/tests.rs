//! A sample OCP built in memory, and what [`read_ocp`] refuses in it. The store's tests use
//! the same sample.

use super::*;
use crate::build::{ArchiveEntry as BuildEntry, ManifestComponent, write_tar_gz};
use crate::index::format::IndexEntry;

/// The parts of a sample OCP, to edit before it is packed.
pub(crate) struct Sample {
    pub top: String,
    pub files: Vec<(String, Vec<u8>)>,
    pub manifest: Manifest,
    /// Recompute `manifest.files` from `files` after the edit.
    pub fix_hashes: bool,
}

pub(crate) const SPEC: &str =
    "name: demo.extractor\nversion: 1.0.0\nx-runtime:\n  driver: demo_osiris.driver.Driver\n";

fn sample() -> Sample {
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            "PKG-INFO".into(),
            b"Metadata-Version: 2.2\nName: demo-osiris\nVersion: 1.0.0\n\nA demo.\n".to_vec(),
        ),
        ("README.md".into(), b"# demo\n".to_vec()),
        (
            "src/demo_osiris/__init__.py".into(),
            b"def load_spec():\n    return {}\n".to_vec(),
        ),
        (
            "src/demo_osiris/driver.py".into(),
            b"class Driver:\n    pass\n".to_vec(),
        ),
        ("src/demo_osiris/spec.yaml".into(), SPEC.as_bytes().to_vec()),
    ];
    Sample {
        top: "demo_osiris-1.0.0".into(),
        files,
        manifest: Manifest {
            format_version: 1,
            name: "demo-osiris".into(),
            version: "1.0.0".into(),
            components: vec![ManifestComponent {
                name: "demo.extractor".into(),
                spec: "src/demo_osiris/spec.yaml".into(),
                entry_point: "demo_osiris:load_spec".into(),
                driver: Some("demo_osiris.driver.Driver".into()),
            }],
            dependencies: Vec::new(),
            python_dependencies: vec!["pyyaml>=6.0".into()],
            osiris: ">=0.5.0,<1.0.0".into(),
            python: ">=3.11".into(),
            files: Default::default(),
        },
        fix_hashes: true,
    }
}

/// A valid OCP of `demo-osiris` 1.0.0 after `edit`, and its sha256.
pub(crate) fn sample_ocp(edit: impl FnOnce(&mut Sample)) -> (Vec<u8>, Checksum) {
    let mut sample = sample();
    edit(&mut sample);
    if sample.fix_hashes {
        sample.manifest.files = sample
            .files
            .iter()
            .map(|(path, bytes)| (path.clone(), Checksum::of_bytes(bytes).to_hex()))
            .collect();
    }
    let mut entries: Vec<BuildEntry> = sample
        .files
        .iter()
        .map(|(path, bytes)| BuildEntry {
            path: path.clone(),
            bytes: bytes.clone(),
            executable: false,
        })
        .collect();
    entries.push(BuildEntry {
        path: "ocp.json".into(),
        bytes: sample.manifest.to_json_bytes(),
        executable: false,
    });
    let bytes = write_tar_gz(&sample.top, &entries, 946_684_800).expect("archive");
    let sha256 = Checksum::of_bytes(&bytes);
    (bytes, sha256)
}

/// The index entry of the unedited sample.
pub(crate) fn sample_entry(sha256: &Checksum) -> IndexEntry {
    IndexEntry::from_manifest(
        &sample().manifest,
        sha256.to_hex(),
        String::new(),
        "0123456789ABCDEF".into(),
        "2026-01-01T00:00:00Z".into(),
    )
}

type SampleEdit = Box<dyn FnOnce(&mut Sample)>;
type EntryEdit = Box<dyn Fn(&mut IndexEntry)>;

fn read(bytes: &[u8]) -> Result<OcpArchive, IntakeError> {
    read_ocp(bytes, &Limits::default(), &mut Discard)
}

fn refusal(edit: impl FnOnce(&mut Sample)) -> String {
    let (bytes, _) = sample_ocp(edit);
    let error = read(&bytes).expect_err("refused");
    format!("{:#}", anyhow::Error::new(error))
}

#[test]
fn a_valid_ocp_reads_with_its_installed_files() {
    let (bytes, sha256) = sample_ocp(|_| {});
    let archive = read(&bytes).expect("valid");
    let manifest = &archive.manifest;
    assert_eq!(manifest.name.as_str(), "demo-osiris");
    assert_eq!(
        manifest.code.packages.iter().collect::<Vec<_>>(),
        vec!["demo_osiris"]
    );
    let installed: Vec<String> = manifest
        .installed_files()
        .into_iter()
        .map(|(_, site)| site)
        .collect();
    assert_eq!(
        installed,
        vec![
            "demo_osiris/__init__.py",
            "demo_osiris/driver.py",
            "demo_osiris/spec.yaml",
            "components/demo.extractor/spec.yaml",
        ]
    );
    check_entry(manifest, &sample_entry(&sha256)).expect("agrees");
}

#[test]
fn every_disagreement_inside_the_tarball_is_refused() {
    let cases: Vec<(&str, SampleEdit)> = vec![
        (
            "not listed in its `ocp.json`",
            Box::new(|s: &mut Sample| {
                s.fix_hashes = false;
                s.manifest.files = sample_files_hashes();
                s.files
                    .push(("src/demo_osiris/extra.py".into(), b"x".to_vec()));
            }),
        ),
        (
            "but its `ocp.json` lists",
            Box::new(|s: &mut Sample| {
                s.fix_hashes = false;
                s.manifest.files = sample_files_hashes();
                s.files[1].1 = b"changed".to_vec();
            }),
        ),
        (
            "but not in the archive",
            Box::new(|s: &mut Sample| {
                s.fix_hashes = false;
                s.manifest.files = sample_files_hashes();
                s.files.remove(1);
            }),
        ),
        (
            "packed as `demo_osiris-1.0.0`",
            Box::new(|s: &mut Sample| s.top = "other-1.0.0".into()),
        ),
        (
            "`PKG-INFO` names osiris-pipeline 0.9.9",
            Box::new(|s: &mut Sample| {
                s.files[0].1 =
                    b"Metadata-Version: 2.2\nName: osiris-pipeline\nVersion: 0.9.9\n".to_vec()
            }),
        ),
        (
            "has `Name` twice",
            Box::new(|s: &mut Sample| {
                s.files[0].1 =
                    b"Metadata-Version: 2.2\nName: demo-osiris\nName: pip\nVersion: 1.0.0\n"
                        .to_vec()
            }),
        ),
        (
            "Osiris would file it under that name",
            Box::new(|s: &mut Sample| {
                s.files[4].1 = SPEC
                    .replace("demo.extractor", "mysql.extractor")
                    .into_bytes()
            }),
        ),
        (
            "names the driver `os.system`",
            Box::new(|s: &mut Sample| {
                s.files[4].1 = SPEC
                    .replace("demo_osiris.driver.Driver", "os.system")
                    .into_bytes()
            }),
        ),
        (
            "is Osiris itself",
            Box::new(|s: &mut Sample| s.manifest.name = "osiris_pipeline".into()),
        ),
        (
            "not written in its normalized form",
            Box::new(|s: &mut Sample| s.manifest.version = "v1.0.0".into()),
        ),
        (
            "component name",
            Box::new(|s: &mut Sample| s.manifest.components[0].name = "../../../../tmp/x".into()),
        ),
        (
            "is absolute",
            Box::new(|s: &mut Sample| s.manifest.components[0].spec = "/etc/shadow".into()),
        ),
        (
            "contains `..`",
            Box::new(|s: &mut Sample| {
                s.manifest.components[0].spec = "../../../../keys/ocp.key".into()
            }),
        ),
        (
            "not an entry point value",
            Box::new(|s: &mut Sample| {
                s.manifest.components[0].entry_point =
                    "demo_osiris:load_spec\n[console_scripts]\nevil = os:system".into()
            }),
        ),
        (
            "outside the package's own import packages",
            Box::new(|s: &mut Sample| {
                s.manifest.components[0].entry_point = "pip._internal:main".into()
            }),
        ),
        (
            "starts with `-`",
            Box::new(|s: &mut Sample| {
                s.manifest.python_dependencies = vec!["--no-build-isolation".into()]
            }),
        ),
        (
            "not a Python module",
            Box::new(|s: &mut Sample| {
                s.files
                    .push(("src/evil.pth".into(), b"import os\n".to_vec()))
            }),
        ),
        (
            "`sitecustomize`",
            Box::new(|s: &mut Sample| {
                s.files
                    .push(("src/sitecustomize.py".into(), b"import os\n".to_vec()))
            }),
        ),
        (
            "`src/pip-99.0.dist-info` is not an importable name",
            Box::new(|s: &mut Sample| {
                s.files.push((
                    "src/pip-99.0.dist-info/METADATA".into(),
                    b"Name: pip\n".to_vec(),
                ))
            }),
        ),
    ];
    for (expected, edit) in cases {
        let error = refusal(edit);
        assert!(error.contains(expected), "{expected}: {error}");
    }
}

fn sample_files_hashes() -> std::collections::BTreeMap<String, String> {
    sample()
        .files
        .iter()
        .map(|(path, bytes)| (path.clone(), Checksum::of_bytes(bytes).to_hex()))
        .collect()
}

#[test]
fn a_tarball_that_is_not_an_ocp_says_so() {
    assert!(matches!(
        read(b"plain text"),
        Err(IntakeError::Archive(ArchiveError::NotAnArchive))
    ));
    let bytes = write_tar_gz(
        "x-1.0",
        &[BuildEntry {
            path: "a.txt".into(),
            bytes: b"a".to_vec(),
            executable: false,
        }],
        0,
    )
    .expect("archive");
    assert!(matches!(read(&bytes), Err(IntakeError::NoManifest)));
}

#[test]
fn the_entry_must_describe_the_tarball() {
    let (bytes, sha256) = sample_ocp(|_| {});
    let manifest = read(&bytes).expect("valid").manifest;
    let edits: Vec<(&str, EntryEdit)> = vec![
        (
            "components",
            Box::new(|e| e.components = vec!["other.extractor".into()]),
        ),
        ("version", Box::new(|e| e.version = "1.0.1".into())),
        ("the package", Box::new(|e| e.name = "other-osiris".into())),
        (
            "dependencies",
            Box::new(|e| {
                e.dependencies = vec![crate::index::format::EntryDependency {
                    name: "evil-osiris".into(),
                    requirement: String::new(),
                }]
            }),
        ),
        (
            "Python requirements",
            Box::new(|e| e.python_dependencies = vec!["evil".into()]),
        ),
        ("the Osiris range", Box::new(|e| e.osiris = ">=0.1".into())),
        ("the Python range", Box::new(|e| e.python = ">=3.8".into())),
    ];
    for (field, edit) in edits {
        let mut entry = sample_entry(&sha256);
        edit(&mut entry);
        let error = check_entry(&manifest, &entry).expect_err(field).to_string();
        assert!(error.contains(&format!("says {field}")), "{field}: {error}");
    }
    // Spelling that means the same is the same.
    let mut entry = sample_entry(&sha256);
    entry.osiris = ">=0.5.0, <1.0.0".into();
    entry.name = "Demo_Osiris".into();
    check_entry(&manifest, &entry).expect("same range, same name");
}
