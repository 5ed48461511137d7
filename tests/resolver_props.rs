//! Property tests of the resolver over random small indexes: it never panics, every answer
//! keeps every constraint, it finds a solution exactly when one exists (checked by brute
//! force), and removing a dependency never turns a solvable request unsolvable. Some
//! versions also provide a `{family}.writer` component, and some requests ask for it by
//! component, which only versions that provide it may answer.

#[path = "resolver/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::str::FromStr;

use ocp::index::format::IndexEntry;
use ocp::resolve::{MemorySource, Request, Requirement, ResolveError, ResolveOptions, resolve};
use pep440_rs::{Version, VersionSpecifiers};
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "alpha-osiris",
    "beta-osiris",
    "gamma-osiris",
    "delta-osiris",
];
const VERSIONS: &[&str] = &["1.0.0", "1.1.0", "2.0.0", "3.0.0rc1"];
const REQUIREMENTS: &[&str] = &[
    "",
    ">=1.0",
    "<2",
    "~=1.0",
    "==1.1.0",
    "!=2.0.0",
    ">=2",
    ">=3.0.0rc1",
];
const OSIRIS: &[&str] = &["", ">=0.5.0,<1.0.0", ">=0.6.0", "<0.5"];
const PYTHON: &[&str] = &["", ">=3.11", ">=3.13"];

#[derive(Debug, Clone)]
struct Case {
    entries: Vec<IndexEntry>,
    /// (package, requirement, asked for by its writer component rather than by name).
    request: Vec<(usize, usize, bool)>,
    allow_prereleases: bool,
}

/// The component only some versions of a package provide: `alpha.writer` for `alpha-osiris`.
fn writer(name: &str) -> String {
    format!("{}.writer", name.trim_end_matches("-osiris"))
}

fn entry_strategy(name: usize, version: usize) -> impl Strategy<Value = IndexEntry> {
    (
        proptest::collection::vec((0..NAMES.len(), 0..REQUIREMENTS.len()), 0..=2),
        0..OSIRIS.len(),
        0..PYTHON.len(),
        proptest::bool::weighted(0.1),
        proptest::bool::weighted(0.5),
    )
        .prop_map(move |(dependencies, osiris, python, yanked, writes)| {
            let mut seen = Vec::new();
            let dependencies: Vec<(&str, &str)> = dependencies
                .into_iter()
                .filter(|(target, _)| {
                    *target != name && !seen.contains(target) && {
                        seen.push(*target);
                        true
                    }
                })
                .map(|(target, requirement)| (NAMES[target], REQUIREMENTS[requirement]))
                .collect();
            let mut entry = support::entry(
                NAMES[name],
                VERSIONS[version],
                &dependencies,
                OSIRIS[osiris],
                PYTHON[python],
                yanked,
            );
            if writes {
                entry.components.push(writer(NAMES[name]));
            }
            entry
        })
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let slots: Vec<(usize, usize)> = (0..NAMES.len())
        .flat_map(|name| (0..VERSIONS.len()).map(move |version| (name, version)))
        .collect();
    let entries = proptest::sample::subsequence(slots.clone(), 8..=14).prop_flat_map(|chosen| {
        chosen
            .into_iter()
            .map(|(name, version)| entry_strategy(name, version))
            .collect::<Vec<_>>()
    });
    (
        entries,
        proptest::collection::vec(
            (
                0..NAMES.len(),
                0..REQUIREMENTS.len(),
                proptest::bool::weighted(0.3),
            ),
            1..3,
        ),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(entries, request, allow_prereleases)| Case {
            entries,
            request,
            allow_prereleases,
        })
}

fn request_of(case: &Case) -> Request {
    let mut requirements: Vec<Requirement> = Vec::new();
    for (name, requirement, by_component) in &case.request {
        let new = if *by_component {
            Requirement::component(&writer(NAMES[*name]), REQUIREMENTS[*requirement])
        } else {
            Requirement::new(NAMES[*name], REQUIREMENTS[*requirement])
        }
        .expect("valid requirement");
        if requirements.iter().all(|known| known.name() != new.name()) {
            requirements.push(new);
        }
    }
    Request {
        requirements,
        osiris: Version::from_str("0.5.7").expect("version"),
        python: Version::from_str("3.12.4").expect("version"),
        preferences: BTreeMap::new(),
    }
}

fn options_of(case: &Case) -> ResolveOptions {
    ResolveOptions {
        allow_prereleases: case.allow_prereleases,
        time_limit: None,
    }
}

fn matches(specifiers: &str, version: &Version) -> bool {
    specifiers.is_empty()
        || VersionSpecifiers::from_str(specifiers).is_ok_and(|s| s.contains(version))
}

/// Whether any choice of at most one version per package keeps every constraint: the
/// definition of solvable, checked by trying them all.
fn solvable_by_brute_force(case: &Case, request: &Request) -> bool {
    let osiris = &request.osiris;
    let python = &request.python;
    let usable: Vec<Vec<&IndexEntry>> = NAMES
        .iter()
        .map(|name| {
            case.entries
                .iter()
                .filter(|entry| entry.name == *name && !entry.yanked)
                .filter(|entry| {
                    let version = Version::from_str(&entry.version).expect("version");
                    let asked = request.requirements.iter().any(|r| {
                        package_of(r) == *name
                            && VersionSpecifiers::from_str(&r.specifiers())
                                .is_ok_and(|s| s.iter().any(|s| s.version().any_prerelease()))
                    });
                    !version.any_prerelease() || case.allow_prereleases || asked
                })
                .filter(|entry| matches(&entry.osiris, osiris) && matches(&entry.python, python))
                .collect()
        })
        .collect();
    let choices: Vec<usize> = usable.iter().map(|versions| versions.len() + 1).collect();
    let total: usize = choices.iter().product();
    (0..total).any(|mut index| {
        let picked: Vec<Option<&IndexEntry>> = usable
            .iter()
            .zip(&choices)
            .map(|(versions, count)| {
                let choice = index % count;
                index /= count;
                versions.get(choice).copied()
            })
            .collect();
        let version_of = |name: &str| {
            NAMES
                .iter()
                .position(|known| *known == name)
                .and_then(|at| picked[at])
                .map(|entry| Version::from_str(&entry.version).expect("version"))
        };
        let entry_of = |name: &str| {
            NAMES
                .iter()
                .position(|known| *known == name)
                .and_then(|at| picked[at])
        };
        let request_kept = request.requirements.iter().all(|requirement| {
            let name = package_of(requirement);
            version_of(name).is_some_and(|version| matches(&requirement.specifiers(), &version))
                && entry_of(name).is_some_and(|entry| {
                    requirement
                        .components()
                        .iter()
                        .all(|component| entry.components.contains(component))
                })
        });
        let dependencies_kept = picked.iter().flatten().all(|entry| {
            entry.dependencies.iter().all(|dependency| {
                version_of(&dependency.name)
                    .is_some_and(|version| matches(&dependency.requirement, &version))
            })
        });
        request_kept && dependencies_kept
    })
}

/// The package a requirement is about: its name, or for `alpha.writer` the `alpha-osiris`
/// that the generated indexes put that component in.
fn package_of(requirement: &Requirement) -> &'static str {
    let family = requirement
        .asked_component()
        .and_then(|component| component.split('.').next())
        .map(|family| format!("{family}-osiris"));
    let name = family.as_deref().unwrap_or(requirement.name());
    NAMES
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("")
}

fn never_leaks(error: &ResolveError) -> Result<(), TestCaseError> {
    let message = error.to_string();
    for forbidden in ["root 0", "∞", "dev0", "min0", "max0", "["] {
        prop_assert!(!message.contains(forbidden), "`{forbidden}` in:\n{message}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        max_global_rejects: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn answers_keep_every_constraint_and_exist_exactly_when_a_solution_does(case in case_strategy()) {
        let source: MemorySource = case.entries.iter().cloned().collect();
        let request = request_of(&case);
        let options = options_of(&case);
        let expected = solvable_by_brute_force(&case, &request);
        match resolve(&source, &request, &options) {
            Ok(resolution) => {
                let problems = support::violations(&request, &options, &resolution);
                prop_assert!(problems.is_empty(), "{problems:?}");
                prop_assert!(expected, "resolved, but brute force finds no solution: {:?}", resolution.versions());
            }
            Err(error) => {
                prop_assert!(matches!(error, ResolveError::NoSolution { .. }), "{error}");
                never_leaks(&error)?;
                prop_assert!(!expected, "brute force finds a solution, the resolver says:\n{error}");
            }
        }
    }

    #[test]
    fn removing_a_dependency_never_makes_a_solvable_request_unsolvable(
        case in case_strategy(),
        pick in any::<proptest::sample::Index>(),
    ) {
        let request = request_of(&case);
        let options = options_of(&case);
        let source: MemorySource = case.entries.iter().cloned().collect();
        if resolve(&source, &request, &options).is_err() {
            // Nothing to check; about one case in six is solvable, so hundreds still are.
            return Ok(());
        }
        let edges: Vec<(usize, usize)> = case.entries.iter().enumerate()
            .flat_map(|(at, entry)| (0..entry.dependencies.len()).map(move |dependency| (at, dependency)))
            .collect();
        if edges.is_empty() {
            return Ok(());
        }
        let (at, dependency) = edges[pick.index(edges.len())];
        let mut looser = case.entries.clone();
        looser[at].dependencies.remove(dependency);
        let looser: MemorySource = looser.into_iter().collect();
        let outcome = resolve(&looser, &request, &options);
        prop_assert!(outcome.is_ok(), "{}", outcome.err().map(|e| e.to_string()).unwrap_or_default());
    }
}
