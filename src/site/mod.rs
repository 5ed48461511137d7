//! The component directory: a static site made from an index, for people looking for
//! components. No server is needed: it works from `file://` and from any static host.
//!
//! The pipeline, in stages:
//! 1. [`catalog`]: the index read into packages, in parallel: versions, signatures checked
//!    by the index's own verification, Osiris compatibility, owners, and (through
//!    [`details`]) the README, changelog and specs from the tarball of each package's
//!    featured version, checked against its signed sha256 and read through
//!    [`crate::intake`], the bounded reader `ocp install` uses;
//! 2. [`pages`]: HTML pages rendered from askama templates, with [`spec`] (configuration
//!    tables, OML and connection snippets), [`markdown`] (third-party Markdown, rendered and
//!    sanitized) and [`search`] (the prebuilt search index);
//! 3. [`output`]: the pages written into the output directory, incrementally.
//!
//! Third-party text (descriptions, READMEs, spec fields, names) is data, never markup: the
//! templates escape every value, and the only unescaped HTML is [`markdown::SafeHtml`]. Pages
//! carry a Content Security Policy that allows no inline script and no remote resource, a
//! second wall should the first fail.
//!
//! This module never prints; problems come back as [`catalog::Problem`]s.

pub mod catalog;
pub mod details;
pub mod markdown;
pub mod output;
pub mod pages;
pub mod search;
pub mod spec;

use std::path::{Path, PathBuf};

use pep440_rs::Version;
use time::OffsetDateTime;

use crate::index::Index;
use crate::progress::Reporter;

pub use catalog::{Catalog, Problem};
pub use details::TarballAccess;
pub use output::WriteReport;

/// The static files every site carries, embedded in ocp.
pub const ASSETS: &[(&str, &[u8])] = &[
    ("style.css", include_bytes!("assets/style.css")),
    ("search.js", include_bytes!("assets/search.js")),
];

/// Why a site could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("`{path}` is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("`{path}` is not empty and holds no site made by ocp")]
    NotASite { path: PathBuf },
    #[error("`{path}` is not a site record ocp can read: {reason}")]
    BadRecord { path: PathBuf, reason: String },
    #[error("failed to write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to render `{page}`: {reason}")]
    Render { page: String, reason: String },
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
}

/// What the pages say about the site itself.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    /// The name shown in every page's header.
    pub title: String,
    /// The index URL written into install commands (`--index URL`); none for the user's
    /// default index.
    pub index_url: Option<String>,
    /// The date the site was made (`2026-11-30`).
    pub generated: String,
}

/// How to make a site.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    pub info: SiteInfo,
    /// The Osiris releases of the compatibility matrix and the filter, oldest first.
    pub osiris_releases: Vec<Version>,
    /// "Now", for the maintained status.
    pub today: OffsetDateTime,
    pub tarballs: TarballAccess,
}

/// What making a site did.
#[derive(Debug)]
pub struct SiteReport {
    pub packages: usize,
    pub components: usize,
    pub pages: usize,
    pub files: WriteReport,
    pub problems: Vec<Problem>,
}

/// Makes the site of `index` in `out`.
pub fn build(
    index: &Index,
    out: &Path,
    options: &SiteOptions,
    reporter: &dyn Reporter,
) -> Result<SiteReport, SiteError> {
    // Refuse a wrong `--out` before reading anything.
    let writer = output::SiteWriter::open(out)?;
    let catalog = catalog::collect(
        index,
        &options.osiris_releases,
        options.today,
        &options.tarballs,
        reporter,
    )?;
    pages::render_all(&catalog, &options.info, &writer)?;
    let files = writer.finish()?;
    let components = catalog.components().len();
    Ok(SiteReport {
        packages: catalog.packages.len(),
        components,
        pages: files.written + files.unchanged,
        files,
        problems: catalog.problems,
    })
}
