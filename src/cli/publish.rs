//! `ocp publish`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use serde::Serialize;

use super::Format;
use super::key::{password_source, secret_key_source};
use crate::error::HelpExt;
use crate::index::storage::Credentials;
use crate::ops::publish::{self as ops, PublishOpts};
use crate::ops::registry;
use crate::shell::Shell;
use crate::{build, home};

/// Check, build, sign and publish a package to an index
///
/// Runs `ocp check`, builds the reproducible tarball, signs it with your key, stores it where
/// the index keeps tarballs, appends the new version to the index, commits and pushes. The
/// first publish of a name makes your key its owner; later versions must be signed by an
/// owner. Published versions never change: publishing one twice is refused.
///
/// With no `--index`, publishes to the default local index under `OCP_HOME`, created on first
/// use, so `ocp publish` then `ocp install` works with no server.
///
/// An index that stores tarballs on an HTTP server gets an upload token only from your own
/// configuration, and only for the host you name there:
///
///   [registries.acme]                  # in OCP_HOME/config.toml
///   index = "git@github.com:acme/ocp-index.git"
///   token-env = "ACME_UPLOAD_TOKEN"    # the variable that holds the token
///   upload-host = "files.acme.example" # the only host it is sent to
///
/// or `OCP_REGISTRY_ACME_TOKEN` and `OCP_REGISTRY_ACME_UPLOAD_HOST`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp publish\n  ocp publish --index acme --dry-run\n  OCP_SIGNING_KEY=\"$KEY\" OCP_SIGNING_KEY_PASSWORD=\"$PASS\" ocp publish --index git@github.com:acme/ocp-index.git --format json"
)]
pub struct PublishArgs {
    /// The package directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    /// The index: a name from `OCP_HOME/config.toml`, a git URL or a path [default: the local index]
    #[arg(
        long,
        value_name = "NAME|URL|PATH",
        env = "OCP_INDEX",
        hide_env_values = true
    )]
    index: Option<String>,

    /// Do everything (check, build, sign, validate the entry against the index) but store,
    /// commit and push
    #[arg(long)]
    dry_run: bool,

    /// Publish even if the package's git working tree has uncommitted changes
    #[arg(long)]
    allow_dirty: bool,

    /// The secret key file [default: `OCP_SIGNING_KEY`, then `OCP_HOME/keys/ocp.key`]
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonPublished {
    format_version: u32,
    name: String,
    version: String,
    sha256: String,
    key_id: String,
    components: Vec<String>,
    index: String,
    dry_run: bool,
    claimed: bool,
    commit: Option<String>,
    tarball: Option<String>,
}

pub fn run(args: PublishArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let mtime = build::mtime_from_env(epoch.as_deref())
        .map_err(anyhow::Error::msg)
        .help("unset SOURCE_DATE_EPOCH, or set it to seconds since 1970")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let location = registry::locate(&home, args.index.as_deref())?;
    let env = |name: &str| std::env::var(name).ok();
    let credential = registry::upload_credential(&location, &env)?;
    let credentials = Credentials::new(credential, &env, dirs::home_dir().as_deref());
    let opts = PublishOpts {
        path: args.path,
        location,
        dry_run: args.dry_run,
        allow_dirty: args.allow_dirty,
        key: secret_key_source(args.key, &home),
        password: password_source(),
        mtime,
        now,
        credentials,
    };
    let published = ops::publish(shell, opts)?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonPublished {
            format_version: 1,
            name: published.entry.name.clone(),
            version: published.entry.version.clone(),
            sha256: published.entry.sha256.clone(),
            key_id: published.entry.key_id.clone(),
            components: published.entry.components.clone(),
            index: published.index.clone(),
            dry_run: published.dry_run,
            claimed: published.claimed,
            commit: published.commit.clone(),
            tarball: published.tarball.clone(),
        })?)?,
        Format::Human => {
            if published.claimed && !published.dry_run {
                shell.note(format!(
                    "key {} now owns `{}`",
                    published.entry.key_id, published.entry.name
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
