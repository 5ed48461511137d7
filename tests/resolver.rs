//! Resolver scenarios as data: every `tests/resolver/*.toml` file is one scenario (the
//! request, the environment, the index, the expected versions or the expected explanation),
//! and this one test runs them all. See `tests/resolver/README.md` for the file format.

#[path = "resolver/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ocp::policy::{Allowlist, Listed, Origin, Policy};
use ocp::resolve::{MemorySource, Request, Requirement, ResolveOptions, resolve_with};
use pep440_rs::Version;
use toml_edit::{DocumentMut, Item, Table};

/// Text no explanation may contain: internal names, raw intervals, interval markers.
const NEVER_IN_MESSAGES: &[&str] = &["root 0", "∞", "dev0", "min0", "max0", "Ranges", "[", "Node"];

/// How many scenarios the folder must hold, so deleting files does not go unnoticed.
const MINIMUM_SCENARIOS: usize = 20;

enum Expected {
    /// The chosen versions, and text each note must hold (none when the list is empty).
    Versions(BTreeMap<String, String>, Vec<String>),
    Error {
        contains: Vec<String>,
        absent: Vec<String>,
    },
}

struct Scenario {
    source: MemorySource,
    request: Request,
    options: ResolveOptions,
    /// The plugin policy of `[policy]` (`allowlist`, `denylist`), else one that allows all.
    policy: Policy,
    expected: Expected,
}

fn strings(item: Option<&Item>) -> Result<Vec<String>, String> {
    let Some(item) = item else {
        return Ok(Vec::new());
    };
    let array = item.as_array().ok_or("expected an array of strings")?;
    array
        .iter()
        .map(|value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "expected a string".to_owned())
        })
        .collect()
}

fn text<'a>(table: &'a Table, key: &str, default: &'a str) -> Result<&'a str, String> {
    match table.get(key) {
        None => Ok(default),
        Some(item) => item
            .as_str()
            .ok_or_else(|| format!("`{key}` must be a string")),
    }
}

fn string_map(table: &Table, key: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    if let Some(item) = table.get(key) {
        let inner = item
            .as_table_like()
            .ok_or_else(|| format!("`{key}` must be a table"))?;
        for (name, value) in inner.iter() {
            let value = value
                .as_str()
                .ok_or_else(|| format!("`{key}.{name}` must be a string"))?;
            map.insert(name.to_owned(), value.to_owned());
        }
    }
    Ok(map)
}

/// `shopify-osiris>=1.0`; `acme.extractor>=0.2` (a component, whose package the resolver
/// finds); `acme-osiris [acme.extractor]` (a package whose version must provide the
/// component, as `ocp update` asks for the components a locked package provided).
fn parse_requirement(text: &str) -> Result<Requirement, String> {
    let (head, components) = match text.split_once('[') {
        Some((head, rest)) => (
            head.trim(),
            rest.trim_end_matches(']')
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect(),
        ),
        None => (text.trim(), Vec::new()),
    };
    let split = head.find(['<', '>', '=', '!', '~']).unwrap_or(head.len());
    let (name, specifiers) = (&head[..split], head[split..].trim());
    let requirement = if name.contains('.') {
        Requirement::component(name, specifiers)
    } else {
        Requirement::new(name, specifiers)
    }
    .map_err(|error| error.to_string())?;
    Ok(components
        .into_iter()
        .fold(requirement, |requirement, component| {
            requirement.providing(component)
        }))
}

fn version(value: &str) -> Result<Version, String> {
    Version::from_str(value).map_err(|error| format!("`{value}`: {error}"))
}

fn load(path: &Path) -> Result<Scenario, String> {
    let document: DocumentMut = std::fs::read_to_string(path)
        .map_err(|error| error.to_string())?
        .parse()
        .map_err(|error: toml_edit::TomlError| error.to_string())?;
    let top = document.as_table();
    let requirements = strings(top.get("request"))?
        .iter()
        .map(|requirement| parse_requirement(requirement))
        .collect::<Result<Vec<_>, _>>()?;
    let mut preferences = BTreeMap::new();
    for (name, value) in string_map(top, "preferences")? {
        preferences.insert(name, version(&value)?);
    }
    let request = Request {
        requirements,
        osiris: version(text(top, "osiris", "0.5.7")?)?,
        python: version(text(top, "python", "3.12.4")?)?,
        preferences,
    };
    let options = ResolveOptions {
        allow_prereleases: top
            .get("allow_prereleases")
            .and_then(Item::as_bool)
            .unwrap_or(false),
        time_limit: top
            .get("time_limit_ms")
            .and_then(Item::as_integer)
            .map(|ms| Duration::from_millis(ms.unsigned_abs())),
    };
    let mut source = MemorySource::new();
    if let Some(packages) = top.get("package") {
        let packages = packages
            .as_array_of_tables()
            .ok_or("`package` must be [[package]] tables")?;
        for package in packages.iter() {
            let name = text(package, "name", "")?;
            let mut versions = strings(package.get("versions"))?;
            if let Some(single) = package.get("version") {
                versions.push(
                    single
                        .as_str()
                        .ok_or("`version` must be a string")?
                        .to_owned(),
                );
            }
            if versions.is_empty() {
                return Err(format!("package `{name}` has no `version` or `versions`"));
            }
            let dependencies: Vec<(String, String)> = strings(package.get("dependencies"))?
                .iter()
                .map(|dependency| {
                    let split = dependency
                        .find(['<', '>', '=', '!', '~', ' '])
                        .unwrap_or(dependency.len());
                    (
                        dependency[..split].to_owned(),
                        dependency[split..].trim().to_owned(),
                    )
                })
                .collect();
            let dependencies: Vec<(&str, &str)> = dependencies
                .iter()
                .map(|(name, requirement)| (name.as_str(), requirement.as_str()))
                .collect();
            let yanked = package
                .get("yanked")
                .and_then(Item::as_bool)
                .unwrap_or(false);
            let components = strings(package.get("components"))?;
            for version in &versions {
                let mut entry = support::entry(
                    name,
                    version,
                    &dependencies,
                    text(package, "osiris", ">=0.5.0,<1.0.0")?,
                    text(package, "python", ">=3.11")?,
                    yanked,
                );
                if package.contains_key("components") {
                    entry.components = components.clone();
                }
                source.add(entry);
            }
        }
    }
    let policy = match top.get("policy").and_then(Item::as_table) {
        None => Policy::allow_all(),
        Some(table) => policy_of(table)?,
    };
    let expect = top
        .get("expect")
        .and_then(Item::as_table)
        .ok_or("missing [expect]")?;
    let expected = if expect.contains_key("versions") {
        Expected::Versions(
            string_map(expect, "versions")?,
            strings(expect.get("notes"))?,
        )
    } else if expect.contains_key("error") {
        Expected::Error {
            contains: strings(expect.get("error"))?,
            absent: strings(expect.get("absent"))?,
        }
    } else {
        return Err("[expect] needs `versions` or `error`".to_owned());
    };
    Ok(Scenario {
        source,
        request,
        options,
        policy,
        expected,
    })
}

/// `[policy]`: `allowlist` and `denylist` entries, each written at "`policy.<list>`".
fn policy_of(table: &Table) -> Result<Policy, String> {
    let listed = |key: &str| -> Result<Vec<Listed>, String> {
        strings(table.get(key))?
            .iter()
            .map(|text| {
                Ok(Listed {
                    rule: text.parse().map_err(|error| format!("{error}"))?,
                    origin: Origin(format!("`policy.{key}`")),
                })
            })
            .collect()
    };
    Ok(Policy {
        allowlist: table
            .contains_key("allowlist")
            .then(|| listed("allowlist"))
            .transpose()?
            .map(|entries| Allowlist {
                entries,
                origin: Origin("`policy.allowlist`".to_owned()),
            }),
        denylist: listed("denylist")?,
        ..Policy::allow_all()
    })
}

/// Runs one scenario; `Err` says how it went wrong.
fn run(path: &Path) -> Result<(), String> {
    let scenario = load(path).map_err(|error| format!("cannot load: {error}"))?;
    let outcome = resolve_with(
        &scenario.source,
        &scenario.request,
        &scenario.options,
        &scenario.policy,
    );
    if std::env::var_os("OCP_SCENARIO").is_some() {
        // Shows the outcome when one scenario is run on purpose, to write its expectations.
        match &outcome {
            Ok(resolution) => println!(
                "{}: {:?} {:?}",
                path.display(),
                resolution.versions(),
                resolution.notes
            ),
            Err(error) => println!("{}:\n{error}", path.display()),
        }
    }
    match (scenario.expected, outcome) {
        (Expected::Versions(expected, notes), Ok(resolution)) => {
            let got: BTreeMap<String, String> = resolution
                .versions()
                .into_iter()
                .map(|(name, version)| (name.to_owned(), version.to_string()))
                .collect();
            if got != expected {
                return Err(format!("expected {expected:?}\n     got {got:?}"));
            }
            let missing: Vec<&String> = notes
                .iter()
                .filter(|note| !resolution.notes.iter().any(|n| n.contains(note.as_str())))
                .collect();
            if !missing.is_empty() || (notes.is_empty() && !resolution.notes.is_empty()) {
                return Err(format!(
                    "expected the notes {notes:?}\n     got {:?}",
                    resolution.notes
                ));
            }
            let problems = support::violations(&scenario.request, &scenario.options, &resolution);
            if !problems.is_empty() {
                return Err(format!("the resolution breaks constraints: {problems:?}"));
            }
            Ok(())
        }
        (Expected::Versions(expected, _), Err(error)) => Err(format!(
            "expected {expected:?}\n     got the error:\n{error}"
        )),
        (Expected::Error { .. }, Ok(resolution)) => Err(format!(
            "expected an error, got {:?}",
            resolution.versions()
        )),
        (Expected::Error { contains, absent }, Err(error)) => {
            let message = error.to_string();
            let missing: Vec<&String> = contains
                .iter()
                .filter(|text| !message.contains(text.as_str()))
                .collect();
            let leaked: Vec<&str> = absent
                .iter()
                .map(String::as_str)
                .chain(NEVER_IN_MESSAGES.iter().copied())
                .filter(|text| message.contains(text))
                .collect();
            if missing.is_empty() && leaked.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "the message lacks {missing:?} and has {leaked:?}:\n{message}"
                ))
            }
        }
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resolver");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("read tests/resolver")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_resolver_scenario_has_the_expected_outcome() {
    let files = scenario_files();
    assert!(
        files.len() >= MINIMUM_SCENARIOS,
        "only {} scenarios in tests/resolver",
        files.len()
    );
    let only = std::env::var("OCP_SCENARIO").ok();
    let failures: Vec<String> = files
        .iter()
        .filter(|path| {
            only.as_deref()
                .is_none_or(|only| path.to_string_lossy().contains(only))
        })
        .filter_map(|path| {
            run(path).err().map(|error| {
                format!(
                    "{}: {error}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
