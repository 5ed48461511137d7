//! Why there is no solution, in the user's words, from pubgrub's derivation tree.
//!
//! pubgrub's own report names the root "root 0", prints raw intervals (`[0.6.0, ∞)`) and
//! never states the environment. Like uv's report rewriting, this one walks the tree and
//! states each fact it rests on once, the request first:
//!
//! ```text
//! no set of versions satisfies the request:
//!   - you asked for shopify-osiris >=2.0
//!   - shopify-osiris 2.0.0 needs osiris >=0.6.0, but this environment has osiris 0.5.7;
//!     shopify-osiris 1.4.2 would fit: `ocp install shopify-osiris==1.4.2`
//! ```
//!
//! A version range of a package is named by the versions the index really has: one version
//! by its number, all of them as "every version", otherwise in PEP 440 words (`>=1.5.0`).

use std::collections::HashSet;
use std::rc::Rc;

use pep440_rs::{Version, release_specifiers_to_ranges};
use pubgrub::{DerivationTree, External, Ranges};

use super::provider::{Node, Provider, parse_specifiers};
use super::words::{range_words, version_words};
use super::{Request, Suggestion};
use crate::diagnostics::join_words;
use crate::index::format::IndexEntry;

type Tree = DerivationTree<Node, Ranges<Version>, String>;
type Fact = External<Node, Ranges<Version>, String>;

/// The explanation of a failed resolution, ready to show.
pub fn explain(
    tree: &Tree,
    provider: &Provider,
    request: &Request,
    suggestions: &[Suggestion],
) -> String {
    let mut facts = Vec::new();
    collect(tree, &mut HashSet::new(), &mut facts);
    // The request, then what each package needs, then what the index lacks; within each,
    // the order the derivation uses them.
    facts.sort_by_key(|fact| match fact {
        External::FromDependencyOf(Node::Root, ..) => 0,
        External::NoVersions(..) => 2,
        _ => 1,
    });
    let states_environment = |node: &Node| {
        facts.iter().any(
            |fact| matches!(fact, External::FromDependencyOf(_, _, dependency, _) if dependency == node),
        )
    };
    let mut used = vec![false; suggestions.len()];
    let mut lines: Vec<String> = Vec::new();
    for fact in &facts {
        let text = match fact {
            External::NotRoot(..) => continue,
            External::NoVersions(node @ (Node::Osiris | Node::Python), _)
                if states_environment(node) =>
            {
                continue;
            }
            External::FromDependencyOf(Node::Root, _, dependency, range) => {
                // A component request whose range holds no version that provides the
                // component fails right here; say which versions have it.
                if range.is_empty()
                    && let Node::Package(name) = dependency
                    && let Some(requirement) = request
                        .requirements
                        .iter()
                        .find(|r| r.name() == &**name && !r.components().is_empty())
                    && let Ok(candidates) = provider.candidates(name)
                {
                    for text in [
                        request_words(request, dependency),
                        component_words(provider, name, &candidates, requirement),
                    ] {
                        if !lines.contains(&text) {
                            lines.push(text);
                        }
                    }
                    continue;
                }
                request_words(request, dependency)
            }
            External::FromDependencyOf(package, range, dependency, dependency_range) => {
                let mut text =
                    builtin_words(provider, package, range, dependency, dependency_range)
                        .unwrap_or_else(|| {
                            format!(
                                "{} {}",
                                subject(provider, package, range),
                                dependency_words(provider, dependency, dependency_range)
                            )
                        });
                if matches!(dependency, Node::Osiris | Node::Python) {
                    for (index, suggestion) in suggestions.iter().enumerate() {
                        if package.to_string() == suggestion.name && !used[index] {
                            used[index] = true;
                            text.push_str(&format!("; {}", would_fit(suggestion)));
                        }
                    }
                }
                text
            }
            External::NoVersions(node, range) => {
                for text in no_versions(provider, request, &facts, node, range) {
                    if !lines.contains(&text) {
                        lines.push(text);
                    }
                }
                continue;
            }
            External::Custom(package, range, reason) => {
                let (subject, _) = subject_words(provider, package, range);
                format!("{subject} cannot be used: {reason}")
            }
        };
        if !lines.contains(&text) {
            lines.push(text);
        }
    }
    let mut out = String::from("no set of versions satisfies the request:");
    for line in &lines {
        out.push_str("\n  - ");
        out.push_str(line);
    }
    for (suggestion, used) in suggestions.iter().zip(used) {
        if !used {
            out.push('\n');
            out.push_str(&would_fit(suggestion));
        }
    }
    out
}

fn would_fit(suggestion: &Suggestion) -> String {
    format!(
        "{} {} would fit: `{}`",
        suggestion.name,
        suggestion.version,
        suggestion.command()
    )
}

/// Whether an entry's own Osiris and Python ranges admit the environment.
pub fn fits_environment(provider: &Provider, entry: &IndexEntry) -> bool {
    let osiris = parse_specifiers(&entry.osiris)
        .map(|specifiers| Ranges::from(specifiers).contains(&provider.osiris));
    let python = parse_specifiers(&entry.python)
        .map(|specifiers| release_specifiers_to_ranges(specifiers).contains(&provider.python));
    osiris == Ok(true) && python == Ok(true)
}

/// The external facts under `tree`, each shared subtree visited once.
fn collect(tree: &Tree, seen: &mut HashSet<usize>, facts: &mut Vec<Fact>) {
    match tree {
        DerivationTree::External(fact) => facts.push(fact.clone()),
        DerivationTree::Derived(derived) => {
            if let Some(id) = derived.shared_id
                && !seen.insert(id)
            {
                return;
            }
            collect(&derived.cause1, seen, facts);
            collect(&derived.cause2, seen, facts);
        }
    }
}

fn request_words(request: &Request, dependency: &Node) -> String {
    let name = dependency.to_string();
    let asked: Vec<&super::Requirement> = request
        .requirements
        .iter()
        .filter(|requirement| requirement.name() == name)
        .collect();
    let specifiers = asked
        .iter()
        .map(|requirement| requirement.specifiers())
        .filter(|specifiers| !specifiers.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    let components: Vec<String> = asked
        .iter()
        .flat_map(|requirement| requirement.components().iter().cloned())
        .collect();
    let components = join_words(&components);
    let by_component = asked.iter().any(|r| r.asked_component().is_some());
    match (by_component, components.is_empty(), specifiers.is_empty()) {
        (true, _, true) => format!("you asked for {components}, which {name} provides"),
        (true, _, false) => {
            format!("you asked for {components} from {name} {specifiers}")
        }
        (false, false, true) => format!("you asked for {name} with {components}"),
        (false, false, false) => format!("you asked for {name} {specifiers} with {components}"),
        (false, true, true) => format!("you asked for {name}"),
        (false, true, false) => format!("you asked for {name} {specifiers}"),
    }
}

/// Why no version of `name` answers a request that needs components.
fn component_words(
    provider: &Provider,
    name: &str,
    candidates: &[super::provider::Candidate],
    requirement: &super::Requirement,
) -> String {
    let what = join_words(requirement.components());
    let range = requirement.range();
    let providing: Vec<String> = candidates
        .iter()
        .rev()
        .filter(|c| provider.is_eligible(name, c) && requirement.is_provided_by(&c.entry))
        .map(|c| version_words(&c.version))
        .collect();
    if providing.is_empty() {
        let newest = candidates
            .iter()
            .find(|c| provider.is_eligible(name, c))
            .map(|c| {
                format!(
                    " ({name} {} provides {})",
                    version_words(&c.version),
                    join_words(&c.entry.components)
                )
            })
            .unwrap_or_default();
        return format!("no version of {name} provides {what}{newest}");
    }
    if providing.len() == 1 {
        format!(
            "only {name} {} provides {what}, and it does not match {}",
            providing[0],
            range_words(&range)
        )
    } else {
        format!(
            "only {name} {} provide {what}, and none of them matches {}",
            join_words(&providing),
            range_words(&range)
        )
    }
}

/// A package that provides a component the environment's Osiris ships itself, and so needs
/// an Osiris without it: "Osiris 0.5.7 ships mysql.extractor itself; mysql-osiris 1.0.0
/// needs an Osiris without it (>=0.9.0)".
fn builtin_words(
    provider: &Provider,
    package: &Node,
    range: &Ranges<Version>,
    dependency: &Node,
    dependency_range: &Ranges<Version>,
) -> Option<String> {
    let Node::Package(name) = package else {
        return None;
    };
    if *dependency != Node::Osiris || dependency_range.contains(&provider.osiris) {
        return None;
    }
    let installed = version_words(&provider.osiris);
    let mut shipped: Vec<String> = provider
        .candidates(name)
        .ok()?
        .iter()
        .filter(|candidate| range.contains(&candidate.version))
        .flat_map(|candidate| candidate.entry.components.iter())
        .filter(|component| {
            crate::check::builtin::shipped_by(component).contains(&installed.as_str())
        })
        .cloned()
        .collect();
    shipped.sort();
    shipped.dedup();
    if shipped.is_empty() {
        return None;
    }
    let (subject, plural) = subject_words(provider, package, range);
    Some(format!(
        "Osiris {installed} ships {} itself; {subject} {} an Osiris without {} ({})",
        join_words(&shipped),
        if plural { "need" } else { "needs" },
        if shipped.len() == 1 { "it" } else { "them" },
        range_words(dependency_range)
    ))
}

/// "shopify-osiris 2.0.0 needs" / "every version of x needs" / "x versions >=1.5 need".
fn subject(provider: &Provider, package: &Node, range: &Ranges<Version>) -> String {
    let (subject, plural) = subject_words(provider, package, range);
    format!("{subject} {}", if plural { "need" } else { "needs" })
}

fn subject_words(provider: &Provider, package: &Node, range: &Ranges<Version>) -> (String, bool) {
    let Node::Package(name) = package else {
        return (package.to_string(), false);
    };
    let versions = known_versions(provider, name);
    let inside: Vec<&Version> = versions.iter().filter(|v| range.contains(v)).collect();
    match inside.as_slice() {
        [only] => (format!("{name} {}", version_words(only)), false),
        [] => (format!("{name} {}", range_words(range)), false),
        _ if inside.len() == versions.len() => (format!("every version of {name}"), false),
        _ => {
            let simpler = range.simplify(versions.iter());
            (format!("{name} versions {}", range_words(&simpler)), true)
        }
    }
}

/// Every version of `name` in the index, oldest first.
fn known_versions(provider: &Provider, name: &Rc<str>) -> Vec<Version> {
    let mut versions: Vec<Version> = provider
        .candidates(name)
        .map(|candidates| candidates.iter().map(|c| c.version.clone()).collect())
        .unwrap_or_default();
    versions.reverse();
    versions
}

fn dependency_words(provider: &Provider, dependency: &Node, range: &Ranges<Version>) -> String {
    let environment = match dependency {
        Node::Osiris => Some(&provider.osiris),
        Node::Python => Some(&provider.python),
        _ => None,
    };
    let wanted = if range == &Ranges::full() {
        dependency.to_string()
    } else {
        format!("{dependency} {}", range_words(range))
    };
    match environment {
        Some(installed) if !range.contains(installed) => format!(
            "{wanted}, but this environment has {dependency} {}",
            version_words(installed)
        ),
        _ => wanted,
    }
}

/// The ranges of `name` that the request or a dependency asks for, in the facts, each with
/// who asked.
fn requested_ranges<'f>(facts: &'f [Fact], name: &Node) -> Vec<(&'f Node, &'f Ranges<Version>)> {
    facts
        .iter()
        .filter_map(|fact| match fact {
            External::FromDependencyOf(parent, _, dependency, range) if dependency == name => {
                Some((parent, range))
            }
            _ => None,
        })
        .collect()
}

/// "No version of p matches R" for each range R someone asked for that holds no usable
/// version. pubgrub also derives facts such as "no version of p in `!=1.0.0`", which only
/// say which versions exist; those are left out when no request explains them.
fn no_versions(
    provider: &Provider,
    request: &Request,
    facts: &[Fact],
    node: &Node,
    range: &Ranges<Version>,
) -> Vec<String> {
    let name = match node {
        Node::Package(name) => name,
        Node::Osiris | Node::Python => {
            let installed = if *node == Node::Osiris {
                &provider.osiris
            } else {
                &provider.python
            };
            return vec![format!(
                "this environment has {node} {}, not {}",
                version_words(installed),
                range_words(range)
            )];
        }
        Node::Root => return Vec::new(),
    };
    let Ok(candidates) = provider.candidates(name) else {
        return vec![format!("{name} could not be read from the index")];
    };
    if candidates.is_empty() {
        return vec![format!("there is no package named `{name}` in the index")];
    }
    let usable_in = |range: &Ranges<Version>| {
        candidates
            .iter()
            .any(|c| range.contains(&c.version) && provider.is_eligible(name, c))
    };
    let with_components = request
        .requirements
        .iter()
        .find(|r| r.name() == &**name && !r.components().is_empty());
    requested_ranges(facts, node)
        .into_iter()
        .filter(|(_, requested)| !usable_in(requested))
        .map(|(parent, requested)| match with_components {
            Some(requirement) if *parent == Node::Root => {
                component_words(provider, name, &candidates, requirement)
            }
            _ => no_version_matches(provider, name, &candidates, requested),
        })
        .collect()
}

fn no_version_matches(
    provider: &Provider,
    name: &str,
    candidates: &[super::provider::Candidate],
    range: &Ranges<Version>,
) -> String {
    let mut text = if range == &Ranges::full() {
        format!("no version of {name} can be used")
    } else {
        format!("no version of {name} matches {}", range_words(range))
    };
    let excluded = candidates
        .iter()
        .filter(|c| range.contains(&c.version) && !provider.is_eligible(name, c));
    let mut notes = Vec::new();
    for candidate in excluded {
        let version = version_words(&candidate.version);
        if candidate.entry.yanked {
            notes.push(format!("{name} {version} is yanked"));
        } else {
            notes.push(format!(
                "{name} {version} is a pre-release, used only when asked for with `--pre` or `=={version}`"
            ));
        }
    }
    if notes.is_empty() {
        let usable: Vec<String> = candidates
            .iter()
            .filter(|c| provider.is_eligible(name, c))
            .map(|c| version_words(&c.version))
            .collect();
        match usable.len() {
            0 => {}
            1..=5 => text.push_str(&format!(" (the index has {})", usable.join(", "))),
            more => text.push_str(&format!(
                " (the index has {} and {} older)",
                usable[..5].join(", "),
                more - 5
            )),
        }
    }
    for note in notes {
        text.push_str("; ");
        text.push_str(&note);
    }
    text
}
