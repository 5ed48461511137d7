//! End to end: components made by `ocp new` run in real Osiris 0.5.7 pipelines. For every
//! template, `ocp new` -> `ocp build` -> (`ocp install` of the signed tarball, or `pip install`
//! of the wheel) -> `osiris run` of an OML pipeline that uses the component -> the rows that
//! come out are checked: a local HTTP API with two pages read by the extractor into CSV, a
//! CSV written by the writer into SQLite, and CSV -> processor -> CSV. `osiris components
//! validate` passes for every template, and the README's pipeline passes `osiris oml
//! validate`.
//!
//! Needs Python 3.11+ as `python3` (or `OCP_TEST_PYTHON`) with the `uv` module; environments
//! are made with uv against Osiris 0.5.7 from PyPI. Each test makes one environment and runs
//! all three pipelines in it.

mod common;
#[path = "common/python.rs"]
mod python;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Sandbox, run, run_ok, stderr, stdout};
use python::{OSIRIS, osiris_env, run_python, uv, venv};

const EXTRACTOR: &str = "acme.extractor";
const WRITER: &str = "warehouse.writer";
const PROCESSOR: &str = "calc.processor";
const API_KEY: &str = "pipeline-test-key";

/// One generated and built package.
struct Built {
    component: &'static str,
    root: PathBuf,
    tarball: PathBuf,
    wheel: PathBuf,
}

fn new_and_build(sandbox: &Sandbox, component: &'static str) -> Built {
    let family = component.split('.').next().expect("family");
    run_ok(
        sandbox
            .ocp()
            .args(["new", component, "--author", "Jane Doe <jane@example.com>"]),
    );
    let root = sandbox.work().join(format!("{family}-osiris"));
    let output = run_ok(
        sandbox
            .ocp()
            .args(["build", "--format", "json", "--path"])
            .arg(&root),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    Built {
        component,
        tarball: PathBuf::from(report["path"].as_str().expect("tarball")),
        wheel: PathBuf::from(report["wheel"]["path"].as_str().expect("wheel")),
        root,
    }
}

fn build_all(sandbox: &Sandbox) -> Vec<Built> {
    [EXTRACTOR, WRITER, PROCESSOR]
        .into_iter()
        .map(|component| new_and_build(sandbox, component))
        .collect()
}

/// A JSON API on 127.0.0.1: `GET /v1/customers?limit=N[&page=P]` with a bearer token, two
/// pages of records for `limit=2`. Records every request line and its Authorization header.
struct Api {
    base: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl Api {
    fn start() -> Api {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("address");
        let base = format!("http://{address}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let next_base = base.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut authorization = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        authorization = value.trim().to_owned();
                    }
                }
                let target = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                seen.lock()
                    .expect("lock")
                    .push((target.clone(), authorization.clone()));
                let (status, body) = if authorization != format!("Bearer {API_KEY}") {
                    (
                        "401 Unauthorized",
                        r#"{"error": "unauthorized"}"#.to_owned(),
                    )
                } else if target == "/v1/customers?limit=2" {
                    (
                        "200 OK",
                        format!(
                            r#"{{"customers": [{{"id": 1, "name": "Ada"}}, {{"id": 2, "name": "Grace"}}], "next": "{next_base}/v1/customers?limit=2&page=2"}}"#
                        ),
                    )
                } else if target == "/v1/customers?limit=2&page=2" {
                    (
                        "200 OK",
                        r#"{"customers": [{"id": 3, "name": "Edsger"}]}"#.to_owned(),
                    )
                } else {
                    ("404 Not Found", r#"{"error": "not found"}"#.to_owned())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Api { base, requests }
    }
}

/// Runs `osiris run pipeline.yaml` in a fresh project folder holding the pipeline and the
/// connections file; returns the folder.
fn osiris_run(bin: &Path, project: &Path, pipeline: &str, connections: &str) -> PathBuf {
    std::fs::create_dir_all(project).expect("create the project");
    std::fs::write(project.join("pipeline.yaml"), pipeline).expect("write the pipeline");
    std::fs::write(project.join("osiris_connections.yaml"), connections)
        .expect("write the connections");
    let output = run(Command::new(bin.join("osiris"))
        .args(["run", "pipeline.yaml"])
        .current_dir(project)
        .env("OSIRIS_HOME", project)
        .env("ACME_API_KEY", API_KEY)
        .env_remove("VIRTUAL_ENV"));
    assert!(
        output.status.success(),
        "osiris run failed in {}\n--- stdout\n{}\n--- stderr\n{}",
        project.display(),
        stdout(&output),
        stderr(&output)
    );
    project.to_path_buf()
}

fn csv_rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The three pipelines, run by the `osiris` in `bin` with the interpreter `python`, each
/// checked by the rows it produced.
fn run_the_three_pipelines(bin: &Path, python: &Path, projects: &Path) {
    // Extractor: two pages from a local API, the key from the environment, into CSV.
    let api = Api::start();
    let project = projects.join("extract");
    let output = project.join("customers.csv");
    osiris_run(
        bin,
        &project,
        &format!(
            r#"oml_version: "0.1.0"
name: acme-customers
steps:
  - id: extract-customers
    component: {EXTRACTOR}
    mode: read
    config:
      connection: "@acme.main"
      resource: customers
      page_size: 2
  - id: write-customers
    component: filesystem.csv_writer
    mode: write
    needs: [extract-customers]
    config:
      path: {output}
"#,
            output = output.display()
        ),
        &format!(
            "version: 1\nconnections:\n  acme:\n    main:\n      default: true\n      base_url: {}/v1\n      api_key: ${{ACME_API_KEY}}\n",
            api.base
        ),
    );
    assert_eq!(
        csv_rows(&output),
        ["id,name", "1,Ada", "2,Grace", "3,Edsger"],
        "{EXTRACTOR}"
    );
    let requests = api.requests.lock().expect("lock").clone();
    assert_eq!(
        requests,
        [
            (
                "/v1/customers?limit=2".to_owned(),
                format!("Bearer {API_KEY}")
            ),
            (
                "/v1/customers?limit=2&page=2".to_owned(),
                format!("Bearer {API_KEY}")
            ),
        ],
        "the extractor reads both pages with the key from the connection"
    );

    // Writer: a CSV file appended, then upserted, into SQLite.
    let project = projects.join("write");
    let source = project.join("customers.csv");
    let database = project.join("warehouse.db");
    let connections = format!(
        "version: 1\nconnections:\n  warehouse:\n    main:\n      default: true\n      url: sqlite:///{}\n",
        database.display()
    );
    let pipeline = |write_mode: &str, extra: &str| {
        format!(
            r#"oml_version: "0.1.0"
name: customers-to-warehouse
steps:
  - id: read-customers
    component: filesystem.csv_extractor
    mode: read
    config:
      path: {source}
  - id: write-customers
    component: {WRITER}
    mode: write
    needs: [read-customers]
    config:
      connection: "@warehouse.main"
      table: customers
      write_mode: {write_mode}
{extra}"#,
            source = source.display()
        )
    };
    std::fs::create_dir_all(&project).expect("create the project");
    std::fs::write(&source, "id,name\n1,Ada\n2,Grace\n").expect("write the source");
    osiris_run(bin, &project, &pipeline("append", ""), &connections);
    std::fs::write(&source, "id,name\n2,Grace Hopper\n3,Edsger\n").expect("write the source");
    osiris_run(
        bin,
        &project,
        &pipeline("upsert", "      primary_key: [id]\n"),
        &connections,
    );
    let rows = run_python(
        python,
        "import sqlite3, sys\nfor row in sqlite3.connect(sys.argv[1]).execute('SELECT id, name FROM customers ORDER BY id'): print(*row, sep=',')",
        &[database.to_str().expect("utf-8 path")],
    );
    assert_eq!(rows, "1,Ada\n2,Grace Hopper\n3,Edsger\n", "{WRITER}");

    // Processor: CSV -> SQL -> CSV; its family needs a connection entry in Osiris 0.5.7.
    let project = projects.join("transform");
    let source = project.join("orders.csv");
    let output = project.join("large-orders.csv");
    std::fs::create_dir_all(&project).expect("create the project");
    std::fs::write(&source, "id,total\n1,50\n2,150\n3,300\n").expect("write the source");
    osiris_run(
        bin,
        &project,
        &format!(
            r#"oml_version: "0.1.0"
name: large-orders
steps:
  - id: read-orders
    component: filesystem.csv_extractor
    mode: read
    config:
      path: {source}
  - id: large-orders
    component: {PROCESSOR}
    mode: transform
    needs: [read-orders]
    config:
      query: SELECT id, total * 2 AS doubled FROM input_df WHERE total >= 100 ORDER BY id
  - id: write-large-orders
    component: filesystem.csv_writer
    mode: write
    needs: [large-orders]
    config:
      path: {output}
"#,
            source = source.display(),
            output = output.display()
        ),
        "version: 1\nconnections:\n  calc:\n    main:\n      default: true\n",
    );
    // Osiris's CSV writer puts the columns in alphabetical order.
    assert_eq!(
        csv_rows(&output),
        ["doubled,id", "300,2", "600,3"],
        "{PROCESSOR}"
    );
}

/// The first ```yaml block of the generated README: its example pipeline.
fn readme_pipeline(root: &Path) -> String {
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let start = readme.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = readme[start..].find("```").expect("the block's end") + start;
    readme[start..end].to_owned()
}

#[test]
fn components_installed_by_ocp_run_in_osiris_pipelines() {
    let sandbox = Sandbox::new();
    let built = build_all(&sandbox);
    let env = sandbox.dir.path().join("osiris-env");
    let python = osiris_env(&env, false);
    // The user's own key signs the local tarballs, so install trusts them.
    run_ok(
        sandbox
            .ocp()
            .args(["key", "generate", "--no-password", "--output"])
            .arg(sandbox.home().join("keys/ocp.key")),
    );
    let mut install = sandbox.ocp();
    install
        .args(["install", "--no-python-deps", "--env"])
        .arg(&env);
    for package in &built {
        run_ok(
            sandbox
                .ocp()
                .arg("sign")
                .arg(&package.tarball)
                .args(["--key"])
                .arg(sandbox.home().join("keys/ocp.key")),
        );
        install.arg(&package.tarball);
    }
    run_ok(&mut install);

    let bin = env.join("bin");
    for package in &built {
        let project = sandbox
            .dir
            .path()
            .join(format!("validate-{}", package.component));
        std::fs::create_dir_all(&project).expect("create the project");
        let output = run(Command::new(bin.join("osiris"))
            .args(["components", "validate", package.component])
            .current_dir(&project));
        assert!(
            output.status.success() && stdout(&output).contains("is valid"),
            "osiris components validate {}\n{}\n{}",
            package.component,
            stdout(&output),
            stderr(&output)
        );
        std::fs::write(project.join("readme.yaml"), readme_pipeline(&package.root))
            .expect("write the README's pipeline");
        let output = run(Command::new(bin.join("osiris"))
            .args(["oml", "validate", "readme.yaml"])
            .current_dir(&project));
        assert!(
            output.status.success() && stdout(&output).contains("Valid OML"),
            "the README's pipeline for {} is not valid OML\n{}\n{}",
            package.component,
            stdout(&output),
            stderr(&output)
        );
    }
    run_the_three_pipelines(&bin, &python, &sandbox.dir.path().join("projects"));
}

#[test]
fn wheels_installed_with_pip_run_in_osiris_pipelines() {
    let sandbox = Sandbox::new();
    let built = build_all(&sandbox);
    let env = sandbox.dir.path().join("pip-env");
    let python = venv(&env, true);
    // Osiris from uv's cache, then the wheels with pip, as a user would.
    run_ok(
        uv().args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .arg(OSIRIS),
    );
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    for package in &built {
        pip.arg(&package.wheel);
    }
    run_ok(&mut pip);
    let listed = run_ok(
        Command::new(env.join("bin/osiris"))
            .args(["components", "list"])
            .current_dir(sandbox.dir.path()),
    );
    for package in &built {
        assert!(
            stdout(&listed).contains(package.component),
            "osiris components list does not show {}:\n{}",
            package.component,
            stdout(&listed)
        );
    }
    run_the_three_pipelines(
        &env.join("bin"),
        &python,
        &sandbox.dir.path().join("projects"),
    );
}
