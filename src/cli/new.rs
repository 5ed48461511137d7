//! `ocp new` and `ocp init`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Args;

use crate::error::{HelpExt, helped};
use crate::model::{ComponentName, PackageName};
use crate::ops::new::{self as ops, NewOpts};
use crate::scaffold::{self, NewPackage, Template};
use crate::shell::Shell;

const DEFAULT_OSIRIS: &str = ">=0.5.0,<1.0.0";

/// Create a new component package in a new directory
///
/// `ocp new shopify.extractor` creates `shopify-osiris/`: pyproject.toml with the
/// `osiris.components` entry point, src/shopify_osiris/ with spec.yaml, driver.py and
/// load_spec(), tests, README, CHANGELOG, LICENSE, .gitignore and a release workflow. The
/// package passes `ocp check` and its own `pytest` as generated.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp new shopify.extractor\n  ocp new postgres.writer --author 'Jane Doe <jane@example.com>' --license MIT\n  ocp new orders.processor --osiris '>=0.5.7,<0.6.0' --path components/orders"
)]
pub struct NewArgs {
    /// The component name, `family.role` (for example `shopify.extractor`)
    component: String,

    /// Where to create the package [default: `{family}-osiris`]
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,

    #[command(flatten)]
    common: CommonArgs,
}

/// Create a new component package in an existing empty directory
///
/// Like `ocp new`, but fills the current directory (or `--path`), which must be empty apart
/// from a `.git` folder.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mkdir shopify-osiris && cd shopify-osiris && git init && ocp init shopify.extractor"
)]
pub struct InitArgs {
    /// The component name, `family.role` (for example `shopify.extractor`)
    component: String,

    /// The directory to fill
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// The template: `api-extractor`, `db-writer` or `sql-processor` [default: from the role]
    #[arg(long, value_name = "NAME")]
    template: Option<String>,

    /// The distribution name [default: `{family}-osiris`]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,

    /// The author, `Name` or `Name <email>` [default: from `git config`]
    #[arg(long, value_name = "AUTHOR")]
    author: Option<String>,

    /// The license: Apache-2.0, MIT, BSD-3-Clause or LicenseRef-Proprietary
    #[arg(long, value_name = "SPDX", default_value = "Apache-2.0")]
    license: String,

    /// The Osiris versions the component supports, as PEP 440 specifiers
    #[arg(long, value_name = "RANGE", default_value = DEFAULT_OSIRIS, allow_hyphen_values = true)]
    osiris: String,
}

pub fn run_new(args: NewArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let package = resolve(&args.component, &args.common)?;
    let path = args
        .path
        .unwrap_or_else(|| PathBuf::from(package.package.as_str()));
    finish(
        shell,
        NewOpts {
            package,
            path,
            init: false,
        },
    )
}

pub fn run_init(args: InitArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let package = resolve(&args.component, &args.common)?;
    finish(
        shell,
        NewOpts {
            package,
            path: args.path,
            init: true,
        },
    )
}

fn finish(shell: &mut Shell, opts: NewOpts) -> anyhow::Result<ExitCode> {
    ops::new(shell, &opts)?;
    let shown = opts.path.display();
    let cd = if opts.init {
        String::new()
    } else {
        format!("cd {shown} && ")
    };
    shell.note(format!(
        "template `{}`, license {}, Osiris {}",
        opts.package.template, opts.package.license, opts.package.osiris
    ))?;
    shell.status("Next", format!("{cd}ocp check && ocp test"))?;
    Ok(ExitCode::SUCCESS)
}

fn resolve(component: &str, common: &CommonArgs) -> anyhow::Result<NewPackage> {
    let component: ComponentName = component.parse().help(
        "component names look like `shopify.extractor`, `postgres.writer` or `duckdb.processor`",
    )?;
    let template = match &common.template {
        Some(name) => name.parse::<Template>()?,
        None => Template::for_role(component.role()).ok_or_else(|| {
            scaffold::ScaffoldError::NoDefaultTemplate(component.role().to_owned())
        })?,
    };
    let package = match &common.name {
        Some(name) => name.parse::<PackageName>()?,
        None => component.default_package_name(),
    };
    if !scaffold::LICENSES.contains(&common.license.as_str()) {
        return Err(helped(
            format!("ocp has no license text for `{}`", common.license),
            format!(
                "choose one of {}, then replace LICENSE with your own text if you need another",
                scaffold::LICENSES.join(", ")
            ),
        ));
    }
    let osiris = scaffold::parse_osiris_range(&common.osiris)
        .help("write a PEP 440 range such as `>=0.5.0,<1.0.0`")?;
    let author = common.author.clone().or_else(git_author);
    let year = time::OffsetDateTime::now_utc().year();
    Ok(NewPackage {
        component,
        package,
        template,
        author,
        license: common.license.clone(),
        osiris,
        year,
    })
}

/// `Name <email>` from the user's git configuration, as cargo does.
fn git_author() -> Option<String> {
    let read = |key: &str| -> Option<String> {
        let output = crate::childenv::without_secrets(&mut Command::new("git"))
            .args(["config", "--get", key])
            .output()
            .ok()?;
        let value = String::from_utf8(output.stdout).ok()?.trim().to_owned();
        (output.status.success() && !value.is_empty()).then_some(value)
    };
    let name = read("user.name")?;
    Some(match read("user.email") {
        Some(email) => format!("{name} <{email}>"),
        None => name,
    })
}
