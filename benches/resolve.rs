//! Resolver benchmark: `cargo bench --bench resolve`.
//!
//! Builds a seeded synthetic index on disk (10,000 packages x 20 versions, real files in the
//! `packages/<shard>` layout of an index checkout) and times, side by side:
//!
//! - `typical`: a request that selects about 50 packages, reading the index included (a fresh
//!   `IndexDirSource` each run, so every package file is read and parsed again);
//! - `osiris-backtrack`: the newest versions of a chain of packages need a newer Osiris
//!   through their dependencies, so pubgrub must back off to older majors;
//! - `runaway`: a pigeonhole problem (no solution, exponential to prove) that the time limit
//!   must end, naming the conflict it was stuck on.
//!
//! Timing is hand-rolled (`Instant`, medians over N runs) to keep the benchmark free of
//! dependencies. The figures for the record are in `BENCHMARKS.md`; the index generator is shared with
//! the site benchmark (`common/synthetic.rs`).

#![allow(clippy::print_stdout)]

#[path = "common/synthetic.rs"]
mod synthetic;

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ocp::index::format::IndexEntry;
use ocp::resolve::{IndexDirSource, Request, Requirement, ResolveError, ResolveOptions, resolve};
use pep440_rs::Version;
use synthetic::{PACKAGES, PIGEONS, name, write_package};

/// Packages reachable from `start` through every version's dependencies: an upper bound on
/// what a resolution can select, used to pick a request of about 50 packages.
fn reach(index: &[Vec<IndexEntry>], start: usize) -> usize {
    let mut seen = vec![false; index.len()];
    let mut stack = vec![start];
    while let Some(at) = stack.pop() {
        if std::mem::replace(&mut seen[at], true) {
            continue;
        }
        for entry in index[at].iter().rev().take(1) {
            for dependency in &entry.dependencies {
                stack.push(dependency.name[3..8].parse().expect("a numbered name"));
            }
        }
    }
    seen.iter().filter(|seen| **seen).count()
}

struct Row {
    case: &'static str,
    times: Vec<Duration>,
    selected: usize,
    files: usize,
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
    let mut note = String::new();
    for _ in 0..runs {
        let source = IndexDirSource::new(root);
        let start = Instant::now();
        let outcome = resolve(&source, request, options);
        times.push(start.elapsed());
        files = source.files_read();
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
        note,
    }
}

fn main() {
    let folder = tempfile::tempdir().expect("a temporary index");
    let root = folder.path();
    let started = Instant::now();
    let (index, extra) = synthetic::generate();
    for package in index.iter().chain(&extra) {
        write_package(root, package);
    }
    std::fs::write(root.join("config.json"), "{\"format-version\": 1}\n")
        .expect("write config.json");
    println!(
        "index: {} packages x 20 versions (+{} for the hard cases), written in {:.1} s",
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
    let start = (0..PACKAGES / 2)
        .filter(|at| (50..1000).contains(&reach(&index, *at)))
        .find(|at| (48..=55).contains(&selects(*at)))
        .expect("a package that selects about 50 others");
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
        "\n{:<26} {:>10} {:>10} {:>9} {:>11}",
        "case", "median", "p95", "selected", "files read"
    );
    for row in &rows {
        println!(
            "{:<26} {:>7.2} ms {:>7.2} ms {:>9} {:>11}",
            row.case,
            percentile(&row.times, 0.5).as_secs_f64() * 1e3,
            percentile(&row.times, 0.95).as_secs_f64() * 1e3,
            row.selected,
            row.files,
        );
    }
    println!();
    for row in &rows {
        println!("{}: {}", row.case, row.note);
    }
}
