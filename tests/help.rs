//! What a newcomer reads: help texts that say only true and useful things, `ocp schema`,
//! shell completions that a real bash loads and uses, and manual pages that `man` renders.

mod common;

use std::process::Command;

use common::{Sandbox, assert_same_tree, run, run_ok, stderr, stdout, tree_state};

#[test]
fn an_unset_environment_variable_is_not_shown_as_an_empty_value() {
    let sandbox = Sandbox::new();
    for command in ["publish", "install", "search", "info", "yank"] {
        let text = stdout(&run_ok(sandbox.ocp().args([command, "--help"])));
        assert!(text.contains("[env: OCP_INDEX]"), "{command}:\n{text}");
        assert!(!text.contains("OCP_INDEX="), "{command}:\n{text}");
    }
}

#[test]
fn format_help_says_how_to_get_the_schema() {
    let sandbox = Sandbox::new();
    let text = stdout(&run_ok(sandbox.ocp().args(["publish", "--help"])));
    assert!(
        text.contains("described by a JSON Schema that `ocp schema` prints"),
        "{text}"
    );
    assert!(!text.contains("schemas/"), "{text}");
}

#[test]
fn signing_key_help_names_every_command_that_signs() {
    let sandbox = Sandbox::new();
    let text = stdout(&run_ok(sandbox.ocp().arg("--help")));
    assert!(
        text.contains("OCP_SIGNING_KEY           the secret key (its text or path) for sign, publish, yank and owner"),
        "{text}"
    );
}

#[test]
fn an_uppercase_name_is_refused_with_a_valid_suggestion() {
    let sandbox = Sandbox::new();
    let before = tree_state(sandbox.dir.path());
    let output = run(sandbox.ocp().args(["new", "Shopify"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: component name `Shopify` has uppercase letters; component names are lowercase, for example `shopify.extractor`\n\
         help: component names look like `shopify.extractor`, `postgres.writer` or `duckdb.processor`\n"
    );
    assert_same_tree("ocp new Shopify", &before, &tree_state(sandbox.dir.path()));
}

#[test]
fn every_listed_schema_prints_as_its_file() {
    let sandbox = Sandbox::new();
    let list = stdout(&run_ok(sandbox.ocp().arg("schema")));
    let names: Vec<&str> = list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(names.contains(&"publish-report"), "{list}");
    assert!(names.contains(&"osiris-0.5.7/spec"), "{list}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let files = std::fs::read_dir(&root)
        .expect("read schemas/")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().to_string_lossy().ends_with(".schema.json"))
        })
        .count();
    // Every top-level file, plus the Osiris spec schema in its own folder.
    assert_eq!(names.len(), files + 1, "{list}");
    for name in names {
        let printed = stdout(&run_ok(sandbox.ocp().args(["schema", name])));
        let file = std::fs::read_to_string(root.join(format!("{name}.schema.json")))
            .expect("the schema file");
        assert_eq!(printed, file, "`ocp schema {name}` differs from its file");
    }
}

#[test]
fn an_unknown_schema_is_refused_with_the_way_to_list_them() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().args(["schema", "nope"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: ocp has no schema called `nope`\nhelp: run `ocp schema` to list them, for example `ocp schema publish-report`\n"
    );
    assert_eq!(stdout(&output), "");
}

/// What bash completes after `words`, with ocp's completion script loaded.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = format!(
        "source <(\"$OCP\" completions bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_ocp ocp \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words
            .iter()
            .map(|word| format!("'{word}'"))
            .collect::<Vec<_>>()
            .join(" "),
        words.len() - 1
    );
    let output = run_ok(
        Command::new("bash")
            .args(["--noprofile", "--norc", "-c", &script])
            .env("OCP", env!("CARGO_BIN_EXE_ocp")),
    );
    stdout(&output).lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_commands_flags_and_values() {
    assert_eq!(bash_completes(&["ocp", "pub"]), ["publish"]);
    assert!(bash_completes(&["ocp", "publish", "--dr"]).contains(&"--dry-run".to_owned()));
    let formats = bash_completes(&["ocp", "check", "--format", ""]);
    assert!(
        formats.contains(&"json".to_owned()) && formats.contains(&"human".to_owned()),
        "{formats:?}"
    );
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_refused() {
    let sandbox = Sandbox::new();
    for (shell, marker) in [
        ("bash", "complete -F _ocp"),
        ("zsh", "#compdef ocp"),
        ("fish", "complete -c ocp"),
        ("elvish", "edit:completion:arg-completer[ocp]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout(&run_ok(sandbox.ocp().args(["completions", shell])));
        assert!(script.contains(marker), "{shell}:\n{script}");
        assert!(script.contains("publish"), "{shell}");
    }
    let output = run(sandbox.ocp().args(["completions", "tcsh"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid value 'tcsh'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn man_renders_the_page_of_ocp_and_of_each_command() {
    let sandbox = Sandbox::new();
    let page = stdout(&run_ok(sandbox.ocp().arg("man")));
    assert!(page.contains(".TH ocp 1"), "{page}");
    let page = stdout(&run_ok(sandbox.ocp().args(["man", "key", "generate"])));
    assert!(page.contains(".TH ocp-key-generate 1"), "{page}");

    // The real `man` renders the page, when the machine has it.
    let file = sandbox.dir.path().join("ocp-publish.1");
    std::fs::write(
        &file,
        stdout(&run_ok(sandbox.ocp().args(["man", "publish"]))),
    )
    .expect("write the page");
    if let Ok(output) = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        && output.status.success()
    {
        let text = stdout(&output);
        assert!(
            text.contains("Check, build, sign and publish a package to an index"),
            "{text}"
        );
        assert!(text.contains("--dry-run"), "{text}");
    }

    let output = run(sandbox.ocp().args(["man", "frobnicate"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: ocp has no command `frobnicate`\nhelp: `ocp --help` lists the commands\n"
    );
}

#[test]
fn man_out_dir_writes_a_page_per_command() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("man1");
    let output = run_ok(sandbox.ocp().args(["man", "--out-dir"]).arg(&dir));
    for page in [
        "ocp.1",
        "ocp-publish.1",
        "ocp-key-generate.1",
        "ocp-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).expect(page);
        assert!(text.starts_with(".ie"), "{page}");
    }
    assert!(!dir.join("ocp-help.1").exists());
    let count = std::fs::read_dir(&dir).expect("read").count();
    assert!(
        stderr(&output).contains(&format!("Wrote {count} manual pages to")),
        "{}",
        stderr(&output)
    );
}
