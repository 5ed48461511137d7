//! `ocp owner add|remove|list` and `ocp yank [--undo]`: signed changes to a package's owner
//! log (and, for yanks, to the `yanked` flag of its entry), landed with the same
//! fetch-reapply-push loop as `ocp publish`.

use anyhow::Context;

use crate::error::helped;
use crate::index::Index;
use crate::index::format::{self, OwnerAction, OwnerEvent};
use crate::index::git::PushOutcome;
use crate::index::owners::{self, Owners};
use crate::ops::key::{PasswordSource, SecretKeySource, load_secret_key};
use crate::ops::publish::{MAX_ATTEMPTS, rfc3339, write};
use crate::ops::registry::{self, Freshness, IndexLocation};
use crate::shell::Shell;
use crate::signing::{PublicKey, SecretKey};

/// A change to a package's owners or yanked versions.
#[derive(Debug, Clone)]
pub enum OwnerChange {
    Add(PublicKey),
    Remove(String),
    Yank(String),
    Unyank(String),
}

pub struct OwnerOpts {
    pub location: IndexLocation,
    /// A package or component name.
    pub package: String,
    pub change: OwnerChange,
    pub key: SecretKeySource,
    pub password: PasswordSource,
    pub now: u64,
}

/// What landed.
#[derive(Debug)]
pub struct OwnerChanged {
    pub package: String,
    pub commit: String,
    pub owners: Vec<String>,
}

pub fn change(shell: &mut Shell, mut opts: OwnerOpts) -> anyhow::Result<OwnerChanged> {
    let key = load_secret_key(&opts.key, &mut opts.password)?;
    let open = registry::open_to_change(&opts.location)?;
    let index = &open.index;
    let package = resolve_package(index, &opts.package)?;
    for attempt in 1..=MAX_ATTEMPTS {
        let result = apply(index, &package, &opts.change, &key, opts.now);
        let (paths, message, owners) = match result {
            Ok(applied) => applied,
            Err(error) => {
                let _ = index.repo().map(|repo| repo.reset_to_origin());
                return Err(error);
            }
        };
        let commit = match index.repo()?.commit(&paths, &message) {
            Ok(commit) => commit,
            Err(error) => {
                let _ = index.repo().map(|repo| repo.reset_to_origin());
                return Err(error).context("failed to commit to the index");
            }
        };
        match index.repo()?.push() {
            Ok(PushOutcome::Pushed) => {
                if let Err(error) = registry::record_head(&open) {
                    shell.warn(format!(
                        "could not remember the index's new head: {error:#}"
                    ))?;
                }
                shell.status(
                    "Updated",
                    format!(
                        "{} in `{}`",
                        message.lines().next().unwrap_or_default(),
                        opts.location.name
                    ),
                )?;
                return Ok(OwnerChanged {
                    package,
                    commit,
                    owners,
                });
            }
            Ok(PushOutcome::Rejected) => {
                shell.note(format!("another change reached `{}` first; re-applying (attempt {attempt} of {MAX_ATTEMPTS})", opts.location.name))?;
                crate::ops::publish::backoff(attempt);
                registry::update(&open)
                    .context("failed to fetch the index after a rejected push")?;
            }
            Err(error) => {
                let _ = index.repo().map(|repo| repo.reset_to_origin());
                return Err(error).context("failed to push to the index");
            }
        }
    }
    let _ = index.repo().map(|repo| repo.reset_to_origin());
    Err(helped(
        format!("could not update `{package}`: the index kept moving"),
        "run the command again; nothing was left behind",
    ))
}

/// The normalized package for a package or component name, which must be in the index.
pub fn resolve_package(index: &Index, query: &str) -> anyhow::Result<String> {
    index.find_package(query)?.ok_or_else(|| {
        helped(
            format!("there is no package or component `{query}` in this index"),
            "check the name with `ocp search`",
        )
    })
}

fn apply(
    index: &Index,
    package: &str,
    change: &OwnerChange,
    key: &SecretKey,
    now: u64,
) -> anyhow::Result<(Vec<String>, String, Vec<String>)> {
    let mut events = index.events(package)?;
    let owners = owners::replay(package, &events)
        .with_context(|| format!("the owner log of `{package}` is invalid"))?;
    let key_id = key.key_id().to_string();
    if !owners.is_owner(&key_id) {
        return Err(not_owner(package, &key_id, &owners));
    }
    let mut event = OwnerEvent {
        action: OwnerAction::Yank,
        package: package.to_owned(),
        key_id: None,
        public_key: None,
        version: None,
        by: String::new(),
        time: rfc3339(now),
        signature: String::new(),
    };
    let mut paths = Vec::new();
    let message = match change {
        OwnerChange::Add(public_key) => {
            let id = public_key.key_id().to_string();
            if owners.is_owner(&id) {
                return Err(helped(
                    format!("key {id} already owns `{package}`"),
                    "nothing to do",
                ));
            }
            event.action = OwnerAction::AddOwner;
            event.key_id = Some(id.clone());
            event.public_key = Some(public_key.to_base64());
            format!("Add owner {id} to {package}")
        }
        OwnerChange::Remove(id) => {
            if !owners.is_owner(id) {
                return Err(helped(
                    format!("key {id} does not own `{package}`"),
                    format!(
                        "its owners are {}",
                        owners
                            .current
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if owners.current.len() == 1 {
                return Err(helped(
                    format!("key {id} is the last owner of `{package}`"),
                    "add another owner first; a package always has one",
                ));
            }
            event.action = OwnerAction::RemoveOwner;
            event.key_id = Some(id.clone());
            format!("Remove owner {id} from {package}")
        }
        OwnerChange::Yank(version) | OwnerChange::Unyank(version) => {
            let yank = matches!(change, OwnerChange::Yank(_));
            let mut entries = index.entries(package)?;
            let Some(entry) = entries.iter_mut().find(|e| e.version == *version) else {
                let versions: Vec<String> = index
                    .entries(package)?
                    .into_iter()
                    .map(|e| e.version)
                    .collect();
                return Err(helped(
                    format!("`{package}` has no version {version}"),
                    format!("its versions are {}", versions.join(", ")),
                ));
            };
            if entry.yanked == yank {
                return Err(helped(
                    format!(
                        "{package} {version} is already {}",
                        if yank { "yanked" } else { "not yanked" }
                    ),
                    "nothing to do",
                ));
            }
            entry.yanked = yank;
            let file = Index::package_file(&crate::index::parse_package(package)?);
            write(index, &file, &format::format_entries(&entries))?;
            paths.push(file);
            event.action = if yank {
                OwnerAction::Yank
            } else {
                OwnerAction::Unyank
            };
            event.version = Some(version.clone());
            format!(
                "{} {package} {version}",
                if yank { "Yank" } else { "Unyank" }
            )
        }
    };
    events.push(owners::sign_event(event, key)?);
    let after = owners::replay(package, &events).context("the new owner event does not verify")?;
    let file = Index::owner_file(&crate::index::parse_package(package)?);
    write(index, &file, &format::format_events(&events))?;
    paths.push(file);
    Ok((
        paths,
        format!("{message}\n\nSigned-by: {key_id}"),
        after.current.keys().cloned().collect(),
    ))
}

fn not_owner(package: &str, key_id: &str, owners: &Owners) -> anyhow::Error {
    let list: Vec<&str> = owners.current.keys().map(String::as_str).collect();
    helped(
        format!(
            "key {key_id} does not own `{package}`; its owners are {}",
            list.join(", ")
        ),
        "use an owner's key (`--key` or `OCP_SIGNING_KEY`)",
    )
}

/// The current owners of a package: key id -> public key text.
pub fn list(
    shell: &mut Shell,
    location: &IndexLocation,
    freshness: Freshness,
    query: &str,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let open = registry::open(location, freshness)?;
    open.report(shell)?;
    let package = resolve_package(&open.index, query)?;
    let events = open.index.events(&package)?;
    let owners = owners::replay(&package, &events)
        .with_context(|| format!("the owner log of `{package}` is invalid"))?;
    Ok((
        package,
        owners
            .current
            .iter()
            .map(|(id, key)| (id.clone(), key.to_base64()))
            .collect(),
    ))
}
