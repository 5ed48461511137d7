//! Property tests of the trust boundary for tarballs: the manifest parser and the unpacker.
//! Whatever a manifest says, parsing it is an error or a manifest whose every installed path
//! stays inside site-packages; whatever bytes an archive holds (a valid OCP with mutated
//! headers, or entries of any kind and name), reading it never panics, and unpacking it into
//! the store either refuses and leaves nothing behind, or writes only regular files and
//! folders inside the package's own folder.
//!
//! The number of cases is proptest's default (256), or `PROPTEST_CASES`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use ocp::build::{ArchiveEntry, Manifest, ManifestComponent, ManifestDependency, write_tar_gz};
use ocp::index::format::IndexEntry;
use ocp::intake::{CheckedManifest, Discard, Limits, read_ocp};
use ocp::model::RelativePath;
use ocp::store::Store;

/// Strings made of the pieces that hostile manifests use, so generated values hit the
/// interesting branches instead of being rejected as noise.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("demo".to_owned()),
        Just("demo_osiris".to_owned()),
        Just("src".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("/".to_owned()),
        Just(":".to_owned()),
        Just("\n".to_owned()),
        Just("-".to_owned()),
        Just(",".to_owned()),
        Just("spec.yaml".to_owned()),
        Just("sitecustomize".to_owned()),
        Just(".pth".to_owned()),
        Just("1.0.0".to_owned()),
        Just(">=".to_owned()),
        Just("extractor".to_owned()),
        "[a-z_]{1,6}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

fn sha() -> String {
    "0".repeat(64)
}

prop_compose! {
    fn hostile_manifest()(
        name in prop_oneof![3 => Just("demo-osiris".to_owned()), 1 => hostile_text()],
        version in prop_oneof![3 => Just("1.0.0".to_owned()), 1 => hostile_text()],
        component in prop_oneof![3 => Just("demo.extractor".to_owned()), 1 => hostile_text()],
        spec in prop_oneof![3 => Just("src/demo_osiris/spec.yaml".to_owned()), 1 => hostile_text()],
        entry_point in prop_oneof![3 => Just("demo_osiris:load_spec".to_owned()), 1 => hostile_text()],
        driver in prop::option::of(prop_oneof![3 => Just("demo_osiris.driver.D".to_owned()), 1 => hostile_text()]),
        dependency in prop::option::of((hostile_text(), hostile_text())),
        python in prop::collection::vec(prop_oneof![3 => Just("pyyaml>=6".to_owned()), 1 => hostile_text()], 0..3),
        osiris in prop_oneof![3 => Just(">=0.5.0,<1.0.0".to_owned()), 1 => hostile_text()],
        extra_files in prop::collection::vec(
            prop_oneof![2 => "(src/demo_osiris/|tests/)[a-z_]{1,5}\\.py", 1 => hostile_text()],
            0..3,
        ),
    ) -> Manifest {
        Manifest {
            format_version: 1,
            name,
            version,
            components: vec![ManifestComponent { name: component, spec, entry_point, driver }],
            dependencies: dependency
                .map(|(name, requirement)| vec![ManifestDependency { name, requirement }])
                .unwrap_or_default(),
            python_dependencies: python,
            osiris,
            python: ">=3.11".to_owned(),
            files: ["PKG-INFO", "src/demo_osiris/__init__.py", "src/demo_osiris/spec.yaml"]
                .into_iter()
                .map(str::to_owned)
                .chain(extra_files)
                .map(|path| (path, sha()))
                .collect(),
        }
    }
}

/// A valid OCP's entries: (path below the top folder, contents).
fn valid_files() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "PKG-INFO".to_owned(),
            b"Metadata-Version: 2.2\nName: demo-osiris\nVersion: 1.0.0\n".to_vec(),
        ),
        (
            "src/demo_osiris/__init__.py".to_owned(),
            b"def load_spec():\n    return {}\n".to_vec(),
        ),
        (
            "src/demo_osiris/spec.yaml".to_owned(),
            b"name: demo.extractor\nversion: 1.0.0\n".to_vec(),
        ),
    ]
}

/// A valid OCP tarball's uncompressed tar bytes.
fn valid_tar() -> Vec<u8> {
    let files = valid_files();
    let listed: BTreeMap<&str, String> = files
        .iter()
        .map(|(path, bytes)| (path.as_str(), hex::encode(Sha256::digest(bytes))))
        .collect();
    let manifest: Manifest = serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "name": "demo-osiris",
        "version": "1.0.0",
        "components": [{
            "name": "demo.extractor",
            "spec": "src/demo_osiris/spec.yaml",
            "entry_point": "demo_osiris:load_spec",
            "driver": null,
        }],
        "dependencies": [],
        "python_dependencies": [],
        "osiris": "",
        "python": "",
        "files": listed,
    }))
    .expect("a manifest");
    let mut entries: Vec<ArchiveEntry> = files
        .into_iter()
        .map(|(path, bytes)| ArchiveEntry {
            path,
            bytes,
            executable: false,
        })
        .collect();
    entries.push(ArchiveEntry {
        path: "ocp.json".into(),
        bytes: manifest.to_json_bytes(),
        executable: false,
    });
    let gz = write_tar_gz("demo_osiris-1.0.0", &entries, 0).expect("archive");
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut tar)
        .expect("gunzip");
    tar
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// One raw tar entry of any kind and name.
#[derive(Debug, Clone)]
struct RawEntry {
    name: Vec<u8>,
    kind: u8,
    size_claimed: u64,
    data: Vec<u8>,
    link: Vec<u8>,
}

fn raw_entry() -> impl Strategy<Value = RawEntry> {
    let name = prop_oneof![
        hostile_text().prop_map(|t| format!("demo_osiris-1.0.0/{t}").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..100),
        Just(b"demo_osiris-1.0.0/ocp.json".to_vec()),
        Just(b"././@LongLink".to_vec()),
    ];
    let kind = prop_oneof![
        Just(b'0'),
        Just(b'5'),
        Just(b'2'),
        Just(b'1'),
        Just(b'3'),
        Just(b'6'),
        Just(b'L'),
        Just(b'K'),
        Just(b'x'),
        Just(b'g'),
        Just(b'S'),
        any::<u8>(),
    ];
    let data = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        hostile_text().prop_map(|t| format!("{} path={t}\n", t.len() + 7 + 2).into_bytes()),
        Just(b"12 size=100\n".to_vec()),
    ];
    (
        name,
        kind,
        data,
        hostile_text(),
        prop::option::of(0u64..1 << 40),
    )
        .prop_map(|(name, kind, data, link, claimed)| RawEntry {
            name,
            kind,
            size_claimed: claimed.unwrap_or(data.len() as u64),
            data,
            link: link.into_bytes(),
        })
}

fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::new(entry.kind));
        header.set_size(entry.size_claimed);
        header.set_mode(0o644);
        let old = header.as_old_mut();
        let name = &entry.name[..entry.name.len().min(100)];
        old.name[..name.len()].copy_from_slice(name);
        let link = &entry.link[..entry.link.len().min(100)];
        old.linkname[..link.len()].copy_from_slice(link);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&entry.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Unpacks `bytes` into a fresh store and checks what was written.
fn unpack_and_check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    let tarball = dir.path().join("x.tar.gz");
    fs::write(&tarball, bytes).expect("write");
    let store = Store::new(dir.path().join("store/v1"));
    let entry = IndexEntry {
        name: "demo-osiris".into(),
        version: "1.0.0".into(),
        components: vec!["demo.extractor".into()],
        dependencies: Vec::new(),
        osiris: String::new(),
        python: String::new(),
        python_dependencies: Vec::new(),
        sha256: hex::encode(Sha256::digest(bytes)),
        signature: String::new(),
        key_id: "0123456789ABCDEF".into(),
        yanked: false,
        published: String::new(),
        oci_manifest: None,
    };
    let result = store.ensure(&entry, &tarball);
    prop_assert!(fs::read_dir(&outside).expect("read").next().is_none());
    let written = tree(store.root());
    match result {
        Ok(package) => {
            for (path, kind) in &written {
                prop_assert!(kind != "link", "a link in the store: {path}");
                let full = store.root().join(path);
                prop_assert!(
                    path == ".lock"
                        || full.starts_with(&package.dir)
                        || package.dir.starts_with(&full),
                    "{path} outside the package"
                );
            }
        }
        Err(_) => {
            prop_assert_eq!(
                written.keys().cloned().collect::<Vec<_>>(),
                vec![".lock".to_owned()]
            );
        }
    }
    Ok(())
}

/// Every path below `root` and its kind, without following links.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            let relative = path
                .strip_prefix(root)
                .expect("below")
                .to_string_lossy()
                .into_owned();
            let label = if kind.is_symlink() {
                "link"
            } else if kind.is_dir() {
                stack.push(path);
                "dir"
            } else {
                "file"
            };
            out.insert(relative, label.to_owned());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn parsed_manifests_install_only_inside_site_packages(manifest in hostile_manifest()) {
        if let Ok(checked) = CheckedManifest::parse(&manifest) {
            for (source, site) in checked.installed_files() {
                prop_assert!(checked.files.contains_key(&source));
                let site_path: RelativePath = site.parse().map_err(|e| {
                    TestCaseError::fail(format!("{site:?}: {e}"))
                })?;
                let top = site_path.first().trim_end_matches(".py");
                prop_assert!(
                    top == "components" || checked.code.packages.contains(top),
                    "{site}"
                );
                prop_assert!(!["sitecustomize", "usercustomize"].contains(&top));
            }
            for component in &checked.components {
                prop_assert!(checked.code.packages.contains(component.entry_point.module.top()));
            }
            for requirement in &checked.python_dependencies {
                prop_assert!(!requirement.as_str().starts_with('-'));
                prop_assert!(!requirement.as_str().contains('\n'));
            }
        }
    }

    #[test]
    fn manifest_json_of_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = CheckedManifest::from_json(&bytes);
    }

    #[test]
    fn a_valid_ocp_with_mutated_bytes_never_escapes(
        mutations in prop::collection::vec((0usize..4096, any::<u8>()), 1..8),
        cut in prop::option::of(0usize..6000),
    ) {
        let mut tar = valid_tar();
        for (offset, byte) in mutations {
            let index = offset % tar.len();
            tar[index] = byte;
        }
        if let Some(cut) = cut {
            tar.truncate(cut.min(tar.len()));
        }
        let bytes = gzip(&tar);
        let _ = read_ocp(bytes.as_slice(), &Limits::default(), &mut Discard);
        unpack_and_check(&bytes)?;
    }

    #[test]
    fn archives_of_any_entries_never_escape(entries in prop::collection::vec(raw_entry(), 0..8)) {
        let bytes = gzip(&raw_tar(&entries));
        let _ = read_ocp(bytes.as_slice(), &Limits::default(), &mut Discard);
        unpack_and_check(&bytes)?;
    }

    #[test]
    fn a_valid_ocp_with_entries_added_never_escapes(
        entries in prop::collection::vec(raw_entry(), 1..4),
        at_end in any::<bool>(),
    ) {
        let valid = valid_tar();
        // Drop the two end-of-archive blocks and put the new entries before or after.
        let body = &valid[..valid.len().saturating_sub(1024)];
        let extra = raw_tar(&entries);
        let extra = &extra[..extra.len() - 1024];
        let mut tar = Vec::new();
        if at_end {
            tar.extend_from_slice(body);
            tar.extend_from_slice(extra);
        } else {
            tar.extend_from_slice(extra);
            tar.extend_from_slice(body);
        }
        tar.extend_from_slice(&[0u8; 1024]);
        let bytes = gzip(&tar);
        unpack_and_check(&bytes)?;
    }
}

#[test]
fn the_unmutated_sample_is_a_valid_ocp() {
    let bytes = gzip(&valid_tar());
    read_ocp(bytes.as_slice(), &Limits::default(), &mut Discard).expect("valid");
}
