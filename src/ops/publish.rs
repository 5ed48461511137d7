//! `ocp publish`: check, build, sign, store the tarball, append the entry, commit and push.
//! Either all of it lands or none of it: a push that fails for good takes back the stored
//! tarball and resets the index clone. When another publisher pushed first, the entry is
//! re-applied on top of theirs and pushed again, a bounded number of times.
//!
//! The signature's trusted comment carries the digest of every field of the entry that
//! resolution and installation act on (see [`crate::signing::canonical`]), so nobody without
//! the key can change them later.
//!
//! Storage is create-only, and two publishers of the same version (same bytes) may share one
//! stored tarball. So a rollback takes back a tarball it created only after the index,
//! fetched again, shows no entry for that version (and puts it back if one appears
//! meanwhile), and a publisher whose push lands on a tarball someone else stored makes sure
//! it is still there afterwards.

use std::path::PathBuf;

use anyhow::Context;

use crate::build;
use crate::error::helped;
use crate::index::format::{self, ComponentRecord, IndexEntry, OwnerAction, OwnerEvent};
use crate::index::git::{PushOutcome, Repo};
use crate::index::storage::{self, Credentials, Stored, StoredAt};
use crate::index::{Index, owners};
use crate::model::{Checksum, ComponentName};
use crate::ops::check;
use crate::ops::key::{PasswordSource, SecretKeySource, load_secret_key};
use crate::ops::registry::{self, IndexLocation};
use crate::shell::Shell;
use crate::signing::{PackageClaim, SecretKey, SignatureFile};

/// How many times a publish is re-applied after losing a push race.
pub const MAX_ATTEMPTS: usize = 8;

pub struct PublishOpts {
    pub path: PathBuf,
    pub location: IndexLocation,
    pub dry_run: bool,
    pub allow_dirty: bool,
    pub key: SecretKeySource,
    pub password: PasswordSource,
    /// Archive timestamps (`SOURCE_DATE_EPOCH`).
    pub mtime: u64,
    /// Now, in seconds since 1970 (the signature's timestamp and the entry's publish time).
    pub now: u64,
    /// The upload token and the host it may go to, and the registry login, from the user's
    /// configuration.
    pub credentials: Credentials,
}

/// What a publish did (or, with `--dry-run`, would do).
#[derive(Debug)]
pub struct Published {
    pub entry: IndexEntry,
    pub index: String,
    pub dry_run: bool,
    /// The index commit that holds the entry.
    pub commit: Option<String>,
    /// Where the tarball was stored.
    pub tarball: Option<String>,
    /// True when this publish claimed the package name (its first version).
    pub claimed: bool,
    pub attempts: usize,
}

pub fn publish(shell: &mut Shell, mut opts: PublishOpts) -> anyhow::Result<Published> {
    let (package, _report, what) = check::load_checked(shell, &opts.path, "publish")?;
    refuse_dirty(&opts.path, opts.allow_dirty)?;
    let plan = build::plan(&package)
        .with_context(|| format!("failed to prepare the archive of {what}"))?;
    // Ask the index first: building is quick, but decrypting the key takes seconds and a GiB
    // of memory, and a version that exists would be refused after all that.
    let open = registry::open_to_change(&opts.location)?;
    let index = &open.index;
    refuse_published(
        index,
        &crate::model::normalize_name(&plan.manifest.name),
        &plan.manifest.version,
    )?;
    let bytes = build::write_tar_gz(&plan.base_name, &plan.entries, opts.mtime)
        .context("failed to build the archive")?;
    build::check_installable(&bytes).with_context(|| format!("refusing to publish {what}"))?;
    let sha256 = Checksum::of_bytes(&bytes);
    shell.status(
        "Packaged",
        format!(
            "{} v{} ({} bytes, sha256 {})",
            plan.name,
            plan.version,
            bytes.len(),
            sha256
        ),
    )?;

    let key = load_secret_key(&opts.key, &mut opts.password)?;
    let mut entry = IndexEntry::from_manifest(
        &plan.manifest,
        sha256.to_hex(),
        String::new(),
        key.key_id().to_string(),
        rfc3339(opts.now),
    );
    let claim = PackageClaim::for_tarball(&plan.manifest, &sha256, opts.now)?;
    // The claim is computed from the manifest and the entry from the same manifest; they
    // must agree, or the entry would be refused by every reader.
    if claim.entry != Some(entry.signed_fields().digest().to_hex()) {
        return Err(anyhow::Error::new(crate::error::Bug(format!(
            "the signed fields of {} {} differ from its index entry",
            entry.name, entry.version
        ))));
    }
    let signature = SignatureFile::sign(
        &key,
        bytes.as_slice(),
        &claim.to_trusted_comment(),
        &format!("signature from ocp secret key {}", key.key_id()),
    )?;
    signature
        .verify(&key.public_key(), bytes.as_slice(), false)
        .context("the new signature does not verify")?;
    shell.status(
        "Signed",
        format!("{} v{} with key {}", plan.name, plan.version, key.key_id()),
    )?;

    entry.signature = signature.to_text();
    validate_entry_schema(&entry)?;
    entry.check().map_err(|reason| {
        crate::error::Bug(format!("the new index entry is not valid: {reason}"))
    })?;

    let credentials = &opts.credentials;
    let mut stored: Option<(StoredAt, Stored)> = None;
    let undo = |entry: &IndexEntry, stored: Option<&(StoredAt, Stored)>| {
        rollback(&open, entry, &bytes, stored, credentials);
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let claimed = match admit(index, &entry, &key) {
            Ok(claimed) => claimed,
            Err(error) => {
                undo(&entry, stored.as_ref());
                return Err(error);
            }
        };
        if opts.dry_run {
            shell.status("Checked", format!("{} v{} would be published to `{}` (dry run: nothing stored, committed or pushed)", entry.name, entry.version, opts.location.name))?;
            return Ok(Published {
                entry,
                index: opts.location.name.clone(),
                dry_run: true,
                commit: None,
                tarball: None,
                claimed,
                attempts: attempt,
            });
        }
        match apply_and_push(
            index,
            &mut entry,
            &key,
            claimed,
            &bytes,
            credentials,
            &mut stored,
        ) {
            Ok(Some(commit)) => {
                if let Err(error) = registry::record_head(&open) {
                    shell.warn(format!(
                        "could not remember the index's new head: {error:#}"
                    ))?;
                }
                if let Some((
                    StoredAt::File(_) | StoredAt::Url(_) | StoredAt::Oci(_),
                    Stored::AlreadyThere,
                )) = &stored
                    && let Err(error) = storage::store(
                        index.config(),
                        index.root(),
                        &entry.name,
                        &entry.version,
                        &bytes,
                        &entry.signature,
                        credentials,
                    )
                {
                    shell.warn(format!("{} {} is published, but its tarball could not be checked after the push: {error}", entry.name, entry.version))?;
                }
                let tarball = stored.as_ref().map(|(at, _)| describe_location(at));
                shell.status(
                    "Published",
                    format!(
                        "{} v{} to `{}`",
                        entry.name, entry.version, opts.location.name
                    ),
                )?;
                return Ok(Published {
                    entry,
                    index: opts.location.name.clone(),
                    dry_run: false,
                    commit: Some(commit),
                    tarball,
                    claimed,
                    attempts: attempt,
                });
            }
            Ok(None) => {
                shell.note(format!("another publisher pushed to `{}` first; re-applying (attempt {attempt} of {MAX_ATTEMPTS})", opts.location.name))?;
                backoff(attempt);
                if let Err(error) = registry::update(&open) {
                    undo(&entry, stored.as_ref());
                    return Err(error).context("failed to fetch the index after a rejected push");
                }
            }
            Err(error) => {
                undo(&entry, stored.as_ref());
                return Err(error);
            }
        }
    }
    undo(&entry, stored.as_ref());
    Err(helped(
        format!(
            "could not publish {} {}: the index kept moving ({MAX_ATTEMPTS} pushes were rejected)",
            entry.name, entry.version
        ),
        "run `ocp publish` again; nothing was left behind",
    ))
}

/// Refuses to publish from a git working tree with uncommitted changes.
fn refuse_dirty(path: &std::path::Path, allow_dirty: bool) -> anyhow::Result<()> {
    if allow_dirty || !Repo::is_work_tree(path) {
        return Ok(());
    }
    if Repo::at(path)
        .is_dirty(path)
        .context("failed to read the package's git status")?
    {
        return Err(helped(
            format!(
                "`{}` has uncommitted changes, so the published package would not match any commit",
                path.display()
            ),
            "commit or stash them, or pass `--allow-dirty`",
        ));
    }
    Ok(())
}

/// Refuses a version the index already has.
fn refuse_published(index: &Index, name: &str, version: &str) -> anyhow::Result<()> {
    if index.entries(name)?.iter().any(|e| e.version == version) {
        return Err(helped(
            format!("{name} {version} is already published; published versions never change"),
            "raise the version in pyproject.toml, spec.yaml and `__version__`, then publish again",
        ));
    }
    Ok(())
}

/// Checks the entry against the index as it is now; `Ok(true)` when it claims a new name.
fn admit(index: &Index, entry: &IndexEntry, key: &SecretKey) -> anyhow::Result<bool> {
    refuse_published(index, &entry.name, &entry.version)?;
    let events = index.events(&entry.name)?;
    let owners = owners::replay(&entry.name, &events)
        .with_context(|| format!("the owner log of `{}` is invalid", entry.name))?;
    let key_id = key.key_id().to_string();
    if !events.is_empty() && !owners.is_owner(&key_id) {
        let list: Vec<&str> = owners.current.keys().map(String::as_str).collect();
        return Err(helped(
            format!(
                "key {key_id} does not own `{}`; its owners are {}",
                entry.name,
                list.join(", ")
            ),
            "publish with an owner's key, or ask an owner to run `ocp owner add`",
        ));
    }
    for component in &entry.components {
        // `ocp check` refuses these names first; the index must never take one either,
        // unless the entry's Osiris range excludes every release that ships it.
        if let Some(shipped) = crate::check::builtin::shipped_message(component)
            && !crate::check::builtin::shipped_within_text(component, &entry.osiris).is_empty()
        {
            return Err(helped(
                format!("{shipped}, so `{}` cannot provide it", entry.name),
                "rename the component (its spec `name` and entry point), or exclude those releases from the `osiris-pipeline` range",
            ));
        }
        if let Some(owner) = index.component_owner(component)?
            && owner != entry.name
        {
            return Err(helped(
                format!(
                    "the component `{component}` belongs to `{owner}`; `{}` cannot provide it",
                    entry.name
                ),
                "rename the component (its spec `name` and entry point), or ask the owners of the other package",
            ));
        }
    }
    Ok(events.is_empty())
}

/// Stores the tarball (once), writes the entry, commits and pushes. `Ok(None)`: the push lost
/// a race and the caller should re-apply. A tarball stored in a registry gives the entry its
/// manifest digest.
fn apply_and_push(
    index: &Index,
    entry: &mut IndexEntry,
    key: &SecretKey,
    claimed: bool,
    bytes: &[u8],
    credentials: &Credentials,
    stored: &mut Option<(StoredAt, Stored)>,
) -> anyhow::Result<Option<String>> {
    let config = index.config();
    // Index storage writes into the fresh checkout every time; other storage only once.
    if stored.is_none() || matches!(stored, Some((StoredAt::InIndex(_), _))) {
        let result = storage::store(
            config,
            index.root(),
            &entry.name,
            &entry.version,
            bytes,
            &entry.signature,
            credentials,
        )
        .map_err(|error| match error.help() {
            Some(help) => crate::error::with_help(error, help),
            None => anyhow::Error::new(error),
        })
        .with_context(|| {
            format!(
                "failed to store the tarball of {} {}",
                entry.name, entry.version
            )
        })?;
        if stored.is_none() {
            *stored = Some(result);
        }
    }
    if let Some((StoredAt::Oci(reference), _)) = stored
        && let crate::oci::Target::Digest(digest) = &reference.target
    {
        entry.oci_manifest = Some(digest.to_string());
    }
    let mut paths = Vec::new();
    if let Some((StoredAt::InIndex(relative), _)) = stored {
        paths.push(relative.clone());
    }
    let name = crate::index::parse_package(&entry.name)?;
    let package_file = Index::package_file(&name);
    let mut entries = index.entries(&entry.name)?;
    entries.push(entry.clone());
    write(index, &package_file, &format::format_entries(&entries))?;
    paths.push(package_file);
    if claimed {
        let event = OwnerEvent {
            action: OwnerAction::Claim,
            package: entry.name.clone(),
            key_id: Some(key.key_id().to_string()),
            public_key: Some(key.public_key().to_base64()),
            version: None,
            by: String::new(),
            time: entry.published.clone(),
            signature: String::new(),
        };
        let event = owners::sign_event(event, key)?;
        let owner_file = Index::owner_file(&name);
        write(index, &owner_file, &format::format_events(&[event]))?;
        paths.push(owner_file);
    }
    for component in &entry.components {
        if index.component_owner(component)?.is_none() {
            let file = Index::component_file(&component.parse::<ComponentName>()?);
            let record = ComponentRecord {
                component: component.clone(),
                package: entry.name.clone(),
            };
            write(index, &file, &(serde_json::to_string(&record)? + "\n"))?;
            paths.push(file);
        }
    }
    let message = format!(
        "Publish {} {}\n\nComponents: {}\nSigned-by: {}\nSha256: {}",
        entry.name,
        entry.version,
        entry.components.join(", "),
        entry.key_id,
        entry.sha256
    );
    let commit = index
        .repo()?
        .commit(&paths, &message)
        .context("failed to commit to the index")?;
    match index
        .repo()?
        .push()
        .context("failed to push to the index")?
    {
        PushOutcome::Pushed => Ok(Some(commit)),
        PushOutcome::Rejected => Ok(None),
    }
}

pub(crate) fn write(index: &Index, relative: &str, text: &str) -> anyhow::Result<()> {
    let path = index.root().join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
    }
    crate::fsutil::write_atomic(&path, text.as_bytes())
}

/// Puts the index clone back to origin and takes back a tarball this publish created, unless
/// another publisher of the same version relies on it.
fn rollback(
    open: &registry::OpenIndex,
    entry: &IndexEntry,
    bytes: &[u8],
    stored: Option<&(StoredAt, Stored)>,
    credentials: &Credentials,
) {
    let index = &open.index;
    let _ = index.repo().map(|repo| repo.reset_to_origin());
    let Some((at @ (StoredAt::File(_) | StoredAt::Url(_) | StoredAt::Oci(_)), Stored::Created)) =
        stored
    else {
        return;
    };
    // Unknown counts as published: better an orphan tarball than an entry without one.
    if published_now(open, entry) != Some(false) {
        return;
    }
    let _ = storage::unstore(at, credentials);
    // Another publisher of the same bytes may have pushed its entry in the meantime, relying
    // on the tarball that was just taken back: then it goes back.
    if published_now(open, entry) != Some(false) {
        let _ = storage::store(
            index.config(),
            index.root(),
            &entry.name,
            &entry.version,
            bytes,
            &entry.signature,
            credentials,
        );
    }
}

/// Whether the index, fetched now, has `entry`'s version with its sha256; `None` when that
/// cannot be known.
fn published_now(open: &registry::OpenIndex, entry: &IndexEntry) -> Option<bool> {
    registry::update(open).ok()?;
    let index = &open.index;
    let entries = index.entries(&entry.name).ok()?;
    Some(
        entries
            .iter()
            .any(|e| e.version == entry.version && e.sha256 == entry.sha256),
    )
}

fn describe_location(at: &StoredAt) -> String {
    match at {
        StoredAt::InIndex(relative) => relative.clone(),
        StoredAt::File(path) => path.display().to_string(),
        StoredAt::Url(url) => url.clone(),
        StoredAt::Oci(reference) => reference.to_string(),
    }
}

fn validate_entry_schema(entry: &IndexEntry) -> anyhow::Result<()> {
    let value = serde_json::to_value(entry)?;
    let validator = crate::schemas::index_entry_validator().map_err(|error| {
        crate::error::Bug(format!("the index entry schema does not compile: {error}"))
    })?;
    if let Some(error) = validator.iter_errors(&value).next() {
        return Err(anyhow::Error::new(crate::error::Bug(format!(
            "the new index entry breaks its schema at `{}`: {error}",
            error.instance_path().as_str()
        ))));
    }
    Ok(())
}

/// Waits a little before re-applying after a lost push race, longer each time and with
/// jitter, so publishers that collided do not collide again in lockstep.
pub(crate) fn backoff(attempt: usize) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) % 150);
    let base = 50 * u64::try_from(attempt.min(6)).unwrap_or(6);
    std::thread::sleep(std::time::Duration::from_millis(base + jitter));
}

/// Seconds since 1970 as RFC 3339 UTC.
pub fn rfc3339(seconds: u64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
