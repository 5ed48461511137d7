//! `ocp migrate --verify`: prove each migrated component does what its built-in does.
//! Stages, per package: `ocp check` -> `ocp build` (the sdist and wheel into its `dist/`) ->
//! the renamed copy's wheel (`migrate::alias`); then, once for all packages: a fresh
//! environment with the source Osiris and every copy (made with uv, cached under
//! `OCP_HOME/test-envs/v1` like `ocp test`'s) -> the harness, which loads each copy beside its
//! built-in and runs both in the same pipeline -> the verdicts, row for row. Nothing is
//! installed into the user's environment, and the packages on disk are only built.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::{MigrateReport, MigratedPackage};
use crate::build;
use crate::check;
use crate::error::helped;
use crate::migrate::source::OsirisSource;
use crate::migrate::verify::{self as judge, HARNESS, HarnessReport, Verdict};
use crate::migrate::{alias, scenarios};
use crate::model::Checksum;
use crate::package::Package;
use crate::shell::Shell;
use crate::testenv::{self, EnvInputs, Uv, WheelToTest};

/// How `--verify` runs, resolved by the CLI.
#[derive(Debug, Clone)]
pub struct VerifyOpts {
    /// `OCP_HOME`: the verification environment is cached under it.
    pub home: PathBuf,
    /// uv, found on PATH by the caller.
    pub uv: Option<PathBuf>,
    /// An `osiris_connections.yaml` for the components that need a server.
    pub connections: Option<PathBuf>,
    /// `--default-index` for uv, when not PyPI.
    pub index_url: Option<String>,
    pub offline: bool,
    /// How long the harness may run.
    pub timeout: Duration,
    /// The built archives' timestamp (`SOURCE_DATE_EPOCH`).
    pub mtime: u64,
}

/// How a stage ended for one package.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StageOutcome {
    pub ok: bool,
    pub summary: String,
}

impl StageOutcome {
    fn ok(summary: impl Into<String>) -> Self {
        StageOutcome {
            ok: true,
            summary: summary.into(),
        }
    }

    fn failed(summary: impl Into<String>) -> Self {
        StageOutcome {
            ok: false,
            summary: summary.into(),
        }
    }
}

/// A renamed copy, built.
struct BuiltAlias {
    distribution: String,
    wheel: PathBuf,
    sha256: String,
    requirements: Vec<String>,
    /// Built-in -> alias component names.
    components: BTreeMap<String, String>,
}

pub fn verify(
    shell: &mut Shell,
    source: &OsirisSource,
    opts: &VerifyOpts,
    report: &mut MigrateReport,
) -> anyhow::Result<()> {
    let uv = opts.uv.clone().ok_or_else(|| {
        helped(
            "`ocp migrate --verify` needs uv, and there is no `uv` on PATH",
            "install it with `pip install uv` (or see https://docs.astral.sh/uv/) and make sure its folder is on PATH; the packages were written, so run `ocp migrate` again with a new `--out` after that",
        )
    })?;
    let connections = match &opts.connections {
        Some(path) if path.is_file() => {
            Some(fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
        }
        Some(path) => {
            return Err(helped(
                format!("the connections file `{}` does not exist", path.display()),
                "pass `--connections` an osiris_connections.yaml with the connections the components need",
            ));
        }
        None => None,
    };
    let work = tempfile::Builder::new()
        .prefix("ocp-migrate-verify-")
        .tempdir()
        .context("failed to create a temporary directory")?;
    let mut aliases = Vec::new();
    for package in &mut report.packages {
        shell.status("Checking", format!("{} v{}", package.name, package.version))?;
        let loaded = Package::load(&package.path)?;
        let checked = check::check(&loaded);
        package.checked = Some(if checked.has_errors() {
            crate::ops::check::print_diagnostics(shell, &loaded, &checked)?;
            StageOutcome::failed(format!(
                "{} errors; run `ocp check --path {}`",
                checked.error_count(),
                package.path.display()
            ))
        } else if checked.warning_count() > 0 {
            StageOutcome::ok(match checked.warning_count() {
                1 => "ok, 1 warning".to_owned(),
                count => format!("ok, {count} warnings"),
            })
        } else {
            StageOutcome::ok("ok")
        });
        package.built = Some(match build_package(&loaded, &package.path, opts.mtime) {
            Ok(wheel) => StageOutcome::ok(format!("ok: {wheel}")),
            Err(error) => StageOutcome::failed(format!("{error:#}")),
        });
        aliases.push(build_alias(
            &loaded,
            package,
            source,
            work.path(),
            opts.mtime,
        )?);
    }

    shell.status(
        "Preparing",
        format!(
            "an environment with Osiris {} and the migrated components",
            source.version
        ),
    )?;
    let uv = Uv {
        program: uv,
        index_url: opts.index_url.clone(),
        offline: opts.offline,
    };
    let python_request = source.python.as_ref().map_or_else(
        || ">=3.11".to_owned(),
        |version| {
            let release = version.release();
            format!(
                "{}.{}",
                release.first().unwrap_or(&3),
                release.get(1).unwrap_or(&11)
            )
        },
    );
    let base = source
        .base_interpreter()
        .and_then(|path| uv.find_python(&path.to_string_lossy()).ok());
    let interpreter = base
        .map_or_else(|| uv.find_python(&python_request), Ok)
        .map_err(|error| {
            helped(
                error.to_string(),
                "install that Python, or verify from an environment whose Python is installed",
            )
        })?;
    let requirements: Vec<String> = aliases
        .iter()
        .flat_map(|a| a.requirements.clone())
        .collect();
    let inputs = EnvInputs::new(
        "ocp-migrate-verify".to_owned(),
        interpreter,
        source.version.to_string(),
        requirements,
        opts.index_url.clone(),
    );
    let Some((first, rest)) = aliases.split_first() else {
        return Ok(());
    };
    let root = opts.home.join(testenv::ROOT);
    let wheel = WheelToTest {
        path: first.wheel.clone(),
        sha256: first.sha256.clone(),
        distribution: first.distribution.clone(),
        has_dev_extra: false,
    };
    let (env, _, _lock) = testenv::prepare(&uv, &root, &inputs, &wheel)
        .map_err(|error| helped(format!("{:#}", anyhow::Error::new(error)), "check that uv can reach the package index (or pass `--offline` when its cache holds Osiris), then run `ocp migrate --verify` again with a new `--out`"))?;
    if !rest.is_empty() {
        let mut args: Vec<OsString> = Vec::new();
        for alias in rest {
            args.push("--reinstall-package".into());
            args.push(alias.distribution.clone().into());
        }
        args.extend(
            rest.iter()
                .map(|alias| alias.wheel.clone().into_os_string()),
        );
        uv.pip_install(&env, &args)
            .map_err(|error| anyhow::anyhow!("{:#}", anyhow::Error::new(error)))?;
    }

    let names: Vec<String> = report
        .packages
        .iter()
        .flat_map(|p| p.components.iter().map(|c| c.plan.name().to_string()))
        .collect();
    shell.status("Verifying", names.join(", "))?;
    let seen = run_harness(
        &env,
        work.path(),
        &aliases,
        report,
        connections.as_deref(),
        opts.timeout,
    )?;
    for package in &mut report.packages {
        for component in &mut package.components {
            let name = component.plan.name();
            let needs = scenarios::hosted_service(name.family())
                .map(|service| format!("a hosted {service}"));
            component.verdict = Some(
                match seen.components.iter().find(|s| s.builtin == name.as_str()) {
                    Some(seen) => judge::judge(seen, needs.as_deref()),
                    None => Verdict::Failed {
                        reason: "the harness did not report on it".to_owned(),
                    },
                },
            );
        }
    }
    Ok(())
}

/// Builds the package like `ocp build` (into its `dist/`); the wheel's file name.
fn build_package(package: &Package, root: &Path, mtime: u64) -> anyhow::Result<String> {
    let plan = build::plan(package)?;
    let dist = root.join("dist");
    fs::create_dir_all(&dist).with_context(|| format!("failed to create `{}`", dist.display()))?;
    build::write(&plan, &dist, mtime)?;
    let (wheel, _, _) = build::write_wheel(&plan, &dist, mtime)?;
    Ok(wheel
        .strip_prefix(root)
        .unwrap_or(&wheel)
        .display()
        .to_string())
}

/// The renamed copy of `package`, written under `work` and built into a wheel there.
fn build_alias(
    loaded: &Package,
    package: &MigratedPackage,
    source: &OsirisSource,
    work: &Path,
    mtime: u64,
) -> anyhow::Result<BuiltAlias> {
    let files: BTreeMap<String, String> = loaded
        .files
        .iter()
        .filter_map(|file| {
            let text = fs::read_to_string(&file.absolute).ok()?;
            Some((file.relative.clone(), text))
        })
        .collect();
    let components: Vec<_> = package
        .components
        .iter()
        .map(|c| c.plan.name().clone())
        .collect();
    let copy = alias::alias(
        &files,
        &package.name,
        &components,
        &source.version.to_string(),
    );
    let root = work.join(&copy.distribution);
    for (relative, text) in &copy.files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("failed to create `{}`", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("failed to write `{}`", path.display()))?;
    }
    let aliased = Package::load(&root)?;
    let plan = build::plan(&aliased)
        .with_context(|| format!("failed to prepare the wheel of {}", copy.distribution))?;
    let bytes = build::wheel::write_wheel(&plan.wheel.entries, mtime)
        .context("failed to write the renamed copy's wheel")?;
    let wheels = work.join("wheels");
    fs::create_dir_all(&wheels)
        .with_context(|| format!("failed to create `{}`", wheels.display()))?;
    let wheel = wheels.join(&plan.wheel.file_name);
    fs::write(&wheel, &bytes).with_context(|| format!("failed to write `{}`", wheel.display()))?;
    let requirements = aliased
        .pyproject
        .as_ref()
        .map(|p| p.dependencies().into_iter().map(|d| d.value).collect())
        .unwrap_or_default();
    Ok(BuiltAlias {
        distribution: copy.distribution,
        wheel,
        sha256: Checksum::of_bytes(&bytes).to_hex(),
        requirements,
        components: copy.components,
    })
}

fn run_harness(
    env: &testenv::TestEnv,
    work: &Path,
    aliases: &[BuiltAlias],
    report: &MigrateReport,
    connections: Option<&Path>,
    timeout: Duration,
) -> anyhow::Result<HarnessReport> {
    let harness = work.join("verify_harness.py");
    fs::write(&harness, HARNESS).context("failed to write the verification harness")?;
    fs::write(work.join("migrated_scenarios.py"), scenarios::LIBRARY)
        .context("failed to write the verification scenarios")?;
    let osiris = env.bin_dir().join(if cfg!(windows) {
        "osiris.exe"
    } else {
        "osiris"
    });
    let mut components = Vec::new();
    for package in &report.packages {
        for component in &package.components {
            let name = component.plan.name().to_string();
            let alias = aliases
                .iter()
                .find_map(|a| a.components.get(&name))
                .cloned()
                .unwrap_or_default();
            let builtin_driver = match &component.plan.builtin.origin {
                crate::migrate::component::Origin::Driver { path, .. } => Some(path.clone()),
                crate::migrate::component::Origin::Connector { .. } => None,
            };
            components.push(serde_json::json!({
                "builtin": name,
                "alias": alias,
                "builtin_driver": builtin_driver,
            }));
        }
    }
    let runs = work.join("runs");
    fs::create_dir_all(&runs).with_context(|| format!("failed to create `{}`", runs.display()))?;
    let job = serde_json::json!({
        "osiris": osiris,
        "work": runs,
        "connections": connections,
        "components": components,
    });
    let job_path = work.join("job.json");
    fs::write(&job_path, serde_json::to_vec_pretty(&job)?).context("failed to write the job")?;
    let stdout_path = work.join("harness.out");
    let stderr_path = work.join("harness.err");
    let stdout = fs::File::create(&stdout_path).context("failed to create the harness's log")?;
    let stderr = fs::File::create(&stderr_path).context("failed to create the harness's log")?;
    let mut path = OsString::from(env.bin_dir());
    if let Some(inherited) = std::env::var_os("PATH") {
        path.push(if cfg!(windows) { ";" } else { ":" });
        path.push(inherited);
    }
    let mut command = Command::new(env.python());
    command
        .arg(&harness)
        .arg(&job_path)
        .current_dir(work)
        .env("PATH", path)
        .env("VIRTUAL_ENV", env.venv())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // The migrated code and the pipelines run code nobody reviewed here: no ocp secrets.
    crate::childenv::without_secrets(&mut command);
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run `{}`", env.python().display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("failed to wait for the harness")? {
            break status;
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(helped(
                format!(
                    "the verification ran longer than {} seconds and was stopped",
                    timeout.as_secs()
                ),
                "a server the pipelines use may not answer; check `--connections`",
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = read_bounded(&stdout_path, judge::MAX_REPORT_BYTES as u64 + 1)?;
    if !status.success() {
        let errors = read_bounded(&stderr_path, 64 * 1024)?;
        return Err(anyhow::anyhow!(
            "the verification harness failed ({status}):\n{}",
            String::from_utf8_lossy(&errors).trim()
        ));
    }
    judge::parse(&output).map_err(anyhow::Error::msg)
}

/// At most `limit` bytes of the end of a file.
fn read_bounded(path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .with_context(|| format!("failed to read `{}`", path.display()))?
        .take(limit)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    Ok(bytes)
}
