//! `ocp migrate` against the real osiris-pipeline 0.5.7: every built-in migrates, and each
//! package passes `ocp check`, `ocp build` and its own pytest, in an Osiris whose built-in
//! copies are gone (the environment the packages are for), where their pipeline tests run
//! for real, MySQL ones against a real MariaDB. `--verify` runs the built-ins and their
//! migrations side by side in the same pipelines: CSV in and out, DuckDB, and MariaDB. Bad
//! input is refused with a clear error and nothing written; a published migration installs
//! only where Osiris lacks the built-in, and the resolver says so.
//!
//! Needs Python 3.11+ (`OCP_TEST_PYTHON`) with uv, and MariaDB (`apt-get install -y
//! mariadb-server`), whose server the tests start themselves on 127.0.0.1.

mod common;
#[path = "common/mariadb.rs"]
mod mariadb;
#[path = "common/python.rs"]
mod python;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Sandbox, assert_same_tree, replace_in_file, run, run_ok, stderr, stdout, tree_state};
use mariadb::MariaDb;

/// The range every test migrates for: Osiris 0.5.7 ships all the built-ins.
const RANGE: &str = ">=0.6.0,<1.0.0";
/// The variable the connections file takes the MySQL password from.
const PASSWORD_VARIABLE: &str = "MYSQL_TEST_PASSWORD";

fn migrate(sandbox: &Sandbox, args: &[&str]) -> Output {
    run(sandbox
        .ocp()
        .arg("migrate")
        .args(args)
        .env("PATH", python::path_with_uv())
        .env(PASSWORD_VARIABLE, mariadb::PASSWORD))
}

fn json(output: &Output) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}):\n{}\n{}",
            stdout(output),
            stderr(output)
        )
    });
    common::assert_matches_schema(
        include_str!("../schemas/migrate-report.schema.json"),
        &value,
    );
    value
}

fn text(value: &serde_json::Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// The built-ins of the shared environment's Osiris: the folders of `components/` with a spec.
fn builtins(site_packages: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(site_packages.join("components"))
        .expect("read components/")
        .flatten()
        .filter(|entry| entry.path().join("spec.yaml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn components(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|package| package["components"].as_array().expect("components"))
        .collect()
}

#[test]
fn every_builtin_migrates_and_passes_check_build_and_its_own_tests() {
    let sandbox = Sandbox::new();
    let shared = python::shared_env();
    let out = sandbox.work().join("migrated");
    let from = shared.root.to_string_lossy().into_owned();
    let output = migrate(
        &sandbox,
        &[
            "--all", "--from", &from, "--out", "migrated", "--osiris", RANGE, "--format", "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json(&output);
    let packages: Vec<&str> = report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| text(&package["name"]))
        .collect();
    assert_eq!(
        packages,
        [
            "duckdb-osiris",
            "filesystem-osiris",
            "graphql-osiris",
            "mysql-osiris",
            "posthog-osiris",
            "supabase-osiris"
        ]
    );
    let site_packages = python::site_packages(&shared.root);
    let migrated: Vec<&str> = components(&report)
        .iter()
        .map(|c| text(&c["name"]))
        .collect();
    assert_eq!(
        migrated,
        builtins(&site_packages),
        "every built-in migrates"
    );
    for component in components(&report) {
        let driver = text(&component["driver"]);
        assert!(!driver.starts_with("osiris."), "{driver}");
        // Osiris 0.5.7 names no driver for these two; ocp writes one over the connector.
        let written = ["mysql.writer", "supabase.extractor"].contains(&text(&component["name"]));
        assert_eq!(component["written_driver"], written, "{component:#}");
    }
    let mysql = components(&report)
        .into_iter()
        .find(|c| c["name"] == "mysql.extractor")
        .expect("mysql.extractor");
    assert_eq!(
        mysql["kept_imports"],
        serde_json::json!([{
            "file": "osiris/drivers/mysql_extractor_driver.py",
            "line": 88,
            "module": "osiris.core.secrets_masking"
        }])
    );
    assert_eq!(
        mysql["requirements"],
        serde_json::json!(["pandas>=2.0.0", "pymysql>=1.0", "sqlalchemy>=2.0"])
    );

    // `ocp check` and `ocp build`, with no edits.
    let mut wheels = Vec::new();
    for package in &packages {
        let root = out.join(package);
        let checked = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
        assert_eq!(
            checked.status.code(),
            Some(0),
            "{package}: {}",
            stderr(&checked)
        );
        run_ok(sandbox.ocp().args(["build", "--path"]).arg(&root));
        let wheel = fs::read_dir(root.join("dist"))
            .expect("dist/")
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == "whl"))
            .expect("a wheel");
        wheels.push(wheel);
    }
    let readme = fs::read_to_string(out.join("mysql-osiris/README.md")).expect("README");
    assert!(
        readme.contains(
            "`mysql.extractor` is migrated from the built-in `mysql.extractor` of Osiris 0.5.7"
        ),
        "{readme}"
    );

    // Their own tests, in the Osiris they are for: 0.5.7 without its built-in copies.
    let env = sandbox.dir.path().join("env");
    let python = python::osiris_env(&env, false);
    let env_site = python::site_packages(&env);
    for name in &migrated {
        fs::remove_dir_all(env_site.join("components").join(name)).expect("remove a built-in");
    }
    let requirements: BTreeSet<String> = components(&report)
        .iter()
        .flat_map(|c| c["requirements"].as_array().expect("requirements").iter())
        .map(|r| text(r).to_owned())
        .chain(["pytest>=7.0".to_owned()])
        .collect();
    let requirements: Vec<&str> = requirements.iter().map(String::as_str).collect();
    python::uv_install(&python, &requirements);
    let mut no_deps = vec!["--no-deps"];
    let wheel_paths: Vec<String> = wheels.iter().map(|w| w.display().to_string()).collect();
    no_deps.extend(wheel_paths.iter().map(String::as_str));
    python::uv_install(&python, &no_deps);
    assert_eq!(builtins(&env_site), builtins(&site_packages));

    let server = MariaDb::start();
    let connections = sandbox.dir.path().join("osiris_connections.yaml");
    fs::write(&connections, server.connections_yaml(PASSWORD_VARIABLE)).expect("write");
    let mut pipeline_tests = 0;
    for package in &packages {
        let output = run(Command::new(&python)
            .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
            .current_dir(out.join(package))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("OSIRIS_TEST_CONNECTIONS", &connections)
            .env(PASSWORD_VARIABLE, mariadb::PASSWORD));
        let printed = stdout(&output);
        assert!(
            output.status.success(),
            "{package}: pytest failed\n{printed}\n{}",
            stderr(&output)
        );
        let skipped_pipelines: Vec<&str> = printed
            .lines()
            .filter(|line| line.starts_with("SKIPPED") && line.contains("_pipeline.py"))
            .collect();
        assert!(
            skipped_pipelines.is_empty(),
            "{package}: {skipped_pipelines:?}"
        );
        pipeline_tests += fs::read_dir(out.join(package).join("tests"))
            .expect("tests/")
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().ends_with("pipeline.py"))
            .count();
    }
    // CSV in and out, DuckDB, GraphQL on 127.0.0.1, and MySQL both ways.
    assert_eq!(pipeline_tests, 6);

    // Every README's pipeline passes Osiris's own OML validator.
    let readmes: Vec<String> = packages
        .iter()
        .map(|package| out.join(package).join("README.md").display().to_string())
        .collect();
    let readmes: Vec<&str> = readmes.iter().map(String::as_str).collect();
    let verdicts = python::run_python(
        &python,
        "import sys, yaml\nfrom osiris.core.oml_validator import OMLValidator\nfor path in sys.argv[1:]:\n    text = open(path, encoding='utf-8').read()\n    block = text.split('```yaml\\n', 1)[1].split('```', 1)[0]\n    valid, errors, _ = OMLValidator().validate(yaml.safe_load(block))\n    print(path, valid, errors)\n",
        &readmes,
    );
    assert_eq!(
        verdicts
            .lines()
            .filter(|line| line.contains(" True ["))
            .count(),
        packages.len(),
        "{verdicts}"
    );
}

#[test]
fn verify_runs_each_builtin_and_its_migration_in_the_same_pipelines() {
    let sandbox = Sandbox::new();
    let shared = python::shared_env();
    let server = MariaDb::start();
    let connections = sandbox.dir.path().join("osiris_connections.yaml");
    fs::write(&connections, server.connections_yaml(PASSWORD_VARIABLE)).expect("write");
    let from = shared.root.to_string_lossy().into_owned();
    let connections_arg = connections.to_string_lossy().into_owned();
    let output = migrate(
        &sandbox,
        &[
            "filesystem.csv_extractor",
            "filesystem.csv_writer",
            "duckdb.processor",
            "mysql.extractor",
            "mysql.writer",
            "--from",
            &from,
            "--osiris",
            RANGE,
            "--verify",
            "--connections",
            &connections_arg,
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(report["verified"], true);
    assert_eq!(report["failed"], false);
    for package in report["packages"].as_array().expect("packages") {
        assert_eq!(package["checked"]["ok"], true, "{package:#}");
        assert_eq!(package["built"]["ok"], true, "{package:#}");
        assert!(
            sandbox
                .work()
                .join(text(&package["path"]))
                .join("dist")
                .is_dir()
        );
    }
    let verdicts: Vec<(String, String, u64)> = components(&report)
        .iter()
        .map(|c| {
            let verification = &c["verification"];
            (
                text(&c["name"]).to_owned(),
                text(&verification["status"]).to_owned(),
                verification["rows"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("duckdb.processor", "equal", 4),
        ("filesystem.csv_extractor", "equal", 5),
        ("filesystem.csv_writer", "equal", 5),
        ("mysql.extractor", "equal", 5),
        // Osiris 0.5.7 cannot run its own mysql.writer (no driver): the rows written by the
        // migrated one are read back from MariaDB and compared with the ones sent.
        ("mysql.writer", "equal-to-expected", 5),
    ];
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(name, status, rows)| ((*name).to_owned(), (*status).to_owned(), *rows))
        .collect();
    assert_eq!(verdicts, expected, "{report:#}");
    let writer = components(&report)
        .into_iter()
        .find(|c| c["name"] == "mysql.writer")
        .expect("mysql.writer");
    assert!(
        text(&writer["verification"]["builtin_error"]).contains("missing runtime drivers"),
        "{writer:#}"
    );
    // The verification's tables are gone, and the password is in no file ocp wrote.
    assert_eq!(
        server
            .client(&format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}'",
                mariadb::DATABASE
            ))
            .trim(),
        "0"
    );
    for (path, _) in tree_state(&sandbox.work()) {
        let file = sandbox.work().join(&path);
        if let Ok(content) = fs::read(&file) {
            assert!(
                !String::from_utf8_lossy(&content).contains(mariadb::PASSWORD),
                "{path} holds the password"
            );
        }
    }
}

/// A copy of the shared environment's Osiris files (its `osiris` package, `components/` and
/// dist-info) as a site-packages folder that a test may damage.
fn copied_installation(sandbox: &Sandbox) -> PathBuf {
    let source = python::site_packages(&python::shared_env().root);
    let site = sandbox.dir.path().join("site");
    for name in ["osiris", "components", "osiris_pipeline-0.5.7.dist-info"] {
        copy_tree(&source.join(name), &site.join(name));
    }
    site
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read").flatten() {
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&path, &to.join(entry.file_name()));
            }
        } else {
            fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let site = copied_installation(&sandbox);
    let from = site.to_string_lossy().into_owned();
    let refused = |args: &[&str], message: &str, help: &str| {
        let before = tree_state(&sandbox.work());
        let mut all = args.to_vec();
        all.extend(["--from", &from, "--osiris", RANGE]);
        let output = migrate(&sandbox, &all);
        let printed = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{printed}");
        assert!(printed.contains(message), "{message}\nnot in\n{printed}");
        assert!(printed.contains(help), "{help}\nnot in\n{printed}");
        assert_same_tree("the work directory", &before, &tree_state(&sandbox.work()));
    };

    refused(
        &["mysql.loader"],
        "error: Osiris 0.5.7 has no component `mysql.loader`; it has `duckdb.processor`, `filesystem.csv_extractor`, `filesystem.csv_writer`, `graphql.extractor`, `mysql.extractor`, `mysql.writer`, `posthog.extractor`, `supabase.extractor` and `supabase.writer`",
        "help: name one of them, or migrate them all with `--all`",
    );

    fs::create_dir_all(sandbox.work().join("mysql-osiris")).expect("mkdir");
    fs::write(sandbox.work().join("mysql-osiris/notes.txt"), "mine").expect("write");
    refused(
        &["mysql.extractor"],
        "error: destination `./mysql-osiris` already exists",
        "help: move it away, or write the packages elsewhere with `--out DIR`",
    );
    fs::remove_dir_all(sandbox.work().join("mysql-osiris")).expect("remove");

    // A driver class that is not where the spec says: the whole migration stops.
    let driver = site.join("osiris/drivers/filesystem_csv_writer_driver.py");
    replace_in_file(
        &driver,
        "class FilesystemCsvWriterDriver",
        "class CsvWriterRenamed",
    );
    refused(
        &["--all"],
        &format!(
            "error: the driver of `filesystem.csv_writer` is not where its spec says (`osiris.drivers.filesystem_csv_writer_driver.FilesystemCsvWriterDriver` at {}:162): `{}` defines no class `FilesystemCsvWriterDriver` (it defines `CsvWriterRenamed`)",
            site.join("components/filesystem.csv_writer/spec.yaml")
                .display(),
            driver.display()
        ),
        "help: the Osiris installation is damaged or modified",
    );
    replace_in_file(
        &driver,
        "class CsvWriterRenamed",
        "class FilesystemCsvWriterDriver",
    );
    let graphql = site.join("osiris/drivers/graphql_extractor_driver.py");
    fs::rename(&graphql, site.join("moved.py")).expect("move");
    refused(
        &["graphql.extractor"],
        "there is no module `osiris.drivers.graphql_extractor_driver` (no `osiris/drivers/graphql_extractor_driver.py`)",
        "help: the Osiris installation is damaged or modified",
    );
    fs::rename(site.join("moved.py"), &graphql).expect("move back");

    // A spec that does not parse.
    let spec = site.join("components/duckdb.processor/spec.yaml");
    replace_in_file(&spec, "modes:\n", "modes: [transform\n");
    refused(
        &["--all"],
        &format!(
            "error: the spec of `duckdb.processor` does not parse: {}:",
            spec.display()
        ),
        "help: the Osiris installation is damaged or modified",
    );

    let empty = sandbox.dir.path().join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    let before = tree_state(&sandbox.work());
    let output = migrate(
        &sandbox,
        &[
            "--all",
            "--from",
            &empty.to_string_lossy(),
            "--osiris",
            RANGE,
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("holds no Osiris to migrate from: it is neither a virtual environment"),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the work directory", &before, &tree_state(&sandbox.work()));
}

#[test]
fn a_source_tree_migrates_like_the_installation_made_from_it() {
    let sandbox = Sandbox::new();
    let site = copied_installation(&sandbox);
    // A checkout of Osiris: the same package and components, and the pyproject.toml the
    // installed metadata was made from.
    let tree = sandbox.dir.path().join("osiris-checkout");
    for name in ["osiris", "components"] {
        copy_tree(&site.join(name), &tree.join(name));
    }
    let metadata = fs::read_to_string(site.join("osiris_pipeline-0.5.7.dist-info/METADATA"))
        .expect("METADATA");
    let headers: Vec<&str> = metadata.lines().take_while(|l| !l.is_empty()).collect();
    let version = headers
        .iter()
        .find_map(|line| line.strip_prefix("Version: "))
        .expect("Version");
    let dependencies: String = headers
        .iter()
        .filter_map(|line| line.strip_prefix("Requires-Dist: "))
        .map(|requirement| format!("    {},\n", serde_json::Value::from(requirement)))
        .collect();
    fs::write(
        tree.join("pyproject.toml"),
        format!(
            "[project]\nname = \"osiris-pipeline\"\nversion = \"{version}\"\ndependencies = [\n{dependencies}]\n"
        ),
    )
    .expect("write pyproject.toml");

    for (from, out) in [(&site, "from-site"), (&tree, "from-tree")] {
        let output = migrate(
            &sandbox,
            &[
                "--all",
                "--from",
                &from.to_string_lossy(),
                "--out",
                out,
                "--osiris",
                RANGE,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let output = migrate(
        &sandbox,
        &[
            "duckdb.processor",
            "--from",
            &tree.to_string_lossy(),
            "--out",
            "again",
            "--osiris",
            RANGE,
        ],
    );
    assert!(
        stderr(&output).contains(&format!(
            "Migrating duckdb.processor from Osiris 0.5.7 (the source tree `{}`)",
            tree.display()
        )),
        "{}",
        stderr(&output)
    );
    assert_same_tree(
        "the packages migrated from the source tree",
        &tree_state(&sandbox.work().join("from-site")),
        &tree_state(&sandbox.work().join("from-tree")),
    );
}

#[test]
fn the_osiris_range_must_exclude_every_release_that_ships_the_builtin() {
    let sandbox = Sandbox::new();
    let from = python::shared_env().root.to_string_lossy().into_owned();
    let before = tree_state(&sandbox.work());
    let output = migrate(&sandbox, &["mysql.extractor", "--from", &from]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output)
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n"),
        "error: no Osiris release without the built-in `mysql.extractor` exists yet: Osiris 0.5.1 to 0.5.7 ship it\n\
         help: a migrated package keeps the built-in's name, so it installs only on an Osiris without the built-in; pass the range it will support, for example `--osiris '>=0.6.0,<1.0.0'`"
    );
    let output = migrate(
        &sandbox,
        &["posthog.extractor", "--from", &from, "--osiris", ">=0.5.5"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "error: the Osiris range `>=0.5.5` includes Osiris 0.5.6 and 0.5.7, which ship their own `posthog.extractor`"
        ),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the work directory", &before, &tree_state(&sandbox.work()));

    // A range below the release that first shipped it is honest too.
    let output = migrate(
        &sandbox,
        &["posthog.extractor", "--from", &from, "--osiris", "<0.5.6"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(
        table.starts_with("posthog.extractor -> posthog-osiris v1.1.0 (`./posthog-osiris`)\n  migrated  driver `posthog_osiris.posthog_extractor_driver.PostHogExtractorDriver`"),
        "{table}"
    );
    let pyproject =
        fs::read_to_string(sandbox.work().join("posthog-osiris/pyproject.toml")).expect("read");
    assert!(
        pyproject.contains("\"osiris-pipeline<0.5.6\""),
        "{pyproject}"
    );
}

#[test]
fn a_published_migration_installs_only_where_osiris_lacks_the_builtin() {
    let sandbox = Sandbox::new();
    let key = sandbox.signing_key("me");
    let from = python::shared_env().root.to_string_lossy().into_owned();
    run_ok(sandbox.ocp().args([
        "migrate",
        "mysql.extractor",
        "mysql.writer",
        "--from",
        &from,
        "--osiris",
        RANGE,
    ]));
    let root = sandbox.work().join("mysql-osiris");
    run_ok(
        sandbox
            .ocp()
            .args(["publish", "--path"])
            .arg(&root)
            .arg("--key")
            .arg(&key),
    );
    let install = |osiris: &str| {
        run(sandbox.ocp().args([
            "install",
            "mysql-osiris",
            "--dry-run",
            "--osiris-version",
            osiris,
            "--python-version",
            "3.11",
        ]))
    };
    let refused = install("0.5.7");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains(
            "Osiris 0.5.7 ships mysql.extractor and mysql.writer itself; mysql-osiris 1.0.0 needs an Osiris without them (>=0.6.0,<1.0.0)"
        ),
        "{}",
        stderr(&refused)
    );
    let planned = install("0.6.0");
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    assert!(
        stderr(&planned).contains("mysql-osiris") && stderr(&planned).contains("1.0.0"),
        "{}",
        stderr(&planned)
    );
}
