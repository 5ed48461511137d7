//! `ocp config show`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Format;
use crate::home;
use crate::ops::config as ops;
use crate::shell::Shell;

/// Show ocp's settings and where each comes from
///
/// Each setting is taken from the first of these that sets it: a flag, an `OCP_*`
/// environment variable, the Osiris project's `plugins:` section (`osiris.yaml`, else
/// `.osiris/config.yaml`, found from the current folder upwards), the user's
/// `OCP_HOME/config.toml`, the default.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    Show(ShowArgs),
}

/// Print every setting's effective value and where it came from
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  ocp config show
  OCP_PLUGINS_SIGNATURE_VERIFICATION=true ocp config show --format json

Settings (environment variable in brackets):
  index                              the index to install from [OCP_INDEX]
  offline                            use only local copies [OCP_OFFLINE]
  lockfile                           `--lockfile`, else `ocp.lock` at the project's root
  plugins.enabled                    false: no plugin may be installed [OCP_PLUGINS_ENABLED]
  plugins.allowlist                  only these may be installed [OCP_PLUGINS_ALLOWLIST]
  plugins.denylist                   these are refused, even if allowed [OCP_PLUGINS_DENYLIST]
  plugins.signature_verification     true: the signer must be trusted [OCP_PLUGINS_SIGNATURE_VERIFICATION]
  plugins.trusted_signers            names from the trusted keys [OCP_PLUGINS_TRUSTED_SIGNERS]
  plugins.sandbox.provider|policy|network|fs_access
                                     for the Osiris runtime [OCP_PLUGINS_SANDBOX_*]

A list in a variable is written as entries separated by spaces.")]
pub struct ShowArgs {
    /// The Osiris project [default: the one the current folder is in]
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,

    /// Show the settings as they would be with this `--index`
    #[arg(long, value_name = "NAME|URL|PATH")]
    index: Option<String>,

    /// Show the settings as they would be with `--offline`
    #[arg(long)]
    offline: bool,

    /// Show the settings as they would be with this `--lockfile`
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: ConfigArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Show(args) = args.command;
    let home = home::ocp_home()?;
    let settings = super::settings::resolve(
        shell,
        &home,
        crate::settings::Flags {
            project: args.project,
            index: args.index,
            offline: args.offline,
            lockfile: args.lockfile,
        },
    )?;
    // The policy is built too, so a trusted signer without a key is reported here as well.
    super::settings::policy(shell, &settings, &home)?;
    let report = ops::show(&settings);
    match args.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = report
                .rows
                .iter()
                .map(|row| {
                    let mut object = json!({
                        "key": row.key,
                        "value": row.value,
                        "source": ops::source_json(&row.source),
                    });
                    if !row.items.is_empty() {
                        object["items"] = row
                            .items
                            .iter()
                            .map(|(value, source)| {
                                json!({ "value": value, "source": ops::source_json(source) })
                            })
                            .collect();
                    }
                    object
                })
                .collect();
            shell.data(serde_json::to_string_pretty(&json!({
                "format_version": 1,
                "project": report.project.as_ref().map(|p| p.display().to_string()),
                "plugins_file": report.plugins_file.as_ref().map(|p| p.display().to_string()),
                "user_file": report.user_file.display().to_string(),
                "settings": rows,
            }))?)?;
        }
        Format::Human => {
            let project = match (&report.project, &report.plugins_file) {
                (Some(root), Some(file)) => format!(
                    "# project: {} (plugins from `{}`)",
                    root.display(),
                    settings.shown(file)
                ),
                (Some(root), None) => {
                    format!("# project: {} (no `plugins:` section)", root.display())
                }
                (None, _) => "# project: none (not in an Osiris project)".to_owned(),
            };
            shell.data(project)?;
            shell.data(format!(
                "# user settings: {}{}",
                report.user_file.display(),
                if report.user_file.exists() {
                    ""
                } else {
                    " (does not exist)"
                }
            ))?;
            let width = report.rows.iter().map(|r| r.key.len()).max().unwrap_or(0);
            for row in &report.rows {
                // A list whose entries sit on lines of their own shows each with its line.
                if row.items.iter().any(|(_, source)| source != &row.source) {
                    shell.data(format!("{:width$} = [  # {}", row.key, row.source))?;
                    for (item, source) in &row.items {
                        shell.data(format!("    {item:?},  # {source}"))?;
                    }
                    shell.data("]")?;
                    continue;
                }
                let value = match &row.value {
                    serde_json::Value::Null => "(not set)".to_owned(),
                    other => other.to_string(),
                };
                shell.data(format!("{:width$} = {value}  # {}", row.key, row.source))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
