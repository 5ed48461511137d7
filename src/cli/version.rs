//! `ocp version`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::Args;

use crate::error::helped;
use crate::model::PackageVersion;
use crate::ops::version::{self as ops, Bump, VersionOpts};
use crate::shell::Shell;

/// Show the package's version, or raise it everywhere it is written
///
/// With no argument, prints the version from pyproject.toml. With `patch`, `minor`, `major`
/// or a version, sets it in pyproject.toml, every spec.yaml (in its semver spelling) and every
/// `__version__` that held the old version, and opens the release in CHANGELOG.md: a
/// `## [x.y.z] - date` heading under `## [Unreleased]`, so the unreleased notes become the
/// release's. Files keep their formatting; either every file changes or none does. Bumping a
/// pre-release finishes it (`1.3.0rc1` -> `minor` -> `1.3.0`).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp version\n  ocp version minor\n  ocp version 1.0.0rc1 --dry-run\n  ocp version patch && git commit -am \"Release\" && ocp publish"
)]
pub struct VersionArgs {
    /// `patch`, `minor`, `major`, or a version such as `1.4.0` or `2.0.0rc1`
    #[arg(value_name = "BUMP|VERSION")]
    bump: Option<String>,

    /// The package directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    /// Show what would change, and change nothing
    #[arg(long)]
    dry_run: bool,

    /// The release date for the CHANGELOG heading [default: today, UTC]
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
}

pub fn run(args: VersionArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let bump = args.bump.as_deref().map(parse_bump).transpose()?;
    let date = match args.date {
        Some(date) => check_date(&date)?,
        None => today(),
    };
    let show_only = bump.is_none();
    let change = ops::version(
        shell,
        &VersionOpts {
            path: args.path,
            bump,
            dry_run: args.dry_run,
            date,
        },
    )?;
    if show_only {
        shell.data(&change.from)?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if args.dry_run {
        "Would update"
    } else {
        "Updated"
    };
    shell.status(verb, change.files.join(", "))?;
    for skipped in &change.skipped {
        shell.warn(format!(
            "left {skipped} alone: it is not the package's version"
        ))?;
    }
    if !args.dry_run {
        shell.status(
            "Next",
            format!(
                "review the CHANGELOG, commit, then `ocp publish` to release {} v{}",
                change.name, change.to
            ),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_bump(text: &str) -> anyhow::Result<Bump> {
    Ok(match text {
        "patch" => Bump::Patch,
        "minor" => Bump::Minor,
        "major" => Bump::Major,
        other => Bump::To(PackageVersion::from_str(other).map_err(|error| {
            helped(
                error.to_string(),
                "write `patch`, `minor`, `major` or a version such as `1.4.0`",
            )
        })?),
    })
}

fn check_date(date: &str) -> anyhow::Result<String> {
    let parts: Vec<&str> = date.split('-').collect();
    let valid = match parts.as_slice() {
        [year, month, day] if year.len() == 4 && month.len() == 2 && day.len() == 2 => {
            match (year.parse(), month.parse::<u8>(), day.parse()) {
                (Ok(year), Ok(month), Ok(day)) => time::Month::try_from(month)
                    .is_ok_and(|month| time::Date::from_calendar_date(year, month, day).is_ok()),
                _ => false,
            }
        }
        _ => false,
    };
    if valid {
        Ok(date.to_owned())
    } else {
        Err(helped(
            format!("`{date}` is not a date"),
            "write it as `YYYY-MM-DD`",
        ))
    }
}

fn today() -> String {
    let now = time::OffsetDateTime::now_utc().date();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}
