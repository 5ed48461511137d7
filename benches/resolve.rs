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

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ocp::index::format::{
    EntryDependency, IndexEntry, OwnerAction, OwnerEvent, format_entries, format_events, shard,
};
use ocp::index::owners::sign_event;
use ocp::resolve::{IndexDirSource, Request, Requirement, ResolveError, ResolveOptions, resolve};
use ocp::signing::{PackageClaim, SecretKey, SignatureFile};
use pep440_rs::Version;

const PACKAGES: usize = 10_000;
const SEED: u64 = 0x0c9_5eed;
/// Packages in the chain whose newest versions need a newer Osiris.
const HARD_CHAIN: usize = 150;
/// Pigeons in the runaway case (one more than seats).
const PIGEONS: usize = 10;

/// splitmix64: a small, well-known seeded generator, so the index is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

fn name(index: usize) -> String {
    format!("pkg{index:05}-osiris")
}

/// 20 versions: 1.0.0 .. 4.4.0.
fn versions() -> impl Iterator<Item = (u64, u64)> {
    (1..=4).flat_map(|major| (0..5).map(move |minor| (major, minor)))
}

fn entry(
    name: &str,
    version: String,
    dependencies: Vec<(String, String)>,
    osiris: &str,
) -> IndexEntry {
    IndexEntry {
        name: name.to_owned(),
        version,
        components: vec![format!("{}.extractor", name.trim_end_matches("-osiris"))],
        dependencies: dependencies
            .into_iter()
            .map(|(name, requirement)| EntryDependency { name, requirement })
            .collect(),
        osiris: osiris.to_owned(),
        python: ">=3.11".to_owned(),
        python_dependencies: vec!["requests>=2".to_owned()],
        sha256: "ab".repeat(32),
        signature: String::new(),
        key_id: String::new(),
        yanked: false,
        published: "2026-01-01T00:00:00Z".to_owned(),
    }
}

/// Signs an entry as `ocp publish` does: the trusted comment names the package, version and
/// sha256, and carries the digest of the signed fields.
fn sign(key: &SecretKey, mut entry: IndexEntry) -> IndexEntry {
    let claim = PackageClaim {
        name: entry.name.clone(),
        version: entry.version.clone(),
        sha256: entry.sha256.clone(),
        entry: Some(entry.signed_fields().digest().to_hex()),
        timestamp: Some(1_767_225_600),
    };
    let signature = SignatureFile::sign(
        key,
        entry.sha256.as_bytes(),
        &claim.to_trusted_comment(),
        "signature from ocp secret key",
    )
    .expect("sign an entry");
    entry.signature = signature.to_text();
    entry.key_id = key.key_id().to_string();
    entry
}

/// Writes a package file and its owner log (one claim by `key`).
fn write_package(root: &Path, key: &SecretKey, entries: &[IndexEntry]) {
    let name = &entries[0].name;
    let signed: Vec<IndexEntry> = entries.iter().map(|e| sign(key, e.clone())).collect();
    let claim = OwnerEvent {
        action: OwnerAction::Claim,
        package: name.clone(),
        key_id: Some(key.key_id().to_string()),
        public_key: Some(key.public_key().to_base64()),
        version: None,
        by: String::new(),
        time: "2026-01-01T00:00:00Z".to_owned(),
        signature: String::new(),
    };
    let claim = sign_event(claim, key).expect("sign a claim");
    for (folder, text) in [
        ("packages", format_entries(&signed)),
        ("owners", format_events(&[claim])),
    ] {
        let path = root.join(folder).join(shard(name));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create a shard folder");
        std::fs::write(path, text).expect("write an index file");
    }
}

/// The ordinary packages: each depends on 0-3 packages further down the list, with
/// ranges like `>=2.0,<4`, `~=3.1` or `>=1.0`, and fits Osiris 0.5.x.
fn ordinary(rng: &mut Rng, index: usize) -> Vec<IndexEntry> {
    let package = name(index);
    let mut targets: Vec<usize> = Vec::new();
    if index + 1 < PACKAGES {
        // 0-3 dependencies, 0.85 on average: libraries mostly need a few others, so a
        // request pulls in tens of packages, not the whole index.
        let count = match rng.below(20) {
            0..=8 => 0,
            9..=14 => 1,
            15..=18 => 2,
            _ => 3,
        };
        for _ in 0..count {
            let target = index + 1 + rng.below(400.min(PACKAGES - index - 1));
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
    }
    versions()
        .map(|(major, minor)| {
            let dependencies = targets
                .iter()
                // Older majors needed fewer packages.
                .filter(|target| !(**target + major as usize).is_multiple_of(4) || major == 4)
                .map(|target| {
                    let low = 1 + (*target as u64 + major) % 3;
                    let requirement = match (target + minor as usize) % 3 {
                        0 => format!(">={low}.0,<{}", low + 2),
                        1 => format!("~={low}.1"),
                        _ => format!(">={low}.0"),
                    };
                    (name(*target), requirement)
                })
                .collect();
            entry(
                &package,
                format!("{major}.{minor}.0"),
                dependencies,
                ">=0.5.0,<1.0.0",
            )
        })
        .collect()
}

/// A chain `hard000`..: versions 4.2+ need Osiris 0.6; 4.0 and 4.1 fit but need the next
/// package at >=4.2, which does not. Only 3.x fits, and pubgrub learns it by backtracking.
fn hard_chain() -> Vec<Vec<IndexEntry>> {
    (0..HARD_CHAIN)
        .map(|index| {
            let package = format!("hard{index:03}-osiris");
            versions()
                .map(|(major, minor)| {
                    let next: Vec<(String, String)> = (1..=2)
                        .map(|step| index + step)
                        .filter(|next| *next < HARD_CHAIN)
                        .map(|next| {
                            let requirement = if major == 4 {
                                ">=4.2".to_owned()
                            } else {
                                format!(">={major}.0")
                            };
                            (format!("hard{next:03}-osiris"), requirement)
                        })
                        .collect();
                    let osiris = if major == 4 && minor >= 2 {
                        ">=0.6.0"
                    } else {
                        ">=0.5.0,<1.0.0"
                    };
                    entry(&package, format!("{major}.{minor}.0"), next, osiris)
                })
                .collect()
        })
        .collect()
}

/// Pigeonhole: seat `i` version `h` needs every other seat at `!=h`; one seat too few.
fn pigeonhole() -> Vec<Vec<IndexEntry>> {
    (0..PIGEONS)
        .map(|pigeon| {
            (1..PIGEONS)
                .map(|hole| {
                    let others = (0..PIGEONS)
                        .filter(|other| *other != pigeon)
                        .map(|other| (format!("seat{other:02}-osiris"), format!("!={hole}.0.0")))
                        .collect();
                    entry(
                        &format!("seat{pigeon:02}-osiris"),
                        format!("{hole}.0.0"),
                        others,
                        "",
                    )
                })
                .collect()
        })
        .collect()
}

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
    let mut rng = Rng(SEED);
    let key = SecretKey::generate().expect("a signing key");
    let index: Vec<Vec<IndexEntry>> = (0..PACKAGES).map(|at| ordinary(&mut rng, at)).collect();
    let extra: Vec<Vec<IndexEntry>> = hard_chain().into_iter().chain(pigeonhole()).collect();
    for package in index.iter().chain(&extra) {
        write_package(root, &key, package);
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
