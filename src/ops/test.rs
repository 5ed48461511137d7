//! `ocp test`: run a package's tests the way its users meet it. Stages: check and plan the
//! build (refusing on check errors) -> write the wheel into the test cache -> decide the
//! matrix (Osiris versions inside the package's range, Python requests) -> for each cell,
//! find the Python, prepare its environment, run pytest -> the report. A cell that cannot
//! run (no such Python, an install that fails, tests that fail or hang) is a failed cell;
//! the other cells still run. Nothing is installed into the user's own environment.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use pep440_rs::{Version, VersionSpecifiers};

use crate::build;
use crate::error::helped;
use crate::model::Checksum;
use crate::ops::check;
use crate::package::Package;
use crate::shell::{Shell, Verbosity};
use crate::testenv::{self, EnvInputs, Preparation, TestEnvError, Uv, WheelToTest, pytest};

/// What `ocp test` was asked to do, with every setting resolved.
#[derive(Debug, Clone)]
pub struct TestOpts {
    pub path: PathBuf,
    /// `OCP_HOME`: environments and wheels are cached under it.
    pub home: PathBuf,
    /// uv, found on PATH by the caller; `None` when there is none.
    pub uv: Option<PathBuf>,
    /// `--osiris`: explicit versions; empty to ask the index.
    pub osiris: Vec<Version>,
    /// `--matrix`: the oldest release inside the range too.
    pub matrix: bool,
    /// `--python`: interpreter requests; empty for the package's `requires-python`.
    pub pythons: Vec<String>,
    /// The simple API that lists Osiris releases (and, when not PyPI, that uv installs from).
    pub index_url: String,
    /// Whether `index_url` is the default (PyPI), which uv is not told about.
    pub default_index: bool,
    pub offline: bool,
    /// How long one cell's pytest may run.
    pub timeout: Duration,
    pub pytest_args: Vec<String>,
    /// The wheel's timestamp (`SOURCE_DATE_EPOCH`).
    pub mtime: u64,
}

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellOutcome {
    Passed,
    Failed(String),
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub struct Cell {
    pub osiris: Version,
    /// What was asked for (`3.12`, `>=3.11`).
    pub python_request: String,
    /// The interpreter's version, when one was found.
    pub python: Option<String>,
    pub outcome: CellOutcome,
    /// Finding Python and preparing the environment.
    pub setup: Duration,
    /// Running pytest.
    pub tests: Duration,
    /// pytest's closing line.
    pub summary: Option<String>,
    pub environment: Option<PathBuf>,
    pub preparation: Option<Preparation>,
}

impl Cell {
    /// `osiris 0.5.7, python 3.11.7`, as the table and errors name a cell.
    pub fn label(&self) -> String {
        format!(
            "osiris {}, python {}",
            self.osiris,
            self.python.as_deref().unwrap_or(&self.python_request)
        )
    }
}

/// What `ocp test` found.
#[derive(Debug)]
pub struct TestReport {
    pub name: String,
    pub version: String,
    pub wheel: PathBuf,
    pub wheel_sha256: String,
    pub osiris_range: String,
    pub cells: Vec<Cell>,
}

impl TestReport {
    pub fn failed(&self) -> Vec<&Cell> {
        self.cells
            .iter()
            .filter(|cell| cell.outcome != CellOutcome::Passed)
            .collect()
    }
}

pub fn test(shell: &mut Shell, opts: &TestOpts) -> anyhow::Result<TestReport> {
    let uv = opts.uv.clone().ok_or_else(|| {
        helped(
            "`ocp test` needs uv, and there is no `uv` on PATH",
            "install it with `pip install uv` (or `pipx install uv`, or see https://docs.astral.sh/uv/) and make sure its folder is on PATH",
        )
    })?;
    let (package, _report, what) = check::load_checked(shell, &opts.path, "test")?;
    let plan =
        build::plan(&package).with_context(|| format!("failed to prepare the wheel of {what}"))?;
    let range = osiris_range(&plan.manifest.osiris, &what)?;
    let versions = osiris_versions(shell, opts, &range, &what)?;

    let root = opts.home.join(testenv::ROOT);
    let wheel = write_wheel(&root, &plan, opts.mtime)?;
    let wheel = WheelToTest {
        sha256: wheel.1.to_hex(),
        path: wheel.0,
        distribution: plan.name.to_string(),
        has_dev_extra: package
            .pyproject
            .as_ref()
            .and_then(|p| p.optional_dependencies("dev"))
            .is_some(),
    };
    let requirements = requirements(&package);
    let uv = Uv {
        program: uv,
        index_url: (!opts.default_index).then(|| opts.index_url.clone()),
        offline: opts.offline,
    };
    let pythons = if opts.pythons.is_empty() {
        vec![plan.manifest.python.clone()]
            .into_iter()
            .filter(|request| !request.is_empty())
            .collect::<Vec<_>>()
    } else {
        opts.pythons.clone()
    };
    let pythons = if pythons.is_empty() {
        vec![">=3.11".to_owned()]
    } else {
        pythons
    };

    let mut cells = Vec::new();
    for osiris in &versions {
        for request in &pythons {
            let cell = run_cell(
                shell,
                opts,
                &uv,
                &root,
                &wheel,
                &requirements,
                osiris,
                request,
            )?;
            cells.push(cell);
        }
    }
    Ok(TestReport {
        name: plan.name.to_string(),
        version: plan.version.to_string(),
        wheel: wheel.path,
        wheel_sha256: wheel.sha256,
        osiris_range: crate::model::format_specifiers(&range),
        cells,
    })
}

fn osiris_range(range: &str, what: &str) -> anyhow::Result<VersionSpecifiers> {
    VersionSpecifiers::from_str(range)
        .ok()
        .filter(|specifiers| !range.is_empty() && !specifiers.is_empty())
        .ok_or_else(|| {
            helped(
                format!("{what} states no usable Osiris range (`osiris-pipeline` in pyproject.toml's dependencies)"),
                "add a dependency such as `osiris-pipeline>=0.5.0,<1.0.0`; `ocp check` explains the rule",
            )
        })
}

/// The Osiris versions to test with: the ones asked for (each inside the range), or the
/// newest release inside the range (and the oldest, with `--matrix`).
fn osiris_versions(
    shell: &mut Shell,
    opts: &TestOpts,
    range: &VersionSpecifiers,
    what: &str,
) -> anyhow::Result<Vec<Version>> {
    if !opts.osiris.is_empty() {
        if let Some(outside) = opts.osiris.iter().find(|v| !range.contains(v)) {
            return Err(helped(
                format!(
                    "Osiris {outside} is outside the range `{}` that {what} supports",
                    crate::model::format_specifiers(range)
                ),
                "test with versions inside the range, or widen the `osiris-pipeline` requirement in pyproject.toml",
            ));
        }
        let mut versions = opts.osiris.clone();
        versions.dedup();
        return Ok(versions);
    }
    let releases = releases(shell, opts)?;
    let chosen = testenv::releases::choose(&releases, range, opts.matrix);
    if chosen.is_empty() {
        return Err(helped(
            format!(
                "no release of Osiris on `{}` is inside the range `{}` that {what} supports",
                opts.index_url,
                crate::model::format_specifiers(range)
            ),
            "widen the `osiris-pipeline` requirement in pyproject.toml, or name versions with `--osiris`",
        ));
    }
    Ok(chosen)
}

/// The Osiris releases, from the index; offline or when it cannot be reached, from the list
/// saved by the last run that reached it.
fn releases(shell: &mut Shell, opts: &TestOpts) -> anyhow::Result<Vec<Version>> {
    let saved = opts.home.join(testenv::ROOT).join("osiris-releases.json");
    let url = testenv::releases::page_url(&opts.index_url);
    let fetched = if opts.offline {
        Err("offline".to_owned())
    } else {
        shell.status(
            "Fetching",
            format!("the list of Osiris releases from {url}"),
        )?;
        fetch_page(&url)
    };
    match fetched {
        Ok(bytes) => {
            let releases = testenv::releases::parse_page(&bytes)
                .with_context(|| format!("failed to read the Osiris releases from `{url}`"))?;
            if let Some(parent) = saved.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = crate::fsutil::write_atomic(&saved, &bytes);
            Ok(releases)
        }
        Err(reason) => match std::fs::read(&saved) {
            Ok(bytes) => {
                if !opts.offline {
                    shell.warn(format!(
                        "could not reach {url} ({reason}); using the list of Osiris releases saved by an earlier run"
                    ))?;
                }
                Ok(testenv::releases::parse_page(&bytes)?)
            }
            Err(_) => Err(helped(
                format!(
                    "cannot tell which Osiris releases exist: {url} could not be read ({reason}) and no earlier run saved a list"
                ),
                "name the versions to test with, for example `--osiris 0.5.7`, or connect to the network once",
            )),
        },
    }
}

fn fetch_page(url: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let client = crate::index::storage::client(url).map_err(|error| error.to_string())?;
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, testenv::releases::SIMPLE_JSON)
        .send()
        .map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut bytes = Vec::new();
    response
        .take(testenv::releases::MAX_PAGE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    Ok(bytes)
}

/// Writes the wheel under `root/wheels/<sha256>/`, where uv can install it from, unless it
/// is already there.
fn write_wheel(
    root: &Path,
    plan: &build::BuildPlan,
    mtime: u64,
) -> anyhow::Result<(PathBuf, Checksum)> {
    let bytes = build::wheel::write_wheel(&plan.wheel.entries, mtime)
        .context("failed to write the wheel")?;
    let checksum = Checksum::of_bytes(&bytes);
    let dir = root.join("wheels").join(&checksum.to_hex()[..20]);
    let path = dir.join(&plan.wheel.file_name);
    if !path.is_file() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create `{}`", dir.display()))?;
        crate::fsutil::write_atomic(&path, &bytes)?;
    }
    Ok((path, checksum))
}

/// The package's requirements and its `[dev]` extra: what decides its environment.
fn requirements(package: &Package) -> Vec<String> {
    let Some(pyproject) = &package.pyproject else {
        return Vec::new();
    };
    pyproject
        .dependencies()
        .into_iter()
        .chain(pyproject.optional_dependencies("dev").unwrap_or_default())
        .map(|requirement| requirement.value)
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn run_cell(
    shell: &mut Shell,
    opts: &TestOpts,
    uv: &Uv,
    root: &Path,
    wheel: &WheelToTest,
    requirements: &[String],
    osiris: &Version,
    request: &str,
) -> anyhow::Result<Cell> {
    let started = Instant::now();
    let mut cell = Cell {
        osiris: osiris.clone(),
        python_request: request.to_owned(),
        python: None,
        outcome: CellOutcome::Passed,
        setup: Duration::ZERO,
        tests: Duration::ZERO,
        summary: None,
        environment: None,
        preparation: None,
    };
    let failed = |cell: &mut Cell, reason: String| {
        cell.outcome = CellOutcome::Failed(reason);
        cell.setup = started.elapsed();
    };
    let interpreter = match uv.find_python(request) {
        Ok(interpreter) => interpreter,
        Err(error) => {
            failed(&mut cell, first_line(&error));
            return Ok(cell);
        }
    };
    cell.python = Some(interpreter.version.clone());
    shell.status(
        "Preparing",
        format!(
            "an environment with Osiris {osiris} on Python {} ({})",
            interpreter.version,
            interpreter.path.display()
        ),
    )?;
    let inputs = EnvInputs::new(
        wheel.distribution.clone(),
        interpreter,
        osiris.to_string(),
        requirements.to_vec(),
        uv.index_url.clone(),
    );
    // Held until the tests have run, so no other run changes the environment meanwhile.
    let (env, preparation, _lock) = match testenv::prepare(uv, root, &inputs, wheel) {
        Ok(prepared) => prepared,
        Err(error) => {
            failed(&mut cell, cause_text(error));
            return Ok(cell);
        }
    };
    cell.setup = started.elapsed();
    cell.environment = Some(env.dir.clone());
    cell.preparation = Some(preparation);
    shell.note(format!(
        "environment `{}` ({})",
        env.dir.display(),
        match preparation {
            Preparation::Created => "made now",
            Preparation::WheelReinstalled => "reused, wheel reinstalled",
            Preparation::Reused => "reused",
        }
    ))?;

    shell.status("Testing", cell.label())?;
    let log = tempfile::Builder::new()
        .prefix("pytest-")
        .suffix(".log")
        .tempfile_in(root)
        .with_context(|| format!("failed to create a log file in `{}`", root.display()))?;
    let tests_started = Instant::now();
    let run = pytest::run(
        &env,
        &opts.path,
        &opts.pytest_args,
        opts.timeout,
        log.path(),
    )
    .with_context(|| format!("failed to run pytest for {}", cell.label()))?;
    cell.tests = tests_started.elapsed();
    cell.summary = run.summary();
    cell.outcome = match (run.timed_out, run.code) {
        (true, _) => CellOutcome::Failed(format!(
            "the tests ran longer than {} seconds and were stopped",
            opts.timeout.as_secs()
        )),
        (false, Some(0)) => CellOutcome::Passed,
        (false, Some(5)) => CellOutcome::Failed("pytest collected no tests".to_owned()),
        (false, code) => CellOutcome::Failed(match &cell.summary {
            Some(summary) => format!("pytest: {summary}"),
            None => format!(
                "pytest exited with {}",
                code.map_or("a signal".to_owned(), |c| format!("status {c}"))
            ),
        }),
    };
    let show_output =
        cell.outcome != CellOutcome::Passed || shell.verbosity() == Verbosity::Verbose;
    if show_output {
        shell.print_err_block_always(&format!(
            "--- pytest output ({}) ---\n{}\n",
            cell.label(),
            run.tail.trim_end()
        ))?;
    }
    Ok(cell)
}

fn first_line(error: &TestEnvError) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An error and its causes on one line, for a failed cell's reason.
fn cause_text(error: TestEnvError) -> String {
    format!("{:#}", anyhow::Error::new(error))
}
