//! `ocp check`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Format;
use crate::error::helped;
use crate::ops::check::{self as ops, CheckOpts};
use crate::shell::Shell;

/// Validate a component package and report every problem at once
///
/// Checks spec.yaml against the Osiris 0.5.7 schema and ocp's rules, pyproject.toml, entry
/// points, the driver class, versions, the Osiris range, secrets and the required files. Each
/// finding has a stable code (see docs/check-codes.md), a location and a help line.
/// Exits 0 when there are no errors (warnings are allowed), 1 otherwise.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp check\n  ocp check --path shopify-osiris --format json | jq '.diagnostics[].code'"
)]
pub struct CheckArgs {
    /// The package directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    /// Output format: findings as text on stderr, or one JSON document on stdout
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: CheckArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let opts = CheckOpts {
        path: args.path.clone(),
    };
    let (package, report) = ops::check(&opts)?;
    match args.format {
        Format::Json => {
            shell.data(ops::to_json(&args.path, &package, &report)?)?;
            Ok(if report.has_errors() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Format::Human => {
            ops::print_diagnostics(shell, &package, &report)?;
            let what = ops::describe(&package, &report);
            let allowed = ops::allowed_text(&report);
            if report.has_errors() {
                return Err(helped(
                    format!("{what} has {}{allowed}", ops::count_text(&report)),
                    "fix the errors above and run `ocp check` again",
                ));
            }
            if report.warning_count() > 0 && ops::shows_warnings(shell) {
                shell.status(
                    "Checked",
                    format!("{what} ({}){allowed}", ops::count_text(&report)),
                )?;
            } else {
                shell.status("Checked", format!("{what}: no problems found{allowed}"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
