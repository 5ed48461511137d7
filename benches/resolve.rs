//! Resolver benchmark: `cargo bench --bench resolve`.
//!
//! Builds a seeded synthetic index on disk (10,000 packages x 20 versions, real files in the
//! `packages/<shard>` layout of an index checkout, every entry signed by its package's owner
//! and every package with a signed owner log, as `ocp publish` writes them) and times, side
//! by side, with the signature checks included (each entry the resolver considers, and each
//! owner log it reads):
//!
//! - `typical`: a request that selects about 50 packages, reading the index included (a fresh
//!   `IndexDirSource` each run, so every package file is read and parsed again);
//! - `osiris-backtrack`: the newest versions of a chain of packages need a newer Osiris
//!   through their dependencies, so pubgrub must back off to older majors;
//! - `runaway`: a pigeonhole problem (no solution, exponential to prove) that the time limit
//!   must end, naming the conflict it was stuck on.
//!
//! Timing is hand-rolled (`Instant`, medians over N runs) to keep the benchmark free of
//! dependencies. The figures for the record are in `BENCHMARKS.md`.

#![allow(clippy::print_stdout)]

#[path = "common/synthetic.rs"]
mod synthetic;

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ocp::resolve::{IndexDirSource, Request, Requirement, ResolveError, ResolveOptions, resolve};
use ocp::signing::SecretKey;
use pep440_rs::Version;
use synthetic::{PACKAGES, PIGEONS, name, typical_request, write_signed_package};

struct Row {
    case: &'static str,
    times: Vec<Duration>,
    selected: usize,
    files: usize,
    vouched: usize,
    note: String,
}

fn percentile(times: &[Duration], fraction: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn run(
    case: &'static str,
    root: &Path,
    request: &Request,
    options: &ResolveOptions,
    runs: usize,
) -> Row {
    let mut times = Vec::new();
    let mut selected = 0;
    let mut files = 0;
    let mut vouched = 0;
    let mut note = String::new();
    for _ in 0..runs {
        let source = IndexDirSource::new(root);
        let start = Instant::now();
        let outcome = resolve(&source, request, options);
        times.push(start.elapsed());
        files = source.files_read();
        vouched = source.entries_vouched();
        match outcome {
            Ok(resolution) => {
                selected = resolution.packages.len();
                if let Some(first) = request.requirements.first() {
                    let version = &resolution.packages[first.name()].version;
                    note = format!("{} resolved to {version}", first.name());
                }
            }
            Err(error @ ResolveError::Cancelled { .. }) => note = error.to_string(),
            Err(error) => panic!("{case}: {error}"),
        }
    }
    Row {
        case,
        times,
        selected,
        files,
        vouched,
        note,
    }
}

fn main() {
    let folder = tempfile::tempdir().expect("a temporary index");
    let root = folder.path();
    let started = Instant::now();
    let key = SecretKey::generate().expect("a signing key");
    let (index, extra) = synthetic::generate();
    for package in index.iter().chain(&extra) {
        write_signed_package(root, &key, package);
    }
    std::fs::write(root.join("config.json"), "{\"format_version\": 2}\n")
        .expect("write config.json");
    println!(
        "index: {} packages x 20 versions (+{} for the hard cases), signed and written in {:.1} s",
        PACKAGES,
        extra.len(),
        started.elapsed().as_secs_f64()
    );

    let environment = |requirements: Vec<Requirement>| Request {
        requirements,
        osiris: Version::from_str("0.5.7").expect("a version"),
        python: Version::from_str("3.12.4").expect("a version"),
        preferences: Default::default(),
    };
    // The first package whose resolution selects about 50 packages; the reach through the
    // newest versions narrows the search.
    let selects = |at: usize| {
        let request = environment(vec![
            Requirement::new(&name(at), "").expect("a requirement"),
        ]);
        resolve(
            &IndexDirSource::new(root),
            &request,
            &ResolveOptions::default(),
        )
        .map_or(0, |resolution| resolution.packages.len())
    };
    let start = typical_request(&index, selects);
    let unlimited = ResolveOptions::default();
    let limited = ResolveOptions {
        allow_prereleases: false,
        time_limit: Some(Duration::from_millis(200)),
    };
    let typical = environment(vec![
        Requirement::new(&name(start), "").expect("a requirement"),
    ]);
    let hard = environment(vec![
        Requirement::new("hard000-osiris", "").expect("a requirement"),
    ]);
    let runaway = environment(
        (0..PIGEONS)
            .map(|pigeon| {
                Requirement::new(&format!("seat{pigeon:02}-osiris"), "").expect("a requirement")
            })
            .collect(),
    );
    let rows = [
        run("typical (~50 packages)", root, &typical, &unlimited, 50),
        run("osiris-backtrack", root, &hard, &unlimited, 20),
        run("runaway, 200 ms limit", root, &runaway, &limited, 5),
    ];

    println!(
        "\n{:<26} {:>10} {:>10} {:>9} {:>11} {:>14}",
        "case", "median", "p95", "selected", "files read", "entries vouched"
    );
    for row in &rows {
        println!(
            "{:<26} {:>7.2} ms {:>7.2} ms {:>9} {:>11} {:>14}",
            row.case,
            percentile(&row.times, 0.5).as_secs_f64() * 1e3,
            percentile(&row.times, 0.95).as_secs_f64() * 1e3,
            row.selected,
            row.files,
            row.vouched,
        );
    }
    println!();
    for row in &rows {
        println!("{}: {}", row.case, row.note);
    }
}
