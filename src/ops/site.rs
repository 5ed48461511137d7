//! `ocp index site`: the component directory of an index, as a static site. Opens (and
//! updates) the index like every command that reads one, makes the site with
//! [`crate::site::build`], and reports what it wrote and what it could not show.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use pep440_rs::Version;
use time::OffsetDateTime;

use crate::error::helped;
use crate::fetch::{Cache, FetchOptions};
use crate::ops::registry::{self, Freshness, IndexLocation};
use crate::progress::Reporter;
use crate::shell::Shell;
use crate::site::{self, SiteError, SiteInfo, SiteOptions, SiteReport, TarballAccess};

/// What `ocp index site` was asked for, resolved by the CLI.
pub struct SiteOpts {
    pub location: IndexLocation,
    /// Credentials for tarballs in OCI registries, from the user's configuration.
    pub registry_login: crate::oci::Login,
    pub freshness: Freshness,
    pub out: PathBuf,
    pub title: String,
    pub index_url: Option<String>,
    pub osiris_releases: Vec<Version>,
    /// "Now" for the maintained status and the footer (`SOURCE_DATE_EPOCH` or the clock).
    pub today: OffsetDateTime,
    /// `OCP_HOME`, for the download cache.
    pub home: PathBuf,
    pub reporter: Box<dyn Reporter>,
}

/// What the CLI reports.
pub struct SiteOutcome {
    pub report: SiteReport,
    pub out: PathBuf,
    pub elapsed: Duration,
}

pub fn site(shell: &mut Shell, opts: &SiteOpts) -> anyhow::Result<SiteOutcome> {
    let started = Instant::now();
    let open = registry::open(&opts.location, opts.freshness)?;
    open.report(shell)?;
    let mut fetch = FetchOptions::new(open.index.root());
    fetch.offline = opts.freshness == Freshness::Offline;
    fetch.registry = opts.registry_login.clone();
    let options = SiteOptions {
        info: SiteInfo {
            title: opts.title.clone(),
            index_url: opts.index_url.clone(),
            generated: opts.today.date().to_string(),
        },
        osiris_releases: opts.osiris_releases.clone(),
        today: opts.today,
        tarballs: TarballAccess {
            cache: Cache::new(opts.home.join("cache")),
            options: fetch,
        },
    };
    shell.status(
        "Generating",
        format!(
            "the component directory of `{}` into `{}`",
            opts.location.name,
            opts.out.display()
        ),
    )?;
    let report = site::build(&open.index, &opts.out, &options, opts.reporter.as_ref())
        .map_err(|error| explain(error, opts))?;
    for problem in &report.problems {
        shell.warn(format!("{}: {}", problem.package, problem.message))?;
    }
    let out = std::path::absolute(&opts.out).unwrap_or_else(|_| opts.out.clone());
    Ok(SiteOutcome {
        report,
        out,
        elapsed: started.elapsed(),
    })
}

fn explain(error: SiteError, opts: &SiteOpts) -> anyhow::Error {
    let out = opts.out.display();
    match error {
        SiteError::NotASite { .. } => helped(
            error.to_string(),
            format!("choose a new or empty directory, or remove `{out}` if it may go"),
        ),
        SiteError::NotADirectory { .. } => {
            helped(error.to_string(), "name a directory with `--out DIR`")
        }
        SiteError::BadRecord { .. } => helped(
            error.to_string(),
            format!("remove `{out}` and generate the site again"),
        ),
        other => {
            anyhow::Error::new(other).context(format!("failed to generate the site in `{out}`"))
        }
    }
}

/// Osiris releases named with `--osiris-versions`, or the ones this ocp knows.
pub fn osiris_releases(given: &[String]) -> anyhow::Result<Vec<Version>> {
    let texts: Vec<String> = if given.is_empty() {
        site::catalog::OSIRIS_RELEASES
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        given.to_vec()
    };
    site::catalog::parse_releases(&texts)
        .map_err(|reason| {
            helped(
                reason,
                "write Osiris versions such as `0.5.7`, separated by commas",
            )
        })
        .context("invalid `--osiris-versions`")
}
