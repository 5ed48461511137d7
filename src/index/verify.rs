//! `ocp index verify`: everything an index promises, checked from its files alone. Every
//! entry and owner event must be valid and signed by an owner, tarballs must match their
//! checksums where they can be reached, each component must belong to one package and must
//! not be a component Osiris itself ships, and (with a base revision) history may only
//! append lines or flip `yanked`.

use std::collections::{BTreeMap, BTreeSet};

use super::format::{self, IndexEntry, shard};
use super::owners::{self, Owners};
use super::{Index, storage};
use crate::diagnostics::Diagnostic;
use crate::model::Checksum;
use crate::model::normalize_name as normalize;
use crate::signing::{PackageClaim, SignatureFile};

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
}

/// What to check besides the current files.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check that history since this revision only appended lines or flipped `yanked`.
    pub since: Option<String>,
    /// Download tarballs from http(s) locations to check their checksums.
    pub fetch_remote: bool,
}

/// What verification found, and how much it looked at.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub findings: Vec<Diagnostic>,
    pub packages: usize,
    pub versions: usize,
    pub tarballs_checked: usize,
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
    report
}

fn verify_package(
    index: &Index,
    file_name: &str,
    options: &VerifyOptions,
    report: &mut VerifyReport,
    providers: &mut BTreeMap<String, Vec<(String, String)>>,
) {
    let file = Index::package_file(file_name);
    let entries = match index.entries(file_name) {
        Ok(entries) => entries,
        Err(error) => {
            report
                .findings
                .push(Diagnostic::error(codes::MALFORMED, error.to_string()).in_file(&file));
            return;
        }
    };
    let actual_path = find_actual_path(index, file_name).unwrap_or_else(|| file.clone());
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
            report.findings.push(
                Diagnostic::error(codes::OWNER_LOG, error.to_string())
                    .in_file(Index::owner_file(file_name)),
            );
            Vec::new()
        }
    };
    let owners = match owners::replay(file_name, &events) {
        Ok(owners) => owners,
        Err(error) => {
            report.findings.push(
                Diagnostic::error(codes::OWNER_LOG, error.to_string())
                    .in_file(Index::owner_file(file_name)),
            );
            Owners::default()
        }
    };
    if events.is_empty() && !entries.is_empty() {
        report.findings.push(
            Diagnostic::error(
                codes::OWNER_LOG,
                format!("`{file_name}` has versions but no owner log, so nobody signed for it"),
            )
            .in_file(Index::owner_file(file_name)),
        );
    }
    let mut seen = BTreeSet::new();
    for (index_in_file, entry) in entries.iter().enumerate() {
        let line = index_in_file + 1;
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
        if let Err(reason) = check_fields(entry) {
            report.findings.push(
                Diagnostic::error(codes::MALFORMED, format!("{here}: {reason}")).in_file(&file),
            );
        }
        check_signature(entry, &owners, &here, &file, report);
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
        check_tarball(index, entry, options, &here, &file, report);
        for component in &entry.components {
            let list = providers.entry(component.clone()).or_default();
            if !list.iter().any(|(package, _)| package == &entry.name) {
                list.push((entry.name.clone(), entry.published.clone()));
            }
        }
    }
}

/// The path the file of `name` really has (it may sit at a wrong shard).
fn find_actual_path(index: &Index, name: &str) -> Option<String> {
    let expected = Index::package_file(name);
    if index.root().join(&expected).is_file() {
        return Some(expected);
    }
    let mut stack = vec![index.root().join("packages")];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
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

fn check_fields(entry: &IndexEntry) -> Result<(), String> {
    let version: crate::model::PackageVersion = entry
        .version
        .parse()
        .map_err(|error: crate::model::VersionError| error.to_string())?;
    if version.to_string() != entry.version {
        return Err(format!(
            "version `{}` is not in normalized form (`{version}`)",
            entry.version
        ));
    }
    if entry.sha256.len() != 64
        || !entry
            .sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(format!(
            "sha256 `{}` is not 64 lowercase hex digits",
            entry.sha256
        ));
    }
    for component in &entry.components {
        component
            .parse::<crate::model::ComponentName>()
            .map_err(|error| error.to_string())?;
    }
    for specifiers in std::iter::once(&entry.osiris)
        .chain(std::iter::once(&entry.python))
        .chain(entry.dependencies.iter().map(|d| &d.requirement))
    {
        if !specifiers.is_empty() {
            <pep440_rs::VersionSpecifiers as std::str::FromStr>::from_str(specifiers)
                .map_err(|error| format!("`{specifiers}` is not a valid version range: {error}"))?;
        }
    }
    time::OffsetDateTime::parse(
        &entry.published,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| format!("`published` is not an RFC 3339 time: `{}`", entry.published))?;
    Ok(())
}

fn check_signature(
    entry: &IndexEntry,
    owners: &Owners,
    here: &str,
    file: &str,
    report: &mut VerifyReport,
) {
    let mut fail = |reason: String| {
        report
            .findings
            .push(Diagnostic::error(codes::SIGNATURE, format!("{here}: {reason}")).in_file(file))
    };
    let signature = match SignatureFile::parse(&entry.signature) {
        Ok(signature) => signature,
        Err(error) => return fail(format!("the signature is unreadable: {error}")),
    };
    if signature.key_id.to_string() != entry.key_id {
        return fail(format!(
            "the entry says key {} but the signature was made by {}",
            entry.key_id, signature.key_id
        ));
    }
    let Some(key) = owners.ever.get(&entry.key_id) else {
        return fail(format!(
            "signed by key {}, which has never owned `{}`",
            entry.key_id, entry.name
        ));
    };
    if let Err(error) = signature.verify_trusted_comment(key) {
        return fail(format!(
            "the signature does not verify with key {}: {error}",
            entry.key_id
        ));
    }
    match PackageClaim::parse(&signature.trusted_comment) {
        Ok(Some(claim))
            if normalize(&claim.name) == entry.name
                && claim.version == entry.version
                && claim.sha256 == entry.sha256 => {}
        Ok(Some(claim)) => fail(format!(
            "the signature vouches for {} {} (sha256 {}), not for this entry ({} {}, sha256 {})",
            claim.name, claim.version, claim.sha256, entry.name, entry.version, entry.sha256
        )),
        Ok(None) => fail(
            "the signature's trusted comment names no package, so it could belong to any file"
                .to_owned(),
        ),
        Err(error) => fail(error.to_string()),
    }
}

fn check_tarball(
    index: &Index,
    entry: &IndexEntry,
    options: &VerifyOptions,
    here: &str,
    file: &str,
    report: &mut VerifyReport,
) {
    let location = index
        .config()
        .download_location(&entry.name, &entry.version);
    if !options.fetch_remote
        && (location.starts_with("http://") || location.starts_with("https://"))
    {
        return;
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

fn verify_components(
    index: &Index,
    providers: &BTreeMap<String, Vec<(String, String)>>,
    report: &mut VerifyReport,
) {
    for (component, packages) in providers {
        // A name Osiris ships can never be installed beside Osiris.
        if let Some(shipped) = crate::check::builtin::shipped_message(component) {
            for (package, _) in packages {
                report.findings.push(
                    Diagnostic::error(
                        codes::BUILTIN_COMPONENT,
                        format!("`{package}` provides `{component}`: {shipped}"),
                    )
                    .in_file(Index::package_file(package))
                    .help("yank the versions that provide it; no environment with Osiris can install them"),
                );
            }
        }
        let file = Index::component_file(component);
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
                        .in_file(Index::package_file(package)),
                    );
                }
            }
        }
    }
}

fn verify_history(index: &Index, since: &str, report: &mut VerifyReport) {
    let repo = index.repo();
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

/// Why `entry`'s signature does not hold up against `owners` (the replayed owner log of its
/// package), as `ocp index verify` reports it; empty when it verifies. For readers other than
/// `ocp index verify` (the component directory) that show, version by version, whether the
/// signature verified.
pub fn signature_findings(entry: &IndexEntry, owners: &Owners) -> Vec<Diagnostic> {
    let mut report = VerifyReport::default();
    let here = format!("{} {}", entry.name, entry.version);
    let file = Index::package_file(&entry.name);
    check_signature(entry, owners, &here, &file, &mut report);
    report.findings
}
