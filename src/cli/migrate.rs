//! `ocp migrate`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use pep440_rs::VersionSpecifiers;
use serde::Serialize;

use super::Format;
use crate::build;
use crate::error::{HelpExt, helped};
use crate::home;
use crate::ops::migrate::verify::{StageOutcome, VerifyOpts};
use crate::ops::migrate::{self as ops, MigrateOpts, MigrateReport};
use crate::shell::Shell;

/// PyPI's simple API, which uv installs Osiris from unless told otherwise.
const PYPI: &str = "https://pypi.org/simple";
/// How long the verification pipelines may run together.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(1800);

/// Move Osiris's built-in components into packages of their own
///
/// Reads each component's spec from `components/<name>/spec.yaml` of an Osiris installation
/// (a virtual environment or its site-packages) or source tree, and its driver from
/// `x-runtime.driver`. Writes one package per family, `{family}-osiris`, with every
/// component of the family in it (the first as `ocp new` makes a package, the others as
/// `ocp add` adds them): the spec with every field carried over and its driver path
/// rewritten; the driver module and the sibling Osiris modules it imports privately, their
/// imports rewritten (other imports of Osiris stay a dependency, listed with `-v`);
/// pyproject.toml with the entry points and the requirements from `x-runtime.requirements`
/// and the code's imports; tests that exercise the real driver; a README that says where
/// the component came from, with a pipeline; a CHANGELOG.
///
/// A migrated package keeps the built-in's name, so it can only be installed on Osiris
/// releases that no longer ship the built-in: its Osiris range (`--osiris`) must exclude every
/// release that ships it, and is required while no such release exists.
///
/// With `--verify`, each package is checked and built, and each component is compared with
/// its built-in: a renamed copy (`mysql.extractor_migrated`) is installed beside the built-in
/// in a fresh environment with the source Osiris, and the same pipeline runs once with each;
/// their outputs must agree row for row. Components that need a server take its connection
/// from `--connections`. Nothing is written when the input is wrong, and an existing folder
/// is never overwritten.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ocp migrate duckdb.processor --osiris '>=0.6.0,<1.0.0'
  ocp migrate --all --from .venv --out migrated --osiris '>=0.6.0,<1.0.0'
  ocp migrate mysql.extractor mysql.writer --osiris '>=0.6.0,<1.0.0' --verify --connections osiris_connections.yaml

`--verify` needs `uv` on PATH. Exit status 1 when the input is wrong or a verification fails.")]
pub struct MigrateArgs {
    /// The built-in components to migrate (`mysql.extractor`); those of one family share a
    /// package
    #[arg(value_name = "COMPONENT", required_unless_present = "all")]
    components: Vec<String>,

    /// Migrate every built-in component of the source Osiris
    #[arg(long, conflicts_with = "components")]
    all: bool,

    /// The Osiris to migrate from: a virtual environment, its site-packages, or an Osiris
    /// source tree [default: the active `VIRTUAL_ENV`]
    #[arg(long = "from", value_name = "PATH")]
    from: Option<PathBuf>,

    /// The folder the package folders are written into
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,

    /// The packages' Osiris range (`>=0.6.0,<1.0.0`); it must exclude every release that
    /// ships the built-ins [default: from the first release without them, when ocp knows one]
    #[arg(long, value_name = "RANGE")]
    osiris: Option<String>,

    /// Also check and build each package, and compare each component with its built-in in
    /// real pipelines
    #[arg(long)]
    verify: bool,

    /// An `osiris_connections.yaml` with the connections `--verify` needs for components
    /// that talk to a server (a `mysql` connection for `mysql.extractor` and `mysql.writer`)
    #[arg(long, value_name = "FILE", requires = "verify")]
    connections: Option<PathBuf>,

    /// The package index's simple API, for `--verify`'s environment
    #[arg(long, value_name = "URL", env = "OCP_TEST_INDEX_URL", default_value = PYPI)]
    index_url: String,

    /// Install `--verify`'s environment only from what uv has cached
    #[arg(long)]
    offline: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonReport {
    format_version: u32,
    source: JsonSource,
    verified: bool,
    failed: bool,
    packages: Vec<JsonPackage>,
}

#[derive(Serialize)]
struct JsonSource {
    description: String,
    osiris: String,
}

#[derive(Serialize)]
struct JsonPackage {
    name: String,
    path: String,
    version: String,
    osiris_range: String,
    checked: Option<StageOutcome>,
    built: Option<StageOutcome>,
    components: Vec<JsonComponent>,
}

#[derive(Serialize)]
struct JsonComponent {
    name: String,
    builtin_code: String,
    driver: String,
    written_driver: bool,
    spec_changes: Vec<String>,
    kept_imports: Vec<JsonKept>,
    requirements: Vec<String>,
    verification: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct JsonKept {
    file: String,
    line: usize,
    module: String,
}

pub fn run(args: MigrateArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let source = match (args.from, std::env::var_os("VIRTUAL_ENV")) {
        (Some(path), _) => path,
        (None, Some(active)) if !active.is_empty() => PathBuf::from(active),
        _ => {
            return Err(helped(
                "no Osiris to migrate from: no `--from` and no active virtual environment",
                "pass `--from` the virtual environment where osiris-pipeline is installed (or its site-packages, or a checkout of Osiris), or activate it",
            ));
        }
    };
    let osiris = args
        .osiris
        .as_deref()
        .map(|text| {
            VersionSpecifiers::from_str(text)
                .ok()
                .filter(|range| !range.is_empty())
                .ok_or_else(|| {
                    helped(
                        format!("`{text}` is not an Osiris version range"),
                        "write it as PEP 440 specifiers, for example `--osiris '>=0.6.0,<1.0.0'`",
                    )
                })
        })
        .transpose()?;
    let verify = if args.verify {
        let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
        let mtime = build::mtime_from_env(epoch.as_deref())
            .map_err(anyhow::Error::msg)
            .help("unset SOURCE_DATE_EPOCH, or set it to seconds since 1970")?;
        let index_url = args.index_url.trim_end_matches('/').to_owned();
        Some(VerifyOpts {
            home: home::ocp_home()?,
            uv: super::install::find_uv(),
            connections: args.connections,
            index_url: (index_url != PYPI).then_some(index_url),
            offline: args.offline,
            timeout: VERIFY_TIMEOUT,
            mtime,
        })
    } else {
        None
    };
    let report = ops::migrate(
        shell,
        &MigrateOpts {
            source,
            components: args.components,
            all: args.all,
            out: args.out,
            osiris,
            verify,
        },
    )?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&json(&report))?)?,
        Format::Human => {
            for line in tables(&report) {
                shell.data(line)?;
            }
        }
    }
    let failed: Vec<String> = report
        .packages
        .iter()
        .flat_map(|package| {
            package.components.iter().filter_map(move |component| {
                let stage_failed = package.checked.as_ref().is_some_and(|s| !s.ok)
                    || package.built.as_ref().is_some_and(|s| !s.ok);
                let verdict_failed = component.verdict.as_ref().is_some_and(|v| v.failed());
                (stage_failed || verdict_failed).then(|| component.plan.name().to_string())
            })
        })
        .collect();
    if !failed.is_empty() {
        return Err(helped(
            format!("verification failed for {}", failed.join(", ")),
            "see the table above; the packages were written, and `ocp check`, `ocp build` and pytest in each show more",
        ));
    }
    let count = report.packages.len();
    shell.status(
        "Finished",
        format!(
            "{count} package{} from {}",
            if count == 1 { "" } else { "s" },
            report.source
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A small table per component.
fn tables(report: &MigrateReport) -> Vec<String> {
    let mut lines = Vec::new();
    for package in &report.packages {
        for component in &package.components {
            let plan = &component.plan;
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.push(format!(
                "{} -> {} v{} (`{}`)",
                plan.name(),
                package.name,
                package.version,
                package.path.display()
            ));
            let written = if plan.written_over.is_some() {
                " (written by ocp over the built-in's connector)"
            } else {
                ""
            };
            lines.push(format!("  migrated  driver `{}`{written}", plan.driver));
            if let Some(checked) = &package.checked {
                lines.push(format!("  checked   {}", stage_words(checked)));
            }
            if let Some(built) = &package.built {
                lines.push(format!("  built     {}", stage_words(built)));
            }
            if let Some(verdict) = &component.verdict {
                lines.push(format!("  verified  {}", verdict.words()));
            }
        }
    }
    lines
}

fn stage_words(stage: &StageOutcome) -> String {
    if stage.ok {
        stage.summary.clone()
    } else {
        format!("FAILED: {}", stage.summary)
    }
}

fn json(report: &MigrateReport) -> JsonReport {
    JsonReport {
        format_version: 1,
        source: JsonSource {
            description: report.source.clone(),
            osiris: report.source_version.clone(),
        },
        verified: report.verified,
        failed: report.failed(),
        packages: report
            .packages
            .iter()
            .map(|package| JsonPackage {
                name: package.name.to_string(),
                path: package.path.display().to_string(),
                version: package.version.clone(),
                osiris_range: package.osiris.clone(),
                checked: package.checked.clone(),
                built: package.built.clone(),
                components: package
                    .components
                    .iter()
                    .map(|component| {
                        let plan = &component.plan;
                        JsonComponent {
                            name: plan.name().to_string(),
                            builtin_code: plan.builtin.origin.class_path(),
                            driver: plan.driver.clone(),
                            written_driver: plan.written_over.is_some(),
                            spec_changes: plan.spec_changes.clone(),
                            kept_imports: plan
                                .kept
                                .iter()
                                .map(|kept| JsonKept {
                                    file: kept.file.clone(),
                                    line: kept.line,
                                    module: kept.module.clone(),
                                })
                                .collect(),
                            requirements: plan.requirements.clone(),
                            verification: component.verdict.as_ref().map(|verdict| {
                                let mut value = serde_json::to_value(verdict)
                                    .unwrap_or_else(|_| serde_json::json!({}));
                                if let Some(object) = value.as_object_mut() {
                                    object.insert(
                                        "summary".to_owned(),
                                        serde_json::Value::String(verdict.words()),
                                    );
                                }
                                value
                            }),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}
