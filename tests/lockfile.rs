//! `ocp.lock` as written to disk, checked against `schemas/lockfile.schema.json`: the TOML
//! file ocp writes is read back as plain TOML, turned into JSON key for key, and validated.

mod common;

use std::str::FromStr;

use ocp::lockfile::{
    self, LockedEnvironment, LockedIndex, LockedPackage, Lockfile, read, to_json, write_atomic,
};
use ocp::model::Checksum;
use ocp::resolve::Requirement;

const SCHEMA: &str = include_str!("../schemas/lockfile.schema.json");

fn lock() -> Lockfile {
    let package = |name: &str, version: &str, requested: bool| LockedPackage {
        name: name.to_owned(),
        version: pep440_rs::Version::from_str(version).expect("version"),
        sha256: Checksum::of_bytes(name.as_bytes()),
        key_id: "0123456789ABCDEF".parse().expect("key id"),
        download: format!("https://example.com/{name}/{version}.tar.gz"),
        components: vec![
            format!("{}.extractor", name.trim_end_matches("-osiris"))
                .parse()
                .expect("component"),
        ],
        dependencies: vec![],
        requested,
    };
    let mut shopify = package("shopify-osiris", "1.4.2", true);
    shopify.dependencies = vec![
        Requirement::from_str("base-osiris>=1.0,<2").expect("requirement"),
        Requirement::from_str("http-osiris").expect("requirement"),
    ];
    Lockfile {
        index: LockedIndex {
            name: "default".to_owned(),
            url: "/home/me/.local/share/ocp/index/default.git".to_owned(),
        },
        environment: LockedEnvironment {
            osiris: "0.5.7".parse().expect("version"),
            python: "3.12.4".parse().expect("version"),
        },
        packages: vec![
            shopify,
            package("http-osiris", "2.0.0rc1", false),
            package("base-osiris", "1.1.0", false),
        ],
    }
}

/// Plain TOML to JSON, with no knowledge of the lock file, so the schema checks the file
/// itself rather than ocp's idea of it.
fn toml_to_json(item: &toml_edit::Item) -> serde_json::Value {
    use serde_json::Value as Json;
    use toml_edit::{Item, Value};
    fn value(v: &Value) -> Json {
        match v {
            Value::String(s) => Json::from(s.value().clone()),
            Value::Integer(i) => Json::from(*i.value()),
            Value::Float(f) => Json::from(*f.value()),
            Value::Boolean(b) => Json::from(*b.value()),
            Value::Datetime(d) => Json::from(d.value().to_string()),
            Value::Array(a) => Json::Array(a.iter().map(value).collect()),
            Value::InlineTable(t) => {
                Json::Object(t.iter().map(|(k, v)| (k.to_owned(), value(v))).collect())
            }
        }
    }
    match item {
        Item::None => Json::Null,
        Item::Value(v) => value(v),
        Item::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), toml_to_json(v)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => Json::Array(
            a.iter()
                .map(|t| toml_to_json(&Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn written_as_json(lock: &Lockfile) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(lockfile::FILE_NAME);
    write_atomic(&path, lock).expect("written");
    let text = std::fs::read_to_string(&path).expect("read");
    let document: toml_edit::DocumentMut = text.parse().expect("ocp writes valid TOML");
    toml_to_json(document.as_item())
}

#[test]
fn a_written_lock_file_matches_its_schema() {
    let json = written_as_json(&lock());
    common::assert_matches_schema(SCHEMA, &json);
    // The JSON ocp would print is the same document.
    assert_eq!(json, to_json(&lock()));
    let names: Vec<&str> = json["package"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["base-osiris", "http-osiris", "shopify-osiris"]);
}

#[test]
fn an_empty_lock_file_matches_its_schema() {
    let mut empty = lock();
    empty.packages.clear();
    common::assert_matches_schema(SCHEMA, &written_as_json(&empty));
}

/// A change that makes a valid lock document invalid.
type Mutation = fn(&mut serde_json::Value);

#[test]
fn the_schema_refuses_what_ocp_would_refuse() {
    let good = written_as_json(&lock());
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    assert!(validator.is_valid(&good));
    let mutations: [(&str, Mutation); 4] = [
        ("another version", |j| j["version"] = 2.into()),
        ("an upper-case sha256", |j| {
            j["package"][0]["sha256"] = "A".repeat(64).into();
        }),
        ("a missing key_id", |j| {
            j["package"][0]
                .as_object_mut()
                .expect("object")
                .remove("key_id");
        }),
        ("an unknown key", |j| j["index"]["branch"] = "main".into()),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!validator.is_valid(&bad), "the schema accepted {what}");
    }
}

#[test]
fn a_lock_file_read_back_is_the_one_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(lockfile::FILE_NAME);
    write_atomic(&path, &lock()).expect("written");
    let first = std::fs::read(&path).expect("read");
    let back = read(&path).expect("read").expect("present");
    assert!(lockfile::diff(&lock(), &back).is_empty());
    write_atomic(&path, &back).expect("written again");
    assert_eq!(std::fs::read(&path).expect("read"), first);
}
