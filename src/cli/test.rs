//! `ocp test`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use pep440_rs::Version;
use serde::Serialize;

use super::Format;
use crate::build;
use crate::error::{HelpExt, helped};
use crate::home;
use crate::ops::test::{self as ops, CellOutcome, TestOpts, TestReport};
use crate::shell::Shell;
use crate::testenv::Preparation;

/// PyPI's simple API, where Osiris releases are listed.
const PYPI: &str = "https://pypi.org/simple";

/// Run the package's tests against its built wheel, in fresh environments
///
/// Checks the package, builds its wheel, installs the wheel with its `[dev]` extra and one
/// Osiris release into a fresh virtual environment made with uv, and runs pytest there from
/// the package's directory. That is how users meet the package: the tests import the
/// installed wheel, not the source tree, and Osiris finds the component where it looks.
///
/// By default the newest Osiris release inside the package's range is used, on a Python that
/// satisfies `requires-python`. `--osiris` and `--python` (comma-separated) choose the cells of
/// a compatibility matrix; `--matrix` adds the oldest release inside the range. Each cell is
/// reported with its result and times; a cell fails when its Python is not installed, its
/// environment cannot be made, or its tests fail or run too long.
///
/// Environments are cached under `OCP_HOME/test-envs/v1`, keyed by the interpreter, the
/// Osiris version and the package's requirements; a changed wheel is reinstalled into its
/// cached environment. Nothing is installed into the active environment, and Python is never
/// downloaded: uv runs with `UV_PYTHON_DOWNLOADS=never`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ocp test
  ocp test --matrix
  ocp test --osiris 0.5.5,0.5.7 --python 3.11,3.12 --format json
  ocp test -- -k pipeline -x

Needs `uv` on PATH (`pip install uv`). Exit status 1 when any cell fails.")]
pub struct TestArgs {
    /// The package directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    /// Osiris versions to test with, comma-separated [default: the newest release inside the
    /// package's range]
    #[arg(long, value_name = "VERSIONS", value_delimiter = ',')]
    osiris: Vec<String>,

    /// Also test with the oldest Osiris release inside the package's range
    #[arg(long, conflicts_with = "osiris")]
    matrix: bool,

    /// Pythons to test on, comma-separated: versions (`3.12`), ranges or interpreter paths,
    /// found among the installed ones [default: one that satisfies `requires-python`]
    #[arg(long, value_name = "VERSIONS", value_delimiter = ',')]
    python: Vec<String>,

    /// The package index's simple API, to list Osiris releases and install from
    #[arg(long, value_name = "URL", env = "OCP_TEST_INDEX_URL", default_value = PYPI)]
    index_url: String,

    /// Use only what uv has cached and the saved list of Osiris releases
    #[arg(long)]
    offline: bool,

    /// Stop a cell's tests after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    timeout: u64,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Arguments passed to pytest, after `--`
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pytest_args: Vec<String>,
}

#[derive(Serialize)]
struct JsonReport {
    format_version: u32,
    name: String,
    version: String,
    osiris_range: String,
    wheel: JsonWheel,
    passed: usize,
    failed: usize,
    cells: Vec<JsonCell>,
}

#[derive(Serialize)]
struct JsonWheel {
    path: String,
    sha256: String,
}

#[derive(Serialize)]
struct JsonCell {
    osiris: String,
    python_request: String,
    python: Option<String>,
    result: &'static str,
    reason: Option<String>,
    summary: Option<String>,
    setup_seconds: f64,
    test_seconds: f64,
    environment: Option<String>,
    environment_state: Option<&'static str>,
}

pub fn run(args: TestArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let mtime = build::mtime_from_env(epoch.as_deref())
        .map_err(anyhow::Error::msg)
        .help("unset SOURCE_DATE_EPOCH, or set it to seconds since 1970")?;
    let mut osiris = Vec::new();
    for text in args
        .osiris
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
    {
        osiris.push(Version::from_str(text).map_err(|error| {
            helped(
                format!("`{text}` is not an Osiris version: {error}"),
                "name released versions, for example `--osiris 0.5.5,0.5.7`",
            )
        })?);
    }
    if args.timeout == 0 {
        return Err(helped(
            "`--timeout` must be at least 1 second",
            "pass a number of seconds, for example `--timeout 600`",
        ));
    }
    let index_url = args.index_url.trim_end_matches('/').to_owned();
    let opts = TestOpts {
        path: args.path,
        home: home::ocp_home()?,
        uv: super::install::find_uv(),
        osiris,
        matrix: args.matrix,
        pythons: args
            .python
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        default_index: index_url == PYPI,
        index_url,
        offline: args.offline,
        timeout: Duration::from_secs(args.timeout),
        pytest_args: args.pytest_args,
        mtime,
    };
    let report = ops::test(shell, &opts)?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&json(&report))?)?,
        Format::Human => {
            for line in table(&report) {
                shell.data(line)?;
            }
        }
    }
    let failed = report.failed();
    if failed.is_empty() {
        shell.status(
            "Finished",
            format!(
                "{} v{}: {} passed",
                report.name,
                report.version,
                cells(report.cells.len())
            ),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<String> = failed.iter().map(|cell| cell.label()).collect();
    let first = failed[0];
    Err(helped(
        format!(
            "{} of {} failed: {}",
            failed.len(),
            cells(report.cells.len()),
            names.join("; ")
        ),
        format!(
            "see the output above; `ocp test --osiris {} --python {}` runs that cell alone",
            first.osiris,
            first.python.as_deref().unwrap_or(&first.python_request)
        ),
    ))
}

fn cells(count: usize) -> String {
    if count == 1 {
        "1 cell".to_owned()
    } else {
        format!("{count} cells")
    }
}

fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

fn json(report: &TestReport) -> JsonReport {
    let failed = report.failed().len();
    JsonReport {
        format_version: 1,
        name: report.name.clone(),
        version: report.version.clone(),
        osiris_range: report.osiris_range.clone(),
        wheel: JsonWheel {
            path: report.wheel.display().to_string(),
            sha256: report.wheel_sha256.clone(),
        },
        passed: report.cells.len() - failed,
        failed,
        cells: report
            .cells
            .iter()
            .map(|cell| JsonCell {
                osiris: cell.osiris.to_string(),
                python_request: cell.python_request.clone(),
                python: cell.python.clone(),
                result: match cell.outcome {
                    CellOutcome::Passed => "passed",
                    CellOutcome::Failed(_) => "failed",
                },
                reason: match &cell.outcome {
                    CellOutcome::Passed => None,
                    CellOutcome::Failed(reason) => Some(reason.clone()),
                },
                summary: cell.summary.clone(),
                setup_seconds: seconds(cell.setup),
                test_seconds: seconds(cell.tests),
                environment: cell.environment.as_ref().map(|p| p.display().to_string()),
                environment_state: cell.preparation.map(|p| match p {
                    Preparation::Created => "created",
                    Preparation::WheelReinstalled => "wheel-reinstalled",
                    Preparation::Reused => "reused",
                }),
            })
            .collect(),
    }
}

/// The matrix as an aligned table: cell, result, setup time, test time, then the detail.
fn table(report: &TestReport) -> Vec<String> {
    let rows: Vec<[String; 5]> = report
        .cells
        .iter()
        .map(|cell| {
            let (result, detail) = match &cell.outcome {
                CellOutcome::Passed => ("passed", cell.summary.clone().unwrap_or_default()),
                CellOutcome::Failed(reason) => ("FAILED", reason.clone()),
            };
            [
                cell.label(),
                result.to_owned(),
                format!("{:.2}s", cell.setup.as_secs_f64()),
                format!("{:.2}s", cell.tests.as_secs_f64()),
                detail,
            ]
        })
        .collect();
    let header = [
        "cell".to_owned(),
        "result".to_owned(),
        "setup".to_owned(),
        "tests".to_owned(),
        "detail".to_owned(),
    ];
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (width, value) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(value.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(rows.iter())
        .map(|row| {
            format!(
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}
