//! The command line as a whole: help that teaches, exit codes, quiet mode, closed pipes.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::{Sandbox, run, run_ok, stderr, stdout};

#[test]
fn help_lists_commands_and_exit_codes() {
    let sandbox = Sandbox::new();
    let output = run_ok(sandbox.ocp().arg("--help"));
    let text = stdout(&output);
    for expected in [
        "new",
        "init",
        "check",
        "build",
        "Exit status:",
        "2  ocp itself failed",
        "ocp new shopify.extractor",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[test]
fn an_unknown_command_is_a_usage_error_with_exit_code_1() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().arg("frobnicate"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn quiet_hides_status_lines_but_not_errors() {
    let sandbox = Sandbox::new();
    let output = run_ok(sandbox.ocp().args(["-q", "new", "shopify.extractor"]));
    assert_eq!(stderr(&output), "");
    let output = run_ok(
        sandbox
            .ocp()
            .args(["-q", "check", "--path", "shopify-osiris"]),
    );
    assert_eq!(stderr(&output), "");
    let output = run(sandbox.ocp().args(["-q", "check", "--path", "missing"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "error: `missing` does not exist\n");
}

#[test]
fn a_closed_stdout_exits_quietly() {
    let sandbox = Sandbox::new();
    run_ok(sandbox.ocp().args(["new", "shopify.extractor"]));
    let mut child = sandbox
        .ocp()
        .args(["build", "--list", "--path", "shopify-osiris"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Close the reading end at once, as `ocp build --list | head -0` would.
    drop(child.stdout.take());
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("error"), "{err}");
}
