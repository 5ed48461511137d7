//! Running the programs a benchmark sets up with (`ocp`, `git`, `uv`): a benchmark cannot go
//! on past a failed step, so a failure stops it with the program's stderr.

use std::process::Command;

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
