//! `ocp index verify`: everything an index promises, checked from its files alone. Every
//! entry and owner event must be valid and signed by an owner (the signature covering every
//! field resolution and installation act on, checked by [`super::trust`]), tarballs must
//! match their checksums where they can be reached, each component must belong to one
//! package and must not be a component Osiris itself ships, and (with a base revision)
//! history may only append lines or flip `yanked`. When the index has signed checkpoints,
//! their chain in the git history is checked too ([`super::checkpoint::chain`]).

use std::collections::{BTreeMap, BTreeSet};

use super::checkpoint::{self, chain, chain::ProblemKind};
use super::format::{self, IndexEntry, shard};
use super::owners::{self, Owners};
use super::{Index, storage, trust};
use crate::diagnostics::Diagnostic;
use crate::model::normalize_name as normalize;
use crate::model::{Checksum, ComponentName, PackageName};

/// Stable codes of `ocp index verify` findings (see `registry-index/README.md`).
pub mod codes {
    pub const MALFORMED: &str = "I001";
    pub const WRONG_PATH: &str = "I002";
    pub const DUPLICATE_VERSION: &str = "I003";
    pub const SIGNATURE: &str = "I004";
    pub const CHECKSUM: &str = "I005";
    pub const UNREACHABLE: &str = "I006";
    pub const OWNER_LOG: &str = "I007";
    pub const YANKED: &str = "I008";
    pub const COMPONENT: &str = "I009";
    pub const HISTORY: &str = "I010";
    pub const CONFIG_CHANGED: &str = "I011";
    pub const BUILTIN_COMPONENT: &str = "I012";
    pub const CHECKPOINT_SIGNATURE: &str = "I013";
    pub const CHECKPOINT_ORDER: &str = "I014";
    pub const CHECKPOINT_EXPIRED: &str = "I015";
    pub const TAG_MOVED: &str = "I016";
}

/// What to check besides the current files.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check that history since this revision only appended lines or flipped `yanked`.
    pub since: Option<String>,
    /// Download tarballs from http(s) and OCI locations to check their checksums (and, in a
    /// registry, that each version's tag still names the recorded manifest).
    pub fetch_remote: bool,
    /// Seconds since 1970, to tell whether the newest checkpoint has expired.
    pub now: u64,
}

/// What verification found, and how much it looked at.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub findings: Vec<Diagnostic>,
    pub packages: usize,
    pub versions: usize,
    pub tarballs_checked: usize,
    /// How many checkpoints the git history holds.
    pub checkpoints: usize,
}

pub fn verify(index: &Index, options: &VerifyOptions) -> VerifyReport {
    let mut report = VerifyReport::default();
    let names = match index.package_names() {
        Ok(names) => names,
        Err(error) => {
            report
                .findings
                .push(Diagnostic::error(codes::MALFORMED, error.to_string()));
            return report;
        }
    };
    // Component -> the packages whose entries provide it, in publish order.
    let mut providers: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for file_name in &names {
        verify_package(index, file_name, options, &mut report, &mut providers);
    }
    verify_components(index, &providers, &mut report);
    if let Some(since) = &options.since {
        verify_history(index, since, &mut report);
    }
    verify_checkpoints(index, options, &mut report);
    report
}

/// The chain of signed checkpoints in the history of the checkout's head, when it has any.
fn verify_checkpoints(index: &Index, options: &VerifyOptions, report: &mut VerifyReport) {
    let Ok(repo) = index.repo() else {
        return;
    };
    let head = match repo.head() {
        Ok(head) => head,
        Err(error) => {
            report.findings.push(Diagnostic::error(
                codes::CHECKPOINT_ORDER,
                format!("cannot read the checkpoints in the history: {error}"),
            ));
            return;
        }
    };
    let chain = match chain::verify(repo, &head, options.since.as_deref(), options.now) {
        Ok(chain) => chain,
        Err(error) => {
            report.findings.push(Diagnostic::error(
                codes::CHECKPOINT_ORDER,
                format!("cannot read the checkpoints in the history: {error}"),
            ));
            return;
        }
    };
    report.checkpoints = chain.checkpoints;
    for problem in chain.problems {
        let short: String = problem.commit.chars().take(12).collect();
        let message = format!("checkpoint added in {short}: {}", problem.message);
        let finding = match problem.kind {
            ProblemKind::Signature => Diagnostic::error(codes::CHECKPOINT_SIGNATURE, message)
                .help("a checkpoint is signed with `ocp index checkpoint` by the index key; a new key needs `--rotate-from` with the old one"),
            ProblemKind::Order => Diagnostic::error(codes::CHECKPOINT_ORDER, message)
                .help("checkpoints are only added, each by `ocp index checkpoint` on top of the one before"),
            ProblemKind::Expired => Diagnostic::warning(codes::CHECKPOINT_EXPIRED, message)
                .help("run `ocp index checkpoint` (the index's `checkpoint` workflow does, on every push and every day)"),
        };
        report
            .findings
            .push(finding.in_file(checkpoint::SIGNATURE_FILE));
    }
}

fn verify_package(
    index: &Index,
    file_name: &str,
    options: &VerifyOptions,
    report: &mut VerifyReport,
    providers: &mut BTreeMap<String, Vec<(String, String)>>,
) {
    let file = match file_name.parse::<PackageName>() {
        Ok(name) => Index::package_file(&name),
        Err(error) => {
            report.findings.push(
                Diagnostic::error(codes::WRONG_PATH, error.to_string())
                    .in_file(format!("packages/.../{}", file_name.escape_debug())),
            );
            return;
        }
    };
    let owner_file = file.replacen("packages/", "owners/", 1);
    let entries = match index.entries(file_name) {
        Ok(entries) => entries,
        Err(error) => {
            report
                .findings
                .push(Diagnostic::error(codes::MALFORMED, error.to_string()).in_file(&file));
            return;
        }
    };
    let actual_path = find_actual_path(index, &file, file_name).unwrap_or_else(|| file.clone());
    if actual_path != file || normalize(file_name) != file_name {
        report.findings.push(
            Diagnostic::error(
                codes::WRONG_PATH,
                format!("`{actual_path}` is not where the package `{file_name}` belongs"),
            )
            .in_file(&actual_path)
            .help(format!(
                "package files live at `packages/{}`",
                shard(&normalize(file_name))
            )),
        );
    }
    report.packages += 1;
    let events = match index.events(file_name) {
        Ok(events) => events,
        Err(error) => {
            report
                .findings
                .push(Diagnostic::error(codes::OWNER_LOG, error.to_string()).in_file(&owner_file));
            Vec::new()
        }
    };
    let owners = match owners::replay(file_name, &events) {
        Ok(owners) => owners,
        Err(error) => {
            report
                .findings
                .push(Diagnostic::error(codes::OWNER_LOG, error.to_string()).in_file(&owner_file));
            Owners::default()
        }
    };
    if events.is_empty() && !entries.is_empty() {
        report.findings.push(
            Diagnostic::error(
                codes::OWNER_LOG,
                format!("`{file_name}` has versions but no owner log, so nobody signed for it"),
            )
            .in_file(&owner_file),
        );
    }
    let mut seen = BTreeSet::new();
    let text = super::read_in_checkout(index.root(), &file, format::MAX_FILE_BYTES)
        .ok()
        .flatten()
        .unwrap_or_default();
    let lines = format::entry_lines(&text);
    for (index_in_file, entry) in entries.iter().enumerate() {
        let line = lines
            .get(index_in_file)
            .copied()
            .unwrap_or(index_in_file + 1);
        let here = format!("{file}:{line}");
        report.versions += 1;
        if entry.name != file_name {
            report.findings.push(
                Diagnostic::error(
                    codes::WRONG_PATH,
                    format!(
                        "{here}: the entry names `{}`, but the file is `{file_name}`'s",
                        entry.name
                    ),
                )
                .in_file(&file),
            );
        }
        if !seen.insert(entry.version.clone()) {
            report.findings.push(
                Diagnostic::error(
                    codes::DUPLICATE_VERSION,
                    format!("{here}: version {} appears twice", entry.version),
                )
                .in_file(&file),
            );
        }
        let valid = entry.check();
        if let Err(reason) = &valid {
            report.findings.push(
                Diagnostic::error(codes::MALFORMED, format!("{here}: {reason}")).in_file(&file),
            );
        }
        if valid.is_ok()
            && let Err(error) = trust::check_entry(entry, &owners)
        {
            report.findings.push(
                Diagnostic::error(codes::SIGNATURE, format!("{here}: {error}"))
                    .in_file(&file)
                    .help("entries change only through `ocp publish`, signed by an owner of the package"),
            );
        }
        if entry.yanked != owners.yanked.contains(&entry.version) {
            report.findings.push(
                Diagnostic::error(
                    codes::YANKED,
                    format!(
                        "{here}: `yanked` is {} but the owner log says {}",
                        entry.yanked,
                        owners.yanked.contains(&entry.version)
                    ),
                )
                .in_file(&file)
                .help("yank and unyank with `ocp yank`, which signs the change"),
            );
        }
        if valid.is_ok() {
            check_tarball(index, entry, options, &here, &file, report);
        }
        for component in entry.components.iter().filter(|_| valid.is_ok()) {
            let list = providers.entry(component.clone()).or_default();
            if !list.iter().any(|(package, _)| package == &entry.name) {
                list.push((entry.name.clone(), entry.published.clone()));
            }
        }
    }
}

/// The path the file of `name` really has (it may sit at a wrong shard).
fn find_actual_path(index: &Index, expected: &str, name: &str) -> Option<String> {
    if index.root().join(expected).is_file() {
        return Some(expected.to_owned());
    }
    let mut stack = vec![index.root().join("packages")];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).ok()?.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                stack.push(path);
            } else if path.file_name().and_then(|n| n.to_str()) == Some(name) {
                return path
                    .strip_prefix(index.root())
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    None
}

fn check_tarball(
    index: &Index,
    entry: &IndexEntry,
    options: &VerifyOptions,
    here: &str,
    file: &str,
    report: &mut VerifyReport,
) {
    let location = index.entry_location(entry);
    let remote = ["http://", "https://", "oci://"]
        .iter()
        .any(|scheme| location.starts_with(scheme));
    if !options.fetch_remote && remote {
        return;
    }
    if location.starts_with("oci://") {
        check_tag(index, entry, here, file, report);
    }
    match storage::fetch(&location, index.root()) {
        Ok(bytes) => {
            report.tarballs_checked += 1;
            let actual = Checksum::of_bytes(&bytes).to_hex();
            if actual != entry.sha256 {
                report.findings.push(Diagnostic::error(codes::CHECKSUM, format!("{here}: the tarball at `{location}` has sha256 {actual}, but the entry says {}", entry.sha256)).in_file(file));
            }
        }
        Err(error) => report.findings.push(
            Diagnostic::warning(
                codes::UNREACHABLE,
                format!("{here}: could not check the tarball: {error}"),
            )
            .in_file(file),
        ),
    }
}

/// In a registry, the tag of a published version must still name the manifest its entry
/// records: a moved tag means someone replaced what the version's name points at.
fn check_tag(index: &Index, entry: &IndexEntry, here: &str, file: &str, report: &mut VerifyReport) {
    let Some(recorded) = &entry.oci_manifest else {
        return;
    };
    match storage::oci_tag_digest(index.config(), entry) {
        Ok(Some(now)) if now.as_str() == recorded => {}
        Ok(now) => report.findings.push(
            Diagnostic::error(
                codes::TAG_MOVED,
                format!(
                    "{here}: the registry's tag for version {} names {}, but the entry records {recorded}",
                    entry.version,
                    now.map_or_else(|| "nothing".to_owned(), |digest| digest.to_string())
                ),
            )
            .in_file(file)
            .help("a published version's tag never moves: ask the registry's owners who moved it, and put it back on the recorded manifest; `ocp install` pulls by digest and is not affected"),
        ),
        Err(error) => report.findings.push(
            Diagnostic::warning(
                codes::UNREACHABLE,
                format!("{here}: could not check the registry's tag: {error}"),
            )
            .in_file(file),
        ),
    }
}

fn verify_components(
    index: &Index,
    providers: &BTreeMap<String, Vec<(String, String)>>,
    report: &mut VerifyReport,
) {
    for (component, packages) in providers {
        let Ok(name) = component.parse::<ComponentName>() else {
            continue; // reported with its entry
        };
        // A name Osiris ships can never be installed beside the releases that ship it: only
        // packages whose ranges exclude them (built-ins moved out of Osiris) may use it.
        if let Some(shipped) = crate::check::builtin::shipped_message(component) {
            for (package, _) in packages
                .iter()
                .filter(|(package, _)| admits_builtin(index, package, component))
            {
                report.findings.push(
                    Diagnostic::error(
                        codes::BUILTIN_COMPONENT,
                        format!("`{package}` provides `{component}`: {shipped}"),
                    )
                    .in_file(package.parse::<crate::model::PackageName>().map_or_else(
                        |_| format!("packages/{package}"),
                        |name| Index::package_file(&name),
                    ))
                    .help("yank the versions that provide it; no environment with Osiris can install them"),
                );
            }
        }
        let file = Index::component_file(&name);
        let recorded = match index.component_owner(component) {
            Ok(recorded) => recorded,
            Err(error) => {
                report
                    .findings
                    .push(Diagnostic::error(codes::COMPONENT, error.to_string()).in_file(&file));
                continue;
            }
        };
        match recorded {
            None => report.findings.push(
                Diagnostic::error(
                    codes::COMPONENT,
                    format!("component `{component}` has no record naming its package"),
                )
                .in_file(&file),
            ),
            Some(owner) => {
                for (package, _) in packages.iter().filter(|(package, _)| *package != owner) {
                    report.findings.push(
                        Diagnostic::error(
                            codes::COMPONENT,
                            format!(
                                "`{package}` provides `{component}`, which belongs to `{owner}`"
                            ),
                        )
                        .in_file(format!("packages/{}", shard(package))),
                    );
                }
            }
        }
    }
}

/// Whether a version of `package` that provides `component` admits an Osiris release that
/// ships it (or cannot be read, which counts as admitting).
fn admits_builtin(index: &Index, package: &str, component: &str) -> bool {
    let Ok(entries) = index.entries(package) else {
        return true;
    };
    entries
        .iter()
        .filter(|entry| entry.components.iter().any(|c| c == component))
        .any(|entry| {
            !crate::check::builtin::shipped_within_text(component, &entry.osiris).is_empty()
        })
}

fn verify_history(index: &Index, since: &str, report: &mut VerifyReport) {
    let repo = match index.repo() {
        Ok(repo) => repo,
        Err(error) => {
            report
                .findings
                .push(Diagnostic::error(codes::HISTORY, error.to_string()));
            return;
        }
    };
    let changes = match repo.changed_files(since) {
        Ok(changes) => changes,
        Err(error) => {
            report.findings.push(Diagnostic::error(
                codes::HISTORY,
                format!("cannot compare with `{since}`: {error}"),
            ));
            return;
        }
    };
    for (status, path) in changes {
        let finding = |message: String| {
            Diagnostic::error(codes::HISTORY, message)
                .in_file(&path)
                .help("an index only grows: publish a new version or yank, never rewrite")
        };
        if status == 'D' {
            report
                .findings
                .push(finding(format!("`{path}` was deleted since `{since}`")));
            continue;
        }
        if status != 'M' {
            continue;
        }
        let old = repo.show(since, &path).ok().flatten().unwrap_or_default();
        let new = std::fs::read_to_string(index.root().join(&path)).unwrap_or_default();
        if path == "config.json" {
            report.findings.push(
                Diagnostic::warning(
                    codes::CONFIG_CHANGED,
                    format!("config.json changed since `{since}`; review the change by hand"),
                )
                .in_file(&path),
            );
        } else if path.starts_with("packages/") {
            if let Some(message) = compare_entries(&old, &new) {
                report
                    .findings
                    .push(finding(format!("`{path}` {message} since `{since}`")));
            }
        } else if path.starts_with("owners/") {
            let appended = match (format::parse_events(&old), format::parse_events(&new)) {
                (Ok(old), Ok(new)) => new.len() >= old.len() && new[..old.len()] == old[..],
                _ => false,
            };
            if !appended {
                report.findings.push(finding(format!(
                    "`{path}` was rewritten since `{since}`; owner logs only grow"
                )));
            }
        } else if path.starts_with("components/") || path.starts_with("tarballs/") {
            report.findings.push(finding(format!(
                "`{path}` was changed since `{since}`; it may never change once written"
            )));
        }
    }
}

/// `None` when `new` only appends lines to `old` or flips `yanked`; else what went wrong.
fn compare_entries(old: &str, new: &str) -> Option<String> {
    let (Ok(old), Ok(new)) = (format::parse_entries(old), format::parse_entries(new)) else {
        return Some("cannot be read".to_owned());
    };
    if new.len() < old.len() {
        return Some(format!("lost {} line(s)", old.len() - new.len()));
    }
    for (line, (before, after)) in old.iter().zip(&new).enumerate() {
        let unyanked = |entry: &IndexEntry| IndexEntry {
            yanked: false,
            ..entry.clone()
        };
        if unyanked(before) != unyanked(after) {
            return Some(format!(
                "changed line {} ({} {}) beyond `yanked`",
                line + 1,
                before.name,
                before.version
            ));
        }
    }
    None
}
