//! `ocp build`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Format;
use crate::build;
use crate::error::HelpExt;
use crate::ops::build::{self as ops, BuildOpts};
use crate::shell::Shell;

/// Build a reproducible package tarball (an OCP that is also a Python sdist) and a wheel
///
/// Runs the same checks as `ocp check` and refuses to build while any error remains. Writes
/// `dist/{name}-{version}.tar.gz` with PKG-INFO and the `ocp.json` manifest beside
/// pyproject.toml, and `dist/{name}-{version}-py3-none-any.whl`, a pure-Python wheel that
/// also carries `components/<component>/spec.yaml` at its root, so that `pip install` of the
/// wheel puts the spec where Osiris 0.5.7 looks for it. The same sources always give the same
/// bytes: entries are sorted, owners and modes fixed, and every timestamp is
/// `SOURCE_DATE_EPOCH` (or 2000-01-01). Version
/// control folders, caches, build output, virtual environments, `.env` files and everything
/// `.gitignore` ignores are left out.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp build\n  ocp build --list\n  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) ocp build --format json"
)]
pub struct BuildArgs {
    /// The package directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    /// Where to write the tarball and the wheel [default: `dist` in the package directory]
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,

    /// Print the paths the tarball and the wheel would hold, and write nothing
    #[arg(long)]
    list: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonBuild {
    format_version: u32,
    name: String,
    version: String,
    path: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    files: Vec<String>,
    wheel: JsonWheel,
}

#[derive(Serialize)]
struct JsonWheel {
    file_name: String,
    path: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    files: Vec<String>,
}

/// Path, size and checksum as the JSON report shows them, or nulls when nothing was written.
fn written_fields(
    written: Option<&(PathBuf, u64, crate::model::Checksum)>,
) -> (Option<String>, Option<u64>, Option<String>) {
    match written {
        Some((path, size, checksum)) => (
            Some(path.display().to_string()),
            Some(*size),
            Some(checksum.to_hex()),
        ),
        None => (None, None, None),
    }
}

pub fn run(args: BuildArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let mtime = build::mtime_from_env(epoch.as_deref())
        .map_err(anyhow::Error::msg)
        .help("unset SOURCE_DATE_EPOCH, or set it to seconds since 1970, for example `$(git log -1 --format=%ct)`")?;
    let opts = BuildOpts {
        path: args.path,
        out_dir: args.out_dir,
        list_only: args.list,
        mtime,
    };
    let outcome = ops::build(shell, &opts)?;
    let files = outcome.plan.archive_paths();
    match args.format {
        Format::Json => {
            let (path, size, sha256) = written_fields(outcome.written.as_ref());
            let (wheel_path, wheel_size, wheel_sha256) = written_fields(outcome.wheel.as_ref());
            let wheel = JsonWheel {
                file_name: outcome.plan.wheel.file_name.clone(),
                path: wheel_path,
                size: wheel_size,
                sha256: wheel_sha256,
                files: outcome.plan.wheel.paths(),
            };
            let document = JsonBuild {
                format_version: 1,
                name: outcome.plan.name.to_string(),
                version: outcome.plan.version.to_string(),
                path,
                size,
                sha256,
                files,
                wheel,
            };
            shell.data(serde_json::to_string_pretty(&document)?)?;
        }
        Format::Human => match &outcome.written {
            None => {
                for file in files {
                    shell.data(file)?;
                }
                for file in outcome.plan.wheel.paths() {
                    shell.data(format!("{}/{file}", outcome.plan.wheel.file_name))?;
                }
            }
            Some((path, size, checksum)) => {
                for (path, size, checksum) in std::iter::once((path, size, checksum))
                    .chain(outcome.wheel.iter().map(|(p, s, c)| (p, s, c)))
                {
                    shell.status(
                        "Finished",
                        format!("{} ({})", path.display(), human_size(*size)),
                    )?;
                    shell.data(format!("{}  {}", checksum, path.display()))?;
                }
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}
