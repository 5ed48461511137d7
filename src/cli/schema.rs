//! `ocp schema`.

use std::process::ExitCode;

use clap::Args;

use crate::ops::schema as ops;
use crate::shell::Shell;

/// Print the JSON Schema of a document ocp prints or writes
///
/// Every `--format json` output has a schema (`<command>-report`), and so do the `ocp.json`
/// manifest inside a package, the index files, `ocp.lock`, and the Osiris 0.5.7 component spec
/// that `ocp check` validates against. With no name, lists them. The schemas are JSON Schema
/// 2020-12; `format_version` in a report changes only when a field changes meaning or is
/// removed.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp schema\n  ocp schema publish-report > publish-report.schema.json\n  ocp schema osiris-0.5.7/spec"
)]
pub struct SchemaArgs {
    /// The schema's name, for example `publish-report` [default: list the names]
    #[arg(value_name = "NAME")]
    name: Option<String>,
}

pub fn run(args: SchemaArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    match args.name {
        Some(name) => shell.data(ops::schema(&name)?.text.trim_end())?,
        None => {
            let width = ops::list().iter().map(|s| s.name.len()).max().unwrap_or(0);
            for schema in ops::list() {
                shell.data(format!("{:width$}  {}", schema.name, schema.describes))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
