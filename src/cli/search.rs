//! `ocp search` and `ocp info`.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Format;
use crate::home;
use crate::ops::registry::{self, Freshness};
use crate::ops::search::{self as ops, Verdict};
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

    /// The Osiris project whose plugin policy judges each version [default: the one the
    /// current folder is in]
    #[arg(long, value_name = "DIR")]
    project: Option<std::path::PathBuf>,
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
    policy: JsonVerdict,
}

/// The plugin policy's verdict on one version.
#[derive(Serialize)]
struct JsonVerdict {
    /// `allowed`, `refused` or `unverified`.
    verdict: &'static str,
    rule: Option<&'static str>,
    reason: Option<String>,
}

#[derive(Serialize)]
struct JsonInfo {
    format_version: u32,
    name: String,
    owners: Vec<String>,
    versions: Vec<JsonVersion>,
    sandbox: JsonSandbox,
}

/// `plugins.sandbox`, which the Osiris runtime enforces.
#[derive(Serialize)]
struct JsonSandbox {
    provider: Option<String>,
    policy: Option<String>,
    network: Option<String>,
    fs_access: Option<String>,
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
    let settings = super::settings::resolve(
        shell,
        &home,
        crate::settings::Flags {
            project: args.project,
            index: args.read.index,
            offline: args.read.offline,
            lockfile: None,
        },
    )?;
    let policy = super::settings::policy(shell, &settings, &home)?;
    let location = registry::locate(&home, settings.index.value.as_deref())?;
    let info = ops::info(
        shell,
        &location,
        freshness(settings.offline.value),
        &args.name,
        &policy,
    )?;
    let sandbox = &settings.plugins.sandbox;
    match args.read.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonInfo {
            format_version: 1,
            name: info.name.clone(),
            owners: info.owners.clone(),
            versions: info
                .versions
                .iter()
                .zip(&info.verdicts)
                .map(|(v, verdict)| JsonVersion {
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
                    policy: match verdict {
                        Verdict::Allowed => JsonVerdict {
                            verdict: "allowed",
                            rule: None,
                            reason: None,
                        },
                        Verdict::Refused { rule, reason } => JsonVerdict {
                            verdict: "refused",
                            rule: Some(rule),
                            reason: Some(reason.clone()),
                        },
                        Verdict::Unverified(reason) => JsonVerdict {
                            verdict: "unverified",
                            rule: None,
                            reason: Some(reason.clone()),
                        },
                    },
                })
                .collect(),
            sandbox: JsonSandbox {
                provider: sandbox.provider.value.clone(),
                policy: sandbox.policy.value.clone(),
                network: sandbox.network.value.clone(),
                fs_access: sandbox.fs_access.value.clone(),
            },
        })?)?,
        Format::Human => {
            shell.data(&info.name)?;
            shell.data(format!("owners: {}", info.owners.join(", ")))?;
            for (version, verdict) in info.versions.iter().zip(&info.verdicts) {
                let yanked = if version.yanked { "  (yanked)" } else { "" };
                let verdict = match verdict {
                    Verdict::Allowed => String::new(),
                    Verdict::Refused { reason, .. } => {
                        format!("\n      {}: {reason}", crate::policy::REFUSED)
                    }
                    Verdict::Unverified(reason) => {
                        format!(
                            "\n      not what its owners signed, so ocp will not install it: {reason}"
                        )
                    }
                };
                shell.data(format!(
                    "  {}  osiris {}  python {}  {}{yanked}{verdict}",
                    version.version,
                    display_range(&version.osiris),
                    display_range(&version.python),
                    version.components.join(", ")
                ))?;
            }
            let set: Vec<String> = [
                ("provider", &sandbox.provider),
                ("policy", &sandbox.policy),
                ("network", &sandbox.network),
                ("fs_access", &sandbox.fs_access),
            ]
            .iter()
            .filter_map(|(name, setting)| {
                setting
                    .value
                    .as_ref()
                    .map(|value| format!("{name} {value} ({})", setting.source))
            })
            .collect();
            if !set.is_empty() {
                shell.data(format!(
                    "sandbox (enforced by the Osiris runtime): {}",
                    set.join(", ")
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
