use std::str::FromStr;

use pep440_rs::Version;

use super::*;
use crate::index::format::{EntryDependency, IndexEntry};
use crate::resolve::{RequiredBy, ResolvedPackage};

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn version(text: &str) -> Version {
    Version::from_str(text).expect("valid version")
}

fn package(name: &str, version_text: &str, sha: &str) -> LockedPackage {
    LockedPackage {
        name: name.to_owned(),
        version: version(version_text),
        sha256: sha.parse().expect("sha"),
        key_id: "1A2B3C4D5E6F7A8B".parse().expect("key id"),
        download: format!("tarballs/{name}-{version_text}.tar.gz"),
        components: vec![],
        dependencies: vec![],
        requested: false,
    }
}

fn sample() -> Lockfile {
    let mut shopify = package("shopify-osiris", "1.2.0", SHA_A);
    shopify.components = vec![
        "shopify.writer".parse().expect("component"),
        "shopify.extractor".parse().expect("component"),
    ];
    shopify.dependencies = vec![
        Requirement::from_str("http-osiris").expect("requirement"),
        Requirement::from_str("base-osiris>=1.0,<2").expect("requirement"),
    ];
    shopify.requested = true;
    let mut base = package("base-osiris", "1.0.0", SHA_B);
    base.components = vec!["base.processor".parse().expect("component")];
    let http = package("http-osiris", "0.3.0rc1", SHA_B);
    Lockfile {
        index: LockedIndex {
            name: "default".to_owned(),
            url: "https://example.com/index.git".to_owned(),
        },
        environment: LockedEnvironment {
            osiris: version("0.5.7"),
            python: version("3.12.1"),
        },
        // Deliberately not in name order: the writer sorts.
        packages: vec![shopify, http, base],
    }
}

const SAMPLE_TEXT: &str = r#"# This file is written by ocp. Do not edit it by hand: `ocp lock` writes it again.
# It records the exact versions, checksums and signers `ocp install` uses (docs/lockfile.md).
version = 1

[index]
name = "default"
url = "https://example.com/index.git"

[environment]
osiris = "0.5.7"
python = "3.12.1"

[[package]]
name = "base-osiris"
version = "1.0.0"
sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
key_id = "1A2B3C4D5E6F7A8B"
download = "tarballs/base-osiris-1.0.0.tar.gz"
components = ["base.processor"]
dependencies = []
requested = false

[[package]]
name = "http-osiris"
version = "0.3.0rc1"
sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
key_id = "1A2B3C4D5E6F7A8B"
download = "tarballs/http-osiris-0.3.0rc1.tar.gz"
components = []
dependencies = []
requested = false

[[package]]
name = "shopify-osiris"
version = "1.2.0"
sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
key_id = "1A2B3C4D5E6F7A8B"
download = "tarballs/shopify-osiris-1.2.0.tar.gz"
components = ["shopify.extractor", "shopify.writer"]
dependencies = ["base-osiris >=1.0,<2", "http-osiris"]
requested = true
"#;

#[test]
fn writes_header_version_and_packages_sorted_by_name() {
    assert_eq!(to_toml(&sample()), SAMPLE_TEXT);
}

#[test]
fn round_trips_byte_for_byte() {
    let parsed = parse(SAMPLE_TEXT).expect("parses");
    assert_eq!(to_toml(&parsed), SAMPLE_TEXT);
    let mut sorted = sample();
    sorted.packages.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(parsed.packages.len(), 3);
    assert_eq!(parsed.index, sorted.index);
    assert_eq!(parsed.environment, sorted.environment);
    assert_eq!(parsed.packages[0], sorted.packages[0]);
    assert!(diff(&sorted, &parsed).is_empty());
}

#[test]
fn output_does_not_depend_on_input_order() {
    let mut reversed = sample();
    reversed.packages.reverse();
    for package in &mut reversed.packages {
        package.components.reverse();
        package.dependencies.reverse();
    }
    assert_eq!(to_toml(&reversed), to_toml(&sample()));
}

#[test]
fn an_empty_lock_has_no_package_tables_and_round_trips() {
    let mut empty = sample();
    empty.packages.clear();
    let text = to_toml(&empty);
    assert!(!text.contains("[[package]]"), "{text}");
    assert_eq!(parse(&text).expect("parses"), empty);
}

fn error_of(text: &str) -> LockfileError {
    parse(text).expect_err("must be refused")
}

#[test]
fn malformed_toml_says_where() {
    let text = SAMPLE_TEXT.replace("[environment]", "[environment");
    let error = error_of(&text);
    let LockfileError::Malformed {
        message, position, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(message.starts_with("invalid TOML"), "{message}");
    assert_eq!(position.line, 9, "{error}");
    assert!(error.to_string().starts_with("line 9, column "), "{error}");
}

#[test]
fn unknown_version_is_a_clear_error_at_the_version() {
    let text = SAMPLE_TEXT.replace("version = 1\n", "version = 2\n");
    let error = error_of(&text);
    let LockfileError::UnknownVersion {
        found, position, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(found, "2");
    assert_eq!((position.line, position.column), (3, 11));
    assert_eq!(
        error.to_string(),
        "line 3, column 11: the lock file has format version 2, but this ocp reads version 1"
    );
}

#[test]
fn a_newer_file_is_refused_for_its_version_before_its_fields() {
    let error = error_of("version = 2\n[lock]\nsomething = \"new\"\n");
    assert!(
        matches!(error, LockfileError::UnknownVersion { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_version_is_refused() {
    let error = error_of("[index]\nname = \"x\"\nurl = \"y\"\n");
    assert!(error.to_string().contains("has no `version`"), "{error}");
}

#[test]
fn a_wrong_value_points_at_the_value() {
    let text = SAMPLE_TEXT.replacen(&format!("sha256 = \"{SHA_B}\""), "sha256 = \"abc\"", 1);
    let error = error_of(&text);
    assert_eq!(error.position().line, 16, "{error}");
    assert_eq!(error.position().column, 10, "{error}");
    assert!(
        error.to_string().contains("`abc` is not a sha256"),
        "{error}"
    );
}

#[test]
fn a_wrong_type_points_at_the_value() {
    let text = SAMPLE_TEXT.replacen("requested = false", "requested = \"no\"", 1);
    let error = error_of(&text);
    assert_eq!((error.position().line, error.position().column), (21, 13));
    assert!(error.to_string().contains("`true` or `false`"), "{error}");
}

#[test]
fn a_missing_field_points_at_its_table() {
    let text = SAMPLE_TEXT.replacen("key_id = \"1A2B3C4D5E6F7A8B\"\n", "", 1);
    let error = error_of(&text);
    assert_eq!(error.position().line, 13, "{error}");
    assert!(error.to_string().contains("has no `key_id`"), "{error}");
}

#[test]
fn an_unknown_key_is_refused_with_its_place() {
    let text = SAMPLE_TEXT.replace("python = \"3.12.1\"", "python = \"3.12.1\"\npyton = \"3\"");
    let error = error_of(&text);
    assert_eq!((error.position().line, error.position().column), (12, 1));
    assert!(error.to_string().contains("unknown key `pyton`"), "{error}");
}

#[test]
fn a_package_listed_twice_is_refused() {
    let text = format!(
        "{SAMPLE_TEXT}\n{}",
        &SAMPLE_TEXT[SAMPLE_TEXT.find("[[package]]").expect("a package")..]
            .split("\n\n")
            .next()
            .expect("first package")
    );
    let error = error_of(&text);
    assert!(
        error.to_string().contains("`base-osiris` is listed twice"),
        "{error}"
    );
}

#[test]
fn an_invalid_dependency_is_refused() {
    let text = SAMPLE_TEXT.replace("\"http-osiris\"]", "\"http-osiris >>1\"]");
    let error = error_of(&text);
    assert!(
        error
            .to_string()
            .contains("invalid dependency `http-osiris >>1`"),
        "{error}"
    );
}

#[test]
fn render_shows_the_offending_line() {
    let text = SAMPLE_TEXT.replace("version = 1\n", "version = 7\n");
    let rendered = error_of(&text).render(&text, false);
    assert!(rendered.contains("version = 7"), "{rendered}");
    assert!(rendered.contains("ocp.lock:3:11"), "{rendered}");
    assert!(
        rendered.contains("help: use the ocp that wrote"),
        "{rendered}"
    );
}

#[test]
fn preferences_map_every_package_to_its_version() {
    let preferences = sample().preferences();
    assert_eq!(preferences.len(), 3);
    assert_eq!(preferences["http-osiris"], version("0.3.0rc1"));
    assert_eq!(preferences["shopify-osiris"], version("1.2.0"));
}

#[test]
fn diff_names_added_removed_and_changed_packages() {
    let old = sample();
    let mut new = sample();
    new.packages.retain(|p| p.name != "http-osiris");
    new.packages.push(package("extra-osiris", "2.0.0", SHA_A));
    for package in &mut new.packages {
        if package.name == "shopify-osiris" {
            package.version = version("1.3.0");
        }
        if package.name == "base-osiris" {
            package.sha256 = SHA_A.parse().expect("sha");
        }
    }
    let changes = diff(&old, &new);
    let texts: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "base-osiris 1.0.0 would change its sha256",
            "extra-osiris 2.0.0 would be added",
            "http-osiris 0.3.0rc1 would be removed",
            "shopify-osiris would change from 1.2.0 to 1.3.0",
        ]
    );
    assert!(diff(&old, &old).is_empty());
}

#[test]
fn diff_reports_environment_and_index_changes() {
    let old = sample();
    let mut new = sample();
    new.environment.osiris = version("0.6.0");
    new.index.url = "https://example.com/other.git".to_owned();
    let changes = diff(&old, &new);
    assert!(matches!(changes[0], Change::Index { .. }), "{changes:?}");
    assert!(
        matches!(changes[1], Change::Environment { .. }),
        "{changes:?}"
    );
    assert_eq!(changes.len(), 2);
    assert!(changes[1].to_string().contains("osiris 0.6.0"));
}

fn entry(name: &str, version: &str, sha: &str) -> IndexEntry {
    IndexEntry {
        name: name.to_owned(),
        version: version.to_owned(),
        components: vec![format!("{}.extractor", name.trim_end_matches("-osiris"))],
        dependencies: vec![],
        osiris: ">=0.5".to_owned(),
        python: ">=3.11".to_owned(),
        python_dependencies: vec![],
        sha256: sha.to_owned(),
        signature: String::new(),
        key_id: "1A2B3C4D5E6F7A8B".to_owned(),
        yanked: false,
        published: "2025-01-01T00:00:00Z".to_owned(),
        oci_manifest: None,
    }
}

#[test]
fn from_resolution_marks_requested_packages_and_sorts() {
    let mut shopify = entry("shopify-osiris", "1.0.0", SHA_A);
    shopify.dependencies = vec![EntryDependency {
        name: "base-osiris".to_owned(),
        requirement: ">=1.0".to_owned(),
    }];
    let base = entry("base-osiris", "1.1.0", SHA_B);
    let mut resolution = Resolution::default();
    resolution.packages.insert(
        "shopify-osiris".to_owned(),
        ResolvedPackage {
            version: version("1.0.0"),
            entry: shopify,
            required_by: vec![RequiredBy::Request {
                requirement: "shopify-osiris".to_owned(),
            }],
        },
    );
    resolution.packages.insert(
        "base-osiris".to_owned(),
        ResolvedPackage {
            version: version("1.1.0"),
            entry: base,
            required_by: vec![RequiredBy::Package {
                name: "shopify-osiris".to_owned(),
                version: "1.0.0".to_owned(),
                requirement: ">=1.0".to_owned(),
            }],
        },
    );
    let lock = Lockfile::from_resolution(
        sample().index,
        sample().environment,
        &resolution,
        |name, version| format!("https://example.com/{name}/{version}.tar.gz"),
    )
    .expect("valid entries");
    let names: Vec<(&str, bool)> = lock
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.requested))
        .collect();
    assert_eq!(names, [("base-osiris", false), ("shopify-osiris", true)]);
    let shopify = lock.package("shopify-osiris").expect("locked");
    assert_eq!(
        shopify.download,
        "https://example.com/shopify-osiris/1.0.0.tar.gz"
    );
    assert_eq!(dependency_strings(shopify), ["base-osiris >=1.0"]);
}

fn dependency_strings(package: &LockedPackage) -> Vec<String> {
    package
        .dependencies
        .iter()
        .map(toml::dependency_text)
        .collect()
}

#[test]
fn from_resolution_refuses_an_entry_with_a_bad_checksum() {
    let mut resolution = Resolution::default();
    resolution.packages.insert(
        "base-osiris".to_owned(),
        ResolvedPackage {
            version: version("1.1.0"),
            entry: entry("base-osiris", "1.1.0", "not-hex"),
            required_by: vec![],
        },
    );
    let error =
        Lockfile::from_resolution(sample().index, sample().environment, &resolution, |_, _| {
            String::new()
        })
        .expect_err("refused");
    assert_eq!(error.field, "sha256");
}

#[test]
fn read_write_and_missing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(FILE_NAME);
    assert!(read(&path).expect("no error").is_none());
    write_atomic(&path, &sample()).expect("written");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), SAMPLE_TEXT);
    let back = read(&path).expect("read").expect("present");
    assert!(diff(&sample(), &back).is_empty());

    std::fs::write(&path, "version = 1\n[index\n").expect("write");
    let error = read(&path).expect_err("malformed");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("`{}:2:", path.display())),
        "{message}"
    );
    assert!(error.downcast_ref::<LockfileError>().is_some());
}

#[test]
fn render_of_a_wrong_value_underlines_it() {
    let text = SAMPLE_TEXT.replacen("key_id = \"1A2B3C4D5E6F7A8B\"", "key_id = \"nope\"", 1);
    let rendered = error_of(&text).render(&text, false);
    assert!(rendered.contains("key_id = \"nope\""), "{rendered}");
    assert!(rendered.contains("^^^^^^"), "{rendered}");
    assert!(rendered.contains("`nope` is not a key id"), "{rendered}");
}
