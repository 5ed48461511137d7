//! `ocp index init` and `ocp index verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::Format;
use crate::diagnostics::{self, JsonDiagnostic, SourceMap};
use crate::error::helped;
use crate::index::format::Storage;
use crate::index::verify::VerifyOptions;
use crate::ops::index::{self as ops, VerifyIndexOpts};
use crate::shell::Shell;

/// Create and check index repositories
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    Init(InitArgs),
    Verify(VerifyArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StorageKind {
    /// Tarballs are committed into the index repository itself
    Index,
    /// Tarballs are written to a local or shared directory (`--storage-path`)
    Directory,
    /// Tarballs are uploaded with HTTP PUT (`--upload-url`, optional `--token-env`)
    Http,
}

/// Create a new index as a git repository
///
/// Writes `config.json`, a README and a CI workflow that runs `ocp index verify` on every
/// change, and makes the first commit. Pushing to the new repository updates its working
/// tree, so a path to it works as `--index` as it is; or push it to any git host.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp index init ./ocp-index\n  ocp index init ./ocp-index --storage directory --storage-path /srv/ocp\n  ocp index init ./ocp-index --storage http --upload-url 'https://files.example.com/ocp/{name}/{file}' --token-env OCP_UPLOAD_TOKEN"
)]
struct InitArgs {
    /// Where to create the index (a new or empty directory)
    path: PathBuf,

    /// Where the index keeps tarballs
    #[arg(long, value_enum, default_value_t = StorageKind::Index)]
    storage: StorageKind,

    /// With `--storage directory`: the directory
    #[arg(long, value_name = "DIR")]
    storage_path: Option<PathBuf>,

    /// With `--storage http`: the upload URL template; `{name}` and `{file}` are replaced
    #[arg(long, value_name = "URL")]
    upload_url: Option<String>,

    /// With `--storage http`: the environment variable that holds the upload token
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
}

/// Check an index: entries, signatures, checksums, components and history
///
/// Checks every entry against the schema, every signature against the package's owners
/// (from the signed owner log), tarball checksums where the tarballs can be reached, that
/// each component belongs to one package, and with `--since REV` that history since REV only
/// appended lines or flipped `yanked`. This is what an index repository's CI runs. Exit 1 when
/// anything is wrong.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp index verify\n  ocp index verify ./ocp-index --since origin/main --format json"
)]
struct VerifyArgs {
    /// The index checkout
    #[arg(default_value = ".")]
    path: PathBuf,

    /// Also check that history since this git revision only appended or yanked
    #[arg(long, value_name = "REV")]
    since: Option<String>,

    /// Download tarballs from http(s) locations to check their checksums
    #[arg(long)]
    fetch: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonVerify<'a> {
    format_version: u32,
    ok: bool,
    packages: usize,
    versions: usize,
    tarballs_checked: usize,
    findings: Vec<JsonDiagnostic<'a>>,
}

pub fn run(args: IndexArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    match args.command {
        IndexCommand::Init(args) => {
            let storage = match args.storage {
                StorageKind::Index => Storage::Index,
                StorageKind::Directory => {
                    let path = args.storage_path.ok_or_else(|| {
                        helped(
                            "`--storage directory` needs `--storage-path DIR`",
                            "name the directory that will hold the tarballs",
                        )
                    })?;
                    let path = std::path::absolute(&path).unwrap_or(path);
                    Storage::Directory {
                        path: path.display().to_string(),
                    }
                }
                StorageKind::Http => {
                    let upload = args.upload_url.ok_or_else(|| helped("`--storage http` needs `--upload-url URL`", "for example `--upload-url 'https://files.example.com/ocp/{name}/{file}'`"))?;
                    if !(upload.starts_with("http://") || upload.starts_with("https://")) {
                        return Err(helped(
                            format!("`{upload}` is not an http(s) URL"),
                            "write the URL the server accepts PUT requests at",
                        ));
                    }
                    Storage::Http {
                        upload,
                        token_env: args.token_env,
                    }
                }
            };
            ops::init(shell, &args.path, storage)?;
            Ok(ExitCode::SUCCESS)
        }
        IndexCommand::Verify(args) => {
            let opts = VerifyIndexOpts {
                path: args.path.clone(),
                options: VerifyOptions {
                    since: args.since,
                    fetch_remote: args.fetch,
                },
            };
            let (_index, report) = ops::verify_index(&opts)?;
            let errors = report
                .findings
                .iter()
                .filter(|f| f.severity == diagnostics::Severity::Error)
                .count();
            let sources = SourceMap::default();
            match args.format {
                Format::Json => shell.data(serde_json::to_string_pretty(&JsonVerify {
                    format_version: 1,
                    ok: errors == 0,
                    packages: report.packages,
                    versions: report.versions,
                    tarballs_checked: report.tarballs_checked,
                    findings: report
                        .findings
                        .iter()
                        .map(|f| JsonDiagnostic::new(f, &sources))
                        .collect(),
                })?)?,
                Format::Human => {
                    let color = shell.err_supports_color();
                    for finding in &report.findings {
                        shell.print_err_block_always(&format!(
                            "{}\n",
                            diagnostics::render(finding, &sources, color)
                        ))?;
                    }
                    if errors == 0 {
                        shell.status(
                            "Verified",
                            format!(
                                "{} packages, {} versions, {} tarballs checked",
                                report.packages, report.versions, report.tarballs_checked
                            ),
                        )?;
                    }
                }
            }
            if errors > 0 {
                if args.format == Format::Human {
                    return Err(helped(
                        format!(
                            "the index at `{}` has {errors} problem{}",
                            args.path.display(),
                            if errors == 1 { "" } else { "s" }
                        ),
                        "an index changes only through `ocp publish`, `ocp yank` and `ocp owner`",
                    ));
                }
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
