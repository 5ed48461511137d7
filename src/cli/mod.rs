//! The command line: clap definitions and dispatch. Each command file turns its flags into
//! an ops `*Opts` struct and calls one ops function; this file owns the global flags, the
//! shell, and the mapping of errors to exit codes.

mod add;
mod audit;
mod build;
mod check;
mod completions;
mod config;
mod index;
mod install;
mod key;
mod migrate;
mod new;
mod owner;
pub mod progress;
mod publish;
mod schema;
mod search;
mod settings;
mod sign;
mod test;
mod verify;
mod version;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::shell::{ColorChoice, Shell, Verbosity};

const AFTER_HELP: &str = "\
Get started:
  ocp new shopify.extractor && cd shopify-osiris && ocp check && ocp build

Exit status:
  0  success
  1  the input or the environment was wrong (the message says what and where)
  2  ocp itself failed (please report it)

Environment:
  NO_COLOR                  disable colors when set to any non-empty value
  SOURCE_DATE_EPOCH         timestamp written into built tarballs (default: 2000-01-01)
  OCP_HOME                  ocp's per-user directory (default: ~/.local/share/ocp)
  OCP_SIGNING_KEY           the secret key (its text or path) for sign, publish, yank and owner
  OCP_SIGNING_KEY_PASSWORD  the secret key's password (no prompt)
  OCP_INDEX                 the index for install, update, lock, audit, publish, yank, owner,
                            search and info
  OCP_OFFLINE               `true`: use only local copies of indexes and downloads
  OCP_PLUGINS_*             the plugin policy's settings (`ocp config show` lists them)
  OCP_REGISTRY_<NAME>_TOKEN the upload token of the index NAME from config.toml
  OCP_TEST_INDEX_URL        the package index `ocp test` installs Osiris from";

/// The package manager and build toolchain for Osiris Component Packages.
#[derive(Debug, Parser)]
#[command(name = "ocp", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Print notes about what ocp decided and why
    #[arg(short, long, global = true)]
    verbose: bool,

    /// When to color output
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    color: ColorArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// Machine-readable or human output, for commands that report results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text
    #[default]
    Human,
    /// One JSON document on stdout, described by a JSON Schema that `ocp schema` prints
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    New(new::NewArgs),
    Init(new::InitArgs),
    Check(check::CheckArgs),
    Build(build::BuildArgs),
    Test(test::TestArgs),
    Key(key::KeyArgs),
    Sign(sign::SignArgs),
    Verify(verify::VerifyArgs),
    Publish(publish::PublishArgs),
    Yank(owner::YankArgs),
    Owner(owner::OwnerArgs),
    Search(search::SearchArgs),
    Info(search::InfoArgs),
    Index(index::IndexArgs),
    Install(install::InstallArgs),
    Uninstall(install::UninstallArgs),
    List(install::ListArgs),
    Tree(install::TreeArgs),
    Update(install::UpdateArgs),
    Lock(install::LockCommandArgs),
    Version(version::VersionArgs),
    Add(add::AddArgs),
    Migrate(migrate::MigrateArgs),
    Schema(schema::SchemaArgs),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
    Config(config::ConfigArgs),
    Audit(audit::AuditArgs),
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            // clap prints to the right stream itself; a closed pipe is not worth reporting.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let color = match cli.color {
        ColorArg::Auto if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => {
            ColorChoice::Never
        }
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    };
    let mut shell = Shell::new(verbosity, color);
    match run(cli.command, &mut shell) {
        Ok(code) => code,
        Err(error) => report(&mut shell, &error),
    }
}

fn run(command: Command, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    match command {
        Command::New(args) => new::run_new(args, shell),
        Command::Init(args) => new::run_init(args, shell),
        Command::Check(args) => check::run(args, shell),
        Command::Build(args) => build::run(args, shell),
        Command::Key(args) => key::run(args, shell),
        Command::Sign(args) => sign::run(args, shell),
        Command::Verify(args) => verify::run(args, shell),
        Command::Publish(args) => publish::run(args, shell),
        Command::Yank(args) => owner::run_yank(args, shell),
        Command::Owner(args) => owner::run_owner(args, shell),
        Command::Search(args) => search::run_search(args, shell),
        Command::Info(args) => search::run_info(args, shell),
        Command::Index(args) => index::run(args, shell),
        Command::Install(args) => install::run_install(args, shell),
        Command::Uninstall(args) => install::run_uninstall(args, shell),
        Command::List(args) => install::run_list(args, shell),
        Command::Tree(args) => install::run_tree(args, shell),
        Command::Update(args) => install::run_update(args, shell),
        Command::Lock(args) => install::run_lock(args, shell),
        Command::Test(args) => test::run(args, shell),
        Command::Version(args) => version::run(args, shell),
        Command::Add(args) => add::run(args, shell),
        Command::Migrate(args) => migrate::run(args, shell),
        Command::Schema(args) => schema::run(args, shell),
        Command::Completions(args) => completions::run_completions(args, shell),
        Command::Man(args) => completions::run_man(args, shell),
        Command::Config(args) => config::run(args, shell),
        Command::Audit(args) => audit::run(args, shell),
    }
}

fn report(shell: &mut Shell, error: &anyhow::Error) -> ExitCode {
    if crate::error::is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    let (message, causes) = crate::error::message_and_causes(error);
    let _ = shell.error(message, &causes, crate::error::find_help(error));
    ExitCode::from(crate::error::exit_code_for(error))
}
