//! `ocp search` and `ocp info`.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Format;
use crate::home;
use crate::ops::registry::{self, Freshness};
use crate::ops::search as ops;
use crate::shell::Shell;

#[derive(Debug, Args)]
struct ReadIndexArgs {
    /// The index: a name from `OCP_HOME/config.toml`, a git URL or a path [default: the local index]
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

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Find packages by name or component
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ocp search shopify\n  ocp search extractor --format json")]
pub struct SearchArgs {
    /// Text to look for in package and component names
    text: String,
    #[command(flatten)]
    read: ReadIndexArgs,
}

/// Show a package's versions, Osiris ranges, components and owners
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp info shopify.extractor\n  ocp info shopify-osiris --format json"
)]
pub struct InfoArgs {
    /// A package (`shopify-osiris`) or a component (`shopify.extractor`)
    name: String,
    #[command(flatten)]
    read: ReadIndexArgs,
}

#[derive(Serialize)]
struct JsonSearch {
    format_version: u32,
    packages: Vec<JsonHit>,
}

#[derive(Serialize)]
struct JsonHit {
    name: String,
    version: String,
    components: Vec<String>,
    osiris: String,
}

#[derive(Serialize)]
struct JsonVersion {
    version: String,
    yanked: bool,
    osiris: String,
    python: String,
    components: Vec<String>,
    dependencies: Vec<String>,
    published: String,
    key_id: String,
    sha256: String,
}

#[derive(Serialize)]
struct JsonInfo {
    format_version: u32,
    name: String,
    owners: Vec<String>,
    versions: Vec<JsonVersion>,
}

fn freshness(offline: bool) -> Freshness {
    if offline {
        Freshness::Offline
    } else {
        Freshness::Update
    }
}

pub fn run_search(args: SearchArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let location = registry::locate(&home, args.read.index.as_deref())?;
    let hits = ops::search(shell, &location, freshness(args.read.offline), &args.text)?;
    match args.read.format {
        Format::Json => {
            let hits: Vec<JsonHit> = hits
                .into_iter()
                .map(|h| JsonHit {
                    name: h.name,
                    version: h.version,
                    components: h.components,
                    osiris: h.osiris,
                })
                .collect();
            shell.data(serde_json::to_string_pretty(&JsonSearch {
                format_version: 1,
                packages: hits,
            })?)?;
        }
        Format::Human => {
            if hits.is_empty() {
                shell.warn(format!(
                    "no package or component matches `{}` in the index `{}`",
                    args.text, location.name
                ))?;
            }
            for hit in hits {
                shell.data(format!(
                    "{} {}  {}  (osiris {})",
                    hit.name,
                    hit.version,
                    hit.components.join(", "),
                    display_range(&hit.osiris)
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn display_range(range: &str) -> &str {
    if range.is_empty() {
        "any version"
    } else {
        range
    }
}

pub fn run_info(args: InfoArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let location = registry::locate(&home, args.read.index.as_deref())?;
    let info = ops::info(shell, &location, freshness(args.read.offline), &args.name)?;
    match args.read.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonInfo {
            format_version: 1,
            name: info.name.clone(),
            owners: info.owners.clone(),
            versions: info
                .versions
                .iter()
                .map(|v| JsonVersion {
                    version: v.version.clone(),
                    yanked: v.yanked,
                    osiris: v.osiris.clone(),
                    python: v.python.clone(),
                    components: v.components.clone(),
                    dependencies: v
                        .dependencies
                        .iter()
                        .map(|d| format!("{}{}", d.name, d.requirement))
                        .collect(),
                    published: v.published.clone(),
                    key_id: v.key_id.clone(),
                    sha256: v.sha256.clone(),
                })
                .collect(),
        })?)?,
        Format::Human => {
            shell.data(&info.name)?;
            shell.data(format!("owners: {}", info.owners.join(", ")))?;
            for version in &info.versions {
                let yanked = if version.yanked { "  (yanked)" } else { "" };
                shell.data(format!(
                    "  {}  osiris {}  python {}  {}{yanked}",
                    version.version,
                    display_range(&version.osiris),
                    display_range(&version.python),
                    version.components.join(", ")
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
