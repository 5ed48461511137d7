//! `ocp audit` of an environment with 50 OCPs of 200 files each, against the floor: `find` and
//! `sha256sum` over the same files, which is what hashing them costs with nothing else done.
//!
//! Run with `cargo bench --bench audit`. Needs `python3` >= 3.11 and uv (the `uv` module of
//! `python3`, else `uv` on PATH). Set up once, not timed: 50 packages made with `ocp new`, each
//! given 9 subpackages of 20 modules so that it installs 200 files (modules, component spec,
//! dist-info), are published to a local index and installed by `ocp install --no-python-deps`
//! into a real virtual environment that has `osiris-pipeline` 0.5.7 and its requirements
//! (installed by uv, from its cache when it can). The audit must find nothing there, or the
//! benchmark fails: it times a clean audit, every check made.
//!
//! Then, warm (each run once first), interleaved, `RUNS` times each:
//! - ocp: `ocp audit --env ENV --offline` (every RECORD hash, the unclaimed-file walk, `.pth`
//!   files, each package's signed entry against its owners' log, yanked versions, the policy,
//!   the Osiris ranges);
//! - floor: `find <each OCP's import package, component folder and dist-info> -type f -print0
//!   | xargs -0 sha256sum > /dev/null`.
//!
//! It prints the median and p95 of each, the ratio of the medians, the median CPU time (user +
//! system, children included) and the load average before and after. Figures: `BENCHMARKS.md`.

#![allow(clippy::print_stdout)]

#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cli::{Workspace, fresh_env, ocp, package, run, stats, uv, workspace};

const RUNS: usize = 15;
const PACKAGES: usize = 50;
const FILES_PER_PACKAGE: usize = 200;
/// Subpackages added to each package, and modules in each (besides its `__init__.py`):
/// with the 11 files `ocp new` and `ocp install` give a package, 200 in all.
const SUBPACKAGES: usize = 9;
const MODULES: usize = 20;

/// A module of a realistic size (about 1.5 KB), different in every file.
fn module(package: usize, subpackage: usize, module: usize) -> String {
    let tag = format!("{package:02}_{subpackage}_{module:02}");
    format!(
        r#""""Helpers for page {tag} of the source API."""

from __future__ import annotations

import logging
from typing import Any, Iterator

logger = logging.getLogger(__name__)

PAGE_SIZE_{tag} = {size}


def fetch_page_{tag}(session: Any, url: str, cursor: str | None = None) -> dict[str, Any]:
    """Reads one page, following the cursor the previous page returned."""
    params = {{"limit": PAGE_SIZE_{tag}}}
    if cursor is not None:
        params["cursor"] = cursor
    response = session.get(url, params=params, timeout=30)
    response.raise_for_status()
    logger.debug("read page of %s with cursor %s", url, cursor)
    return response.json()


def iterate_{tag}(session: Any, url: str) -> Iterator[dict[str, Any]]:
    """Yields every record, page after page, until the API says there are no more."""
    cursor = None
    while True:
        page = fetch_page_{tag}(session, url, cursor)
        yield from page.get("data", [])
        cursor = page.get("next_cursor")
        if not cursor:
            return


def normalize_{tag}(record: dict[str, Any]) -> dict[str, Any]:
    """Flattens nested objects into `parent_child` columns."""
    out: dict[str, Any] = {{}}
    for key, value in record.items():
        if isinstance(value, dict):
            for child, inner in value.items():
                out[f"{{key}}_{{child}}"] = inner
        else:
            out[key] = value
    return out
"#,
        size = 100 + module * 10 + subpackage,
    )
}

/// The folders an installed OCP owns, relative to site-packages (its import packages, its
/// `components/<name>` folders and its dist-info), from its RECORD; and how many rows it has.
fn owned_folders(site_packages: &Path, dist_info: &str) -> (Vec<String>, usize) {
    let record = std::fs::read_to_string(site_packages.join(dist_info).join("RECORD"))
        .expect("read a RECORD");
    let mut folders: Vec<String> = Vec::new();
    let mut rows = 0;
    for line in record.lines().filter(|line| !line.is_empty()) {
        rows += 1;
        let path = line.split(',').next().expect("a path");
        let mut parts = path.split('/');
        let folder = match (parts.next().expect("a part"), parts.next()) {
            ("components", Some(name)) => format!("components/{name}"),
            (first, Some(_)) => first.to_owned(),
            (_, None) => continue,
        };
        if !folders.contains(&folder) {
            folders.push(folder);
        }
    }
    (folders, rows)
}

fn site_packages(env: &Path) -> PathBuf {
    let lib = env.join("lib");
    std::fs::read_dir(&lib)
        .expect("read lib")
        .flatten()
        .map(|entry| entry.path().join("site-packages"))
        .find(|path| path.is_dir())
        .expect("a site-packages folder")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// CPU seconds (user + system) used by the child processes waited for so far, theirs
/// included: on a machine shared with other work, it tells more than the wall clock.
fn children_cpu_seconds() -> f64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Runs `command`, failing the benchmark if it fails; its wall clock and CPU time.
fn timed(command: &mut Command) -> (Duration, f64) {
    let cpu = children_cpu_seconds();
    let start = Instant::now();
    let output = command.output().expect("run a command");
    let elapsed = start.elapsed();
    let cpu = children_cpu_seconds() - cpu;
    assert!(
        output.status.success(),
        "{command:?} failed (for ocp audit: it found something):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (elapsed, cpu)
}

fn main() {
    let started = Instant::now();
    let Workspace { temp, home, work } = workspace();

    let mut components = Vec::new();
    for at in 0..PACKAGES {
        let component = format!("bench{at:02}.extractor");
        let root = package(&home, &work, &component, &[]);
        let import = root.join(format!("src/bench{at:02}_osiris"));
        for subpackage in 0..SUBPACKAGES {
            let folder = import.join(format!("pages{subpackage}"));
            std::fs::create_dir_all(&folder).expect("mkdir");
            std::fs::write(folder.join("__init__.py"), "\"\"\"Page helpers.\"\"\"\n")
                .expect("write");
            for number in 0..MODULES {
                std::fs::write(
                    folder.join(format!("page{number:02}.py")),
                    module(at, subpackage, number),
                )
                .expect("write");
            }
        }
        run(ocp(&home).args(["publish", "--path"]).arg(&root));
        components.push(component);
    }

    let env = temp.path().join("env");
    let python = fresh_env(&env, false);
    let osiris = |offline: bool| {
        let mut command = uv();
        command.args(["pip", "install", "--quiet", "--python"]);
        command.arg(&python).arg("osiris-pipeline==0.5.7");
        if offline {
            command.arg("--offline");
        }
        command.status().is_ok_and(|status| status.success())
    };
    assert!(
        osiris(true) || osiris(false),
        "uv could not install osiris-pipeline 0.5.7"
    );
    run(ocp(&home)
        .args(["install", "--no-python-deps", "--env"])
        .arg(&env)
        .args(&components));

    // The audit must find nothing: a benchmark of an audit that stops early measures nothing.
    let report = ocp(&home)
        .args(["audit", "--offline", "--format", "json", "--env"])
        .arg(&env)
        .output()
        .expect("run ocp audit");
    let json: serde_json::Value =
        serde_json::from_slice(&report.stdout).expect("ocp audit --format json");
    if !report.status.success() || json["clean"] != true {
        println!(
            "ocp audit found something in the clean environment:\n{}\n{}",
            String::from_utf8_lossy(&report.stdout),
            String::from_utf8_lossy(&report.stderr)
        );
        std::process::exit(1);
    }
    let audited = json["packages"].as_array().map_or(0, Vec::len);
    assert_eq!(audited, PACKAGES, "ocp audit saw {audited} packages");

    let site = site_packages(&env);
    let mut folders = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&site)
        .expect("read site-packages")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("bench") && name.ends_with(".dist-info") {
            let (owned, rows) = owned_folders(&site, &name);
            assert_eq!(
                rows, FILES_PER_PACKAGE,
                "`{name}/RECORD` lists {rows} files"
            );
            folders.extend(owned);
            files += rows;
        }
    }
    folders.sort();
    let floor = || {
        let mut command = Command::new("sh");
        command
            .current_dir(&site)
            .arg("-c")
            .arg("find \"$@\" -type f -print0 | xargs -0 sha256sum > /dev/null")
            .arg("sh")
            .args(&folders);
        command
    };
    // The floor hashes exactly the files the OCPs' RECORDs list.
    let listed = Command::new("sh")
        .current_dir(&site)
        .arg("-c")
        .arg("find \"$@\" -type f | wc -l")
        .arg("sh")
        .args(&folders)
        .output()
        .expect("count the files");
    let found: usize = String::from_utf8_lossy(&listed.stdout)
        .trim()
        .parse()
        .expect("a count");
    assert_eq!(found, files, "the OCPs' folders hold files no RECORD lists");
    let audit = || {
        let mut command = ocp(&home);
        command.args(["audit", "--offline", "--env"]).arg(&env);
        command
    };
    println!(
        "setup: {PACKAGES} OCPs, {files} files, installed by ocp into `{}` in {:.1} s",
        env.display(),
        started.elapsed().as_secs_f64()
    );

    // Warm: the page cache holds every file, and each program has run once.
    timed(&mut audit());
    timed(&mut floor());
    let load_before = load_average();
    let (mut audit_samples, mut floor_samples) = (Vec::new(), Vec::new());
    let (mut audit_cpu, mut floor_cpu) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (elapsed, cpu) = timed(&mut audit());
        audit_samples.push(elapsed);
        audit_cpu.push(Duration::from_secs_f64(cpu));
        let (elapsed, cpu) = timed(&mut floor());
        floor_samples.push(elapsed);
        floor_cpu.push(Duration::from_secs_f64(cpu));
    }
    let load_after = load_average();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (audit_median, audit_p95) = stats(audit_samples);
    let (floor_median, floor_p95) = stats(floor_samples);
    let (audit_cpu, _) = stats(audit_cpu);
    let (floor_cpu, _) = stats(floor_cpu);
    println!(
        "audit of {PACKAGES} OCPs x {FILES_PER_PACKAGE} files, warm, interleaved, {RUNS} runs each"
    );
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>12}",
        "tool", "median", "p95", "vs floor", "median CPU"
    );
    for (tool, median, p95, cpu) in [
        ("ocp", audit_median, audit_p95, audit_cpu),
        ("floor", floor_median, floor_p95, floor_cpu),
    ] {
        println!(
            "{tool:<8} {:>8.1}ms {:>8.1}ms {:>9.2}x {:>10.1}ms",
            ms(median),
            ms(p95),
            ms(median) / ms(floor_median),
            ms(cpu)
        );
    }
    println!(
        "load average (1, 5, 15 min): {load_before} before, {load_after} after; {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
}
