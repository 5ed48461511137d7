//! `ocp add`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::error::HelpExt;
use crate::model::ComponentName;
use crate::ops::add::{self as ops, AddOpts};
use crate::scaffold::Template;
use crate::shell::Shell;

/// Add another component to an existing package
///
/// One package may provide several components: `ocp add acme.processor` in `acme-osiris/`
/// adds `src/acme_osiris/processor/` (spec.yaml at the package's version, the driver and
/// load_spec()), `tests/test_processor_*.py`, the `osiris.components` entry point, package
/// data, the template's dependencies the package lacks, a README section and a CHANGELOG
/// entry, from the same templates as `ocp new`. The version is left alone; raise it with
/// `ocp version minor` before publishing. Nothing is written if any file cannot be.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp new acme.extractor && cd acme-osiris && ocp add acme.processor\n  ocp add acme.loader --template db-writer --path acme-osiris"
)]
pub struct AddArgs {
    /// The component name, `family.role` (for example `acme.processor`)
    component: String,

    /// The template: `api-extractor`, `db-writer` or `sql-processor` [default: from the role]
    #[arg(long, value_name = "NAME")]
    template: Option<String>,

    /// The package directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,
}

pub fn run(args: AddArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let component: ComponentName = args.component.parse().help(
        "component names look like `shopify.extractor`, `postgres.writer` or `orders.processor`",
    )?;
    let template = args
        .template
        .as_deref()
        .map(str::parse::<Template>)
        .transpose()?;
    let added = ops::add(
        shell,
        &AddOpts {
            path: args.path.clone(),
            component,
            template,
        },
    )?;
    shell.status("Created", added.created.join(", "))?;
    shell.status("Updated", added.edited.join(", "))?;
    let cd = if args.path.as_os_str() == "." {
        String::new()
    } else {
        format!("cd {} && ", args.path.display())
    };
    shell.status(
        "Next",
        format!("{cd}ocp check && pip install -e \".[dev]\" && pytest; `ocp version minor` before publishing"),
    )?;
    Ok(ExitCode::SUCCESS)
}
