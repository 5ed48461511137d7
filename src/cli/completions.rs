//! `ocp completions` and `ocp man`: shell completion scripts and manual pages, generated from
//! the clap definitions of every command, so they never disagree with `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};

use crate::error::helped;
use crate::shell::Shell;

/// Print a shell completion script
///
/// Completes commands, flags and values such as `--format json`. Load it in the current shell
/// or save it where your shell reads completions.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  source <(ocp completions bash)
  ocp completions bash > ~/.local/share/bash-completion/completions/ocp
  ocp completions zsh > ~/.zfunc/_ocp      # with fpath+=~/.zfunc before compinit
  ocp completions fish > ~/.config/fish/completions/ocp.fish
  ocp completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run_completions(args: CompletionsArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ocp", &mut script);
    shell.data(String::from_utf8_lossy(&script).trim_end())?;
    Ok(ExitCode::SUCCESS)
}

/// Print ocp's manual page, or write one page per command
///
/// With no command, prints `ocp(1)` in roff; with a command (`ocp man publish`, `ocp man key
/// generate`), that command's page. With `--out-dir`, writes `ocp.1` and a page per command
/// (`ocp-publish.1`, `ocp-key-generate.1`, ...) into the directory.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  ocp man | man -l -
  ocp man publish | man -l -
  ocp man --out-dir ~/.local/share/man/man1")]
pub struct ManArgs {
    /// The command whose page to print [default: ocp itself]
    #[arg(value_name = "COMMAND", conflicts_with = "out_dir")]
    command: Vec<String>,

    /// Write every page into this directory instead of printing one
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn run_man(args: ManArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let mut root = super::Cli::command().disable_help_subcommand(true);
    root.build();
    if let Some(dir) = args.out_dir {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create `{}`", dir.display()))?;
        let mut written = 0;
        write_pages(&root, &dir, &mut written)?;
        shell.status(
            "Wrote",
            format!("{written} manual pages to `{}`", dir.display()),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut page = &root;
    for name in &args.command {
        page = page
            .get_subcommands()
            .find(|sub| sub.get_name() == name)
            .ok_or_else(|| {
                helped(
                    format!("ocp has no command `{}`", args.command.join(" ")),
                    "`ocp --help` lists the commands",
                )
            })?;
    }
    shell.data(String::from_utf8_lossy(&render(page)?).trim_end())?;
    Ok(ExitCode::SUCCESS)
}

fn render(command: &clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .source(format!("ocp {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .context("failed to render a manual page")?;
    Ok(page)
}

fn write_pages(
    command: &clap::Command,
    dir: &std::path::Path,
    written: &mut usize,
) -> anyhow::Result<()> {
    let name = command.get_display_name().unwrap_or(command.get_name());
    let path = dir.join(format!("{name}.1"));
    crate::fsutil::write_atomic(&path, &render(command)?)?;
    *written += 1;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
