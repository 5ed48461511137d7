//! Running the programs a benchmark times or sets up with (`ocp`, `git`, `uv`): a benchmark
//! cannot go on past a failed step, so a failure stops it with the program's stderr.

use std::path::Path;
use std::process::Command;

/// The `ocp` binary being benchmarked, quiet, with `home` as its `OCP_HOME` and nothing from
/// the caller's environment that would change what it reads (a virtual environment, an index).
pub fn ocp(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocp"));
    command
        .env("OCP_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("VIRTUAL_ENV")
        .env_remove("OCP_INDEX")
        .arg("-q");
    command
}

/// Runs `command` and returns its stdout; stops the benchmark with its stderr if it fails.
pub fn checked(command: &mut Command) -> String {
    let output = command.output().expect("run a command");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
