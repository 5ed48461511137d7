//! Errors as ocp reports them: `error:`, `Caused by:` lines, `help:`, and an exit code.
//!
//! Exit codes: 0 success; 1 the user's input or the world was wrong; 2 ocp itself failed
//! (a bug). Any layer may attach a help line with [`HelpExt::help`] and mark a bug with
//! [`Bug`].

use std::fmt;

/// An error that carries a `help:` line for the person who reads it.
#[derive(Debug)]
pub struct Helped {
    inner: anyhow::Error,
    help: String,
}

impl fmt::Display for Helped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for Helped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

/// Marks an error as ocp's own failure (exit code 2), not the user's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Bug(pub String);

/// Attaches a `help:` line to any error.
pub trait HelpExt<T> {
    fn help(self, help: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> HelpExt<T> for Result<T, E> {
    fn help(self, help: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|error| {
            anyhow::Error::new(Helped {
                inner: error.into(),
                help: help.into(),
            })
        })
    }
}

/// Builds an error with a help line in one call.
pub fn helped(message: impl fmt::Display, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Helped {
        inner: anyhow::anyhow!("{message}"),
        help: help.into(),
    })
}

/// Attaches a help line to an error that has already happened.
pub fn with_help(error: impl Into<anyhow::Error>, help: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Helped {
        inner: error.into(),
        help: help.into(),
    })
}

/// An error and its sources on one line, `a: b: c`, leaving out a cause whose text the line
/// already holds (reqwest repeats its causes).
pub fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The help line nearest the top of the error chain, if any layer attached one.
pub fn find_help(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Helped>())
        .map(|helped| helped.help.as_str())
}

/// 2 when any layer marked the error as ocp's own failure, else 1.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error
        .chain()
        .any(|cause| cause.downcast_ref::<Bug>().is_some())
    {
        2
    } else {
        1
    }
}

/// True when the error is a closed stdout/stderr pipe (`ocp list | head`), which exits quietly.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The message and the `Caused by:` lines, without repeating a message that a `Helped`
/// wrapper passes through from its inner error.
pub fn message_and_causes(error: &anyhow::Error) -> (String, Vec<String>) {
    let mut lines: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if lines.last() != Some(&text) {
            lines.push(text);
        }
    }
    let message = if lines.is_empty() {
        String::from("unknown error")
    } else {
        lines.remove(0)
    };
    (message, lines)
}
