//! `ocp audit`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Format;
use super::install::EnvArgs;
use crate::home;
use crate::ops::audit::{self as ops, AuditOpts};
use crate::ops::registry::Freshness;
use crate::shell::Shell;

/// Check an environment: installed files, signatures, yanked versions and the plugin policy
///
/// Reads the environment under its shared lock and reports every problem it finds: a file
/// that differs from its RECORD or is gone, a file in an OCP's folders that no RECORD lists,
/// a `.pth` file added after install, a package whose signed index entry does not match what
/// is installed (or, from no index, whose signer is not trusted), a yanked version, a package
/// the project's plugin policy refuses, an Osiris range that excludes the environment's
/// Osiris, and an index whose history is no longer a fast-forward of what this machine last
/// saw or that cannot be reached.
///
/// Gate a production run on it: `ocp audit && osiris run pipeline.yaml`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  ocp audit
  ocp audit --env /srv/osiris/.venv --offline --format json

Exit status:
  0  nothing found
  1  findings (listed on stdout), or the audit could not run (the message says why)
  2  ocp itself failed")]
pub struct AuditArgs {
    #[command(flatten)]
    env: EnvArgs,

    /// Check every package against this index instead of the one it was installed from
    /// (a name from `OCP_HOME/config.toml`, a git URL or a path) [env: OCP_INDEX]
    #[arg(long, value_name = "NAME|URL|PATH")]
    index: Option<String>,

    /// Use the local copies of the indexes without updating them
    #[arg(long)]
    offline: bool,

    /// The Osiris project whose plugin policy applies [default: the one the current folder is in]
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonAudit<'a> {
    format_version: u32,
    environment: String,
    osiris: Option<String>,
    clean: bool,
    packages: Vec<JsonPackage<'a>>,
    findings: &'a [crate::audit::Finding],
}

#[derive(Serialize)]
struct JsonPackage<'a> {
    name: &'a str,
    version: &'a str,
    index: &'a str,
    key_id: &'a str,
    trusted_as: &'a [String],
    components: &'a [String],
}

pub fn run(args: AuditArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let settings = super::settings::resolve(
        shell,
        &home,
        crate::settings::Flags {
            project: args.project,
            index: args.index,
            offline: args.offline,
            lockfile: None,
        },
    )?;
    let policy = super::settings::policy(shell, &settings, &home)?;
    let trusted = crate::ops::key::load_trusted_keys(&settings.trusted_keys_files(&home))?;
    let own_key = std::fs::read_to_string(home::default_public_key(&home))
        .ok()
        .and_then(|text| crate::signing::PublicKey::parse(&text).ok());
    // Only an index named for this run (a flag or `OCP_INDEX`) overrides the one each
    // package records; the user's default index does not.
    let index = settings
        .index
        .value
        .clone()
        .filter(|_| matches!(settings.index.source.kind(), "flag" | "env"));
    let opts = AuditOpts {
        env: args.env.resolve()?,
        home,
        index,
        freshness: if settings.offline.value {
            Freshness::Offline
        } else {
            Freshness::Update
        },
        policy,
        trusted,
        own_key,
    };
    let audit = ops::audit(shell, &opts)?;
    let clean = audit.findings.is_empty();
    match args.format {
        Format::Json => {
            let packages = audit
                .packages
                .iter()
                .map(|package| JsonPackage {
                    name: &package.name,
                    version: &package.version,
                    index: &package.index,
                    key_id: &package.key_id,
                    trusted_as: &package.trusted_as,
                    components: &package.components,
                })
                .collect();
            shell.data(serde_json::to_string_pretty(&JsonAudit {
                format_version: 1,
                environment: audit.environment.display().to_string(),
                osiris: audit.osiris.as_ref().map(ToString::to_string),
                clean,
                packages,
                findings: &audit.findings,
            })?)?;
        }
        Format::Human => {
            for finding in &audit.findings {
                let subject = match (&finding.package, &finding.version) {
                    (Some(name), Some(version)) => format!("{name} {version}: "),
                    (Some(name), None) => format!("{name}: "),
                    _ => String::new(),
                };
                let path = finding
                    .path
                    .as_ref()
                    .map(|path| format!("`{path}`: "))
                    .unwrap_or_default();
                shell.data(format!(
                    "{subject}{}: {path}{}",
                    finding.kind.as_str(),
                    finding.message
                ))?;
            }
        }
    }
    let packages = crate::ops::install::packages(audit.packages.len());
    let place = audit.environment.display();
    if clean {
        shell.status("Audited", format!("{packages} in `{place}`: nothing found"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let count = audit.findings.len();
    shell.error(
        format!(
            "the audit of `{place}` found {count} problem{} in {packages}",
            if count == 1 { "" } else { "s" }
        ),
        &[],
        Some("each line above says what is wrong and where; do not run pipelines in this environment until it is mended (reinstall a changed package with `ocp uninstall NAME` and `ocp install NAME`)"),
    )?;
    Ok(ExitCode::from(1))
}
