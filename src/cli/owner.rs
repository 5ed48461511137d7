//! `ocp owner add|remove|list` and `ocp yank`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde::Serialize;

use super::Format;
use super::key::{password_source, secret_key_source};
use crate::error::helped;
use crate::home;
use crate::ops::key::load_public_key;
use crate::ops::owner::{self as ops, OwnerChange, OwnerOpts};
use crate::ops::registry::{self, Freshness};
use crate::shell::Shell;

/// Where and as whom: shared by the commands that change an index.
#[derive(Debug, Args)]
pub struct IndexChangeArgs {
    /// The index: a name from `OCP_HOME/config.toml`, a git URL or a path [default: the local index]
    #[arg(
        long,
        value_name = "NAME|URL|PATH",
        env = "OCP_INDEX",
        hide_env_values = true
    )]
    index: Option<String>,

    /// The secret key file of an owner [default: `OCP_SIGNING_KEY`, then `OCP_HOME/keys/ocp.key`]
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
}

/// Yank a published version, or undo a yank
///
/// A yanked version stays in the index, so lock files that pin it keep working, but it is
/// never chosen for a new resolution. Needs an owner's key; the change is signed.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp yank shopify-osiris@1.0.0\n  ocp yank shopify.extractor@1.0.0 --undo"
)]
pub struct YankArgs {
    /// `<package or component>@<version>`
    spec: String,

    /// Unyank the version
    #[arg(long)]
    undo: bool,

    #[command(flatten)]
    target: IndexChangeArgs,
}

/// Manage who may publish and yank a package
///
/// The first publish of a package makes its key the owner. Owners add and remove owners; every
/// change is signed by an owner and checked by `ocp index verify`.
#[derive(Debug, Args)]
pub struct OwnerArgs {
    #[command(subcommand)]
    command: OwnerCommand,
}

#[derive(Debug, Subcommand)]
enum OwnerCommand {
    /// Add an owner (a public key: a `.pub` file or its `RW...` text)
    #[command(after_help = "Example:\n  ocp owner add shopify-osiris ./alice.pub")]
    Add {
        package: String,
        public_key: String,
        #[command(flatten)]
        target: IndexChangeArgs,
    },
    /// Remove an owner by key id
    Remove {
        package: String,
        key_id: String,
        #[command(flatten)]
        target: IndexChangeArgs,
    },
    /// List the owners of a package
    List {
        package: String,
        #[arg(
            long,
            value_name = "NAME|URL|PATH",
            env = "OCP_INDEX",
            hide_env_values = true
        )]
        index: Option<String>,
        /// Use the local copy of the index without updating it
        #[arg(long)]
        offline: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Serialize)]
struct JsonOwners {
    format_version: u32,
    package: String,
    owners: Vec<JsonOwner>,
}

#[derive(Serialize)]
struct JsonOwner {
    key_id: String,
    public_key: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn change(
    shell: &mut Shell,
    package: String,
    change: OwnerChange,
    target: IndexChangeArgs,
) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let opts = OwnerOpts {
        location: registry::locate(&home, target.index.as_deref())?,
        package,
        change,
        key: secret_key_source(target.key, &home),
        password: password_source(),
        now: now(),
    };
    ops::change(shell, opts)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_yank(args: YankArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let Some((package, version)) = args
        .spec
        .rsplit_once('@')
        .filter(|(p, v)| !p.is_empty() && !v.is_empty())
    else {
        return Err(helped(
            format!("`{}` does not name a version", args.spec),
            "write `<package>@<version>`, for example `shopify-osiris@1.0.0`",
        ));
    };
    let version = version
        .parse::<crate::model::PackageVersion>()
        .map(|v| v.to_string())
        .unwrap_or_else(|_| version.to_owned());
    let what = if args.undo {
        OwnerChange::Unyank(version)
    } else {
        OwnerChange::Yank(version)
    };
    change(shell, package.to_owned(), what, args.target)
}

pub fn run_owner(args: OwnerArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    match args.command {
        OwnerCommand::Add {
            package,
            public_key,
            target,
        } => {
            let key = load_public_key(&public_key)?;
            change(shell, package, OwnerChange::Add(key), target)
        }
        OwnerCommand::Remove {
            package,
            key_id,
            target,
        } => change(
            shell,
            package,
            OwnerChange::Remove(key_id.to_uppercase()),
            target,
        ),
        OwnerCommand::List {
            package,
            index,
            offline,
            format,
        } => {
            let home = home::ocp_home()?;
            let location = registry::locate(&home, index.as_deref())?;
            let freshness = if offline {
                Freshness::Offline
            } else {
                Freshness::Update
            };
            let (package, owners) = ops::list(shell, &location, freshness, &package)?;
            match format {
                Format::Json => shell.data(serde_json::to_string_pretty(&JsonOwners {
                    format_version: 1,
                    package,
                    owners: owners
                        .into_iter()
                        .map(|(key_id, public_key)| JsonOwner { key_id, public_key })
                        .collect(),
                })?)?,
                Format::Human => {
                    for (key_id, public_key) in owners {
                        shell.data(format!("{key_id}  {public_key}"))?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
