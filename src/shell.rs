//! The one output object. Status lines go to stderr, data to stdout, both through here, so
//! `-q`, `-v`, `--color` and `NO_COLOR` apply everywhere. Only the CLI and ops layers hold a
//! [`Shell`]; domain modules return values and never print.

use std::fmt::Display;
use std::io::{self, Write};

use anstream::{AutoStream, ColorChoice as StreamChoice};
use anstyle::{AnsiColor, Effects, Style};

/// How much the shell prints on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Status lines, warnings and errors.
    Normal,
    /// Everything, including `note:` lines about what ocp decided and why.
    Verbose,
}

/// Whether to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Color when the stream is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn stream_choice(self) -> StreamChoice {
        match self {
            ColorChoice::Auto => StreamChoice::Auto,
            ColorChoice::Always => StreamChoice::Always,
            ColorChoice::Never => StreamChoice::Never,
        }
    }
}

const STATUS: Style = AnsiColor::Green.on_default().effects(Effects::BOLD);
const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
const NOTE: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);

/// Writes status lines, warnings and errors to stderr, and data to stdout.
pub struct Shell {
    verbosity: Verbosity,
    err: AutoStream<io::Stderr>,
    out: AutoStream<io::Stdout>,
}

impl Shell {
    /// A shell writing to the process's stdout and stderr.
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        Shell {
            verbosity,
            err: AutoStream::new(io::stderr(), color.stream_choice()),
            out: AutoStream::new(io::stdout(), color.stream_choice()),
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether stderr renders colors (for renderers that style their own output).
    pub fn err_supports_color(&self) -> bool {
        !matches!(self.err.current_choice(), StreamChoice::Never)
    }

    /// A cargo-style status line: a right-aligned green verb, then the message.
    pub fn status(&mut self, verb: &str, message: impl Display) -> io::Result<()> {
        if self.verbosity < Verbosity::Normal {
            return Ok(());
        }
        writeln!(self.err, "{STATUS}{verb:>12}{STATUS:#} {message}")
    }

    /// `warning: ...` on stderr (hidden with `-q`).
    pub fn warn(&mut self, message: impl Display) -> io::Result<()> {
        if self.verbosity < Verbosity::Normal {
            return Ok(());
        }
        writeln!(self.err, "{WARNING}warning{WARNING:#}: {message}")
    }

    /// `note: ...` on stderr, shown only with `-v`.
    pub fn note(&mut self, message: impl Display) -> io::Result<()> {
        if self.verbosity < Verbosity::Verbose {
            return Ok(());
        }
        writeln!(self.err, "{NOTE}note{NOTE:#}: {message}")
    }

    /// An error with its causes and an optional help line; always shown.
    pub fn error(
        &mut self,
        message: impl Display,
        causes: &[String],
        help: Option<&str>,
    ) -> io::Result<()> {
        writeln!(self.err, "{ERROR}error{ERROR:#}: {message}")?;
        if !causes.is_empty() {
            writeln!(self.err, "\nCaused by:")?;
            for cause in causes {
                writeln!(self.err, "  {cause}")?;
            }
        }
        if let Some(help) = help {
            let help_style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);
            writeln!(self.err, "{help_style}help{help_style:#}: {help}")?;
        }
        Ok(())
    }

    /// Pre-rendered text for stderr (diagnostics), shown unless `-q`.
    pub fn print_err_block(&mut self, text: &str) -> io::Result<()> {
        if self.verbosity < Verbosity::Normal {
            return Ok(());
        }
        writeln!(self.err, "{text}")
    }

    /// Pre-rendered text for stderr that `-q` must not hide (errors).
    pub fn print_err_block_always(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.err, "{text}")
    }

    /// Data on stdout: always printed, whatever the verbosity.
    pub fn data(&mut self, text: impl Display) -> io::Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }
}
