//! An index over plain HTTP against a git clone of the same index: `cargo bench --bench sparse`.
//!
//! Writes the seeded synthetic index (10,000 packages x 20 versions, every entry signed by its
//! owner, an owner log and a component record per package, as `ocp publish` leaves them),
//! commits it to a git repository and signs a checkpoint with `ocp index checkpoint`. Then
//! times the real `ocp` binary resolving a package whose resolution selects about 50
//! packages, from an empty `OCP_HOME`:
//!
//! - git: `--index file:///…/index.git`, a clone over git's own pack protocol, git's
//!   fastest transport (no HTTP in between);
//! - sparse: `--index sparse+http://127.0.0.1:…/`, the same repository's checkout served by
//!   the tests' static HTTP server (`ETag`s, kept-alive connections);
//!
//! and a warm repeat of each (the git one fetches, the sparse one revalidates the
//! checkpoint), plus the sparse repeat with `--offline` as the floor of a run that reads the
//! same files without asking the server. The command is `ocp install <pkg> --dry-run`: the
//! index work of an install (open, update, resolve, check every signature), without the
//! tarball downloads, which are the same for both and not part of the index (the synthetic
//! entries have no tarballs). The figures for the record are in `BENCHMARKS.md`.

#![allow(clippy::print_stdout)]

#[path = "common/cli.rs"]
mod cli;
#[path = "common/synthetic.rs"]
mod synthetic;

#[allow(dead_code, clippy::all)]
#[path = "../tests/common/http.rs"]
mod http;

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cli::{ocp, run as checked};
use ocp::index::format::{ComponentRecord, IndexConfig, Storage, shard};
use ocp::resolve::{IndexSource, Request, Requirement, ResolveOptions, resolve};
use ocp::signing::SecretKey;
use pep440_rs::Version;
use synthetic::{PACKAGES, name, typical_request, write_signed_package};

const COLD_RUNS: usize = 3;
const WARM_RUNS: usize = 20;

fn git(dir: &Path, args: &[&str]) -> String {
    checked(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=Bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args),
    )
}

/// Median and p95.
fn stats(samples: &[Duration]) -> (Duration, Duration) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |fraction: f64| sorted[((sorted.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.95))
}

fn main() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let root = folder.path().join("index");
    let started = Instant::now();
    let key = SecretKey::generate().expect("a signing key");
    let (index, _) = synthetic::generate();
    for package in &index {
        write_signed_package(&root, &key, package);
        let entry = &package[0];
        for component in &entry.components {
            let path = root.join("components").join(shard(component));
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a shard folder");
            let record = ComponentRecord {
                component: component.clone(),
                package: entry.name.clone(),
            };
            std::fs::write(path, serde_json::to_string(&record).expect("json")).expect("write");
        }
    }
    let config = serde_json::to_string_pretty(&IndexConfig::new(Storage::Index)).expect("json");
    std::fs::write(root.join("config.json"), config + "\n").expect("write config.json");
    git(
        folder.path(),
        &["init", "--quiet", "--initial-branch=main", "index"],
    );
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "--quiet", "-m", "The synthetic index"]);
    let work = folder.path().join("maintainer-home");
    let index_key = folder.path().join("index.key");
    checked(
        ocp(&work)
            .args(["key", "generate", "--no-password", "--output"])
            .arg(&index_key),
    );
    checked(
        ocp(&work)
            .args(["index", "checkpoint", "--key"])
            .arg(&index_key)
            .arg(&root),
    );
    let bare = folder.path().join("index.git");
    checked(
        Command::new("git")
            .args(["clone", "--quiet", "--bare"])
            .arg(&root)
            .arg(&bare),
    );
    let server = http::FileServer::start(None);
    server.keep_alive.store(true, Ordering::SeqCst);
    server.serve_index(&root);
    let manifest = std::fs::read_to_string(root.join("checkpoint/manifest")).expect("manifest");
    println!(
        "index: {PACKAGES} packages x 20 versions, {} files in the manifest ({:.1} MiB), a {:.1} MiB git pack; made, committed and checkpointed in {:.1} s",
        manifest.lines().count(),
        manifest.len() as f64 / 1_048_576.0,
        folder_size(&bare.join("objects")) as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );

    let request = |requirement: &str| Request {
        requirements: vec![Requirement::new(requirement, "").expect("a requirement")],
        osiris: Version::from_str("0.5.7").expect("a version"),
        python: Version::from_str("3.12.4").expect("a version"),
        preferences: Default::default(),
    };
    let selects = |at: usize| {
        resolve(
            &IndexSource::new(&root),
            &request(&name(at)),
            &ResolveOptions::default(),
        )
        .map_or(0, |resolution| resolution.packages.len())
    };
    let start = typical_request(&index, selects);
    let package = name(start);
    println!("request: {package} ({} packages selected)", selects(start));

    let git_url = format!("file://{}", bare.display());
    let sparse_url = format!("sparse+{}/", server.base);
    let install = |home: &Path, url: &str, extra: &[&str]| {
        let began = Instant::now();
        let output = ocp(home)
            .args([
                "install",
                &package,
                "--dry-run",
                "--osiris-version",
                "0.5.7",
            ])
            .args(["--python-version", "3.12.4", "--index", url])
            .args(extra)
            .output()
            .expect("run ocp");
        let elapsed = began.elapsed();
        assert!(
            output.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        elapsed
    };

    let homes = tempfile::tempdir().expect("homes");
    let mut rows: Vec<(String, Vec<Duration>, Duration, String)> = Vec::new();
    let cpu = children_cpu();
    let mut git_cold = Vec::new();
    for run in 0..COLD_RUNS {
        git_cold.push(install(
            &homes.path().join(format!("git-{run}")),
            &git_url,
            &[],
        ));
    }
    let git_cold_cpu = children_cpu() - cpu;
    let cpu = children_cpu();
    let mut sparse_cold = Vec::new();
    let mut fetched = (0, 0);
    for run in 0..COLD_RUNS {
        server.reset_counts();
        sparse_cold.push(install(
            &homes.path().join(format!("sparse-{run}")),
            &sparse_url,
            &[],
        ));
        let gets = server.gets();
        let files = server.files.lock().expect("lock");
        fetched = (
            gets.len(),
            gets.iter()
                .filter_map(|path| files.get(path))
                .map(Vec::len)
                .sum::<usize>(),
        );
    }
    let sparse_cold_cpu = children_cpu() - cpu;
    let warm = |url: &str, home: &str, extra: &[&str]| {
        let cpu = children_cpu();
        let samples = (0..WARM_RUNS)
            .map(|_| install(&homes.path().join(home), url, extra))
            .collect::<Vec<_>>();
        (samples, children_cpu() - cpu)
    };
    server.reset_counts();
    let (sparse_warm, sparse_warm_cpu) = warm(&sparse_url, "sparse-0", &[]);
    let warm_requests = server.gets().len() / WARM_RUNS;
    let warm_304 = server.not_modified.load(Ordering::SeqCst) / WARM_RUNS;
    let (sparse_offline, sparse_offline_cpu) = warm(&sparse_url, "sparse-0", &["--offline"]);
    let (git_warm, git_warm_cpu) = warm(&git_url, "git-0", &[]);

    rows.push((
        "git clone (file://), cold".to_owned(),
        git_cold.clone(),
        git_cold_cpu,
        format!(
            "clone of a {:.1} MiB pack",
            folder_size(&bare.join("objects")) as f64 / 1_048_576.0
        ),
    ));
    rows.push((
        "sparse over HTTP, cold".to_owned(),
        sparse_cold.clone(),
        sparse_cold_cpu,
        format!(
            "{} requests, {:.2} MiB",
            fetched.0,
            fetched.1 as f64 / 1_048_576.0
        ),
    ));
    rows.push((
        "git, warm (fetch)".to_owned(),
        git_warm,
        git_warm_cpu,
        "nothing new to fetch".to_owned(),
    ));
    rows.push((
        "sparse, warm".to_owned(),
        sparse_warm.clone(),
        sparse_warm_cpu,
        format!("{warm_requests} request per run ({warm_304} answered 304)"),
    ));
    rows.push((
        "sparse, warm, --offline".to_owned(),
        sparse_offline.clone(),
        sparse_offline_cpu,
        "no request: the floor".to_owned(),
    ));

    println!(
        "\n{:<28} {:>11} {:>11} {:>11} {:>5}  note",
        "case", "median", "p95", "cpu/run", "runs"
    );
    for (case, samples, cpu, note) in &rows {
        let (median, p95) = stats(samples);
        println!(
            "{case:<28} {:>8.1} ms {:>8.1} ms {:>8.1} ms {:>5}  {note}",
            median.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3 / samples.len() as f64,
            samples.len()
        );
    }
    let ratio = stats(&sparse_cold).0.as_secs_f64() / stats(&git_cold).0.as_secs_f64();
    println!(
        "\nsparse cold / git cold: {ratio:.3} (target: at most 0.25); sparse warm median {:.1} ms (target: under 50 ms)",
        stats(&sparse_warm).0.as_secs_f64() * 1e3
    );
}

/// The bytes of every file below `dir`.
fn folder_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(metadata) = entry.metadata() {
                total += metadata.len();
            }
        }
    }
    total
}

/// The CPU time (user and system) of the finished child processes and theirs: the steadier
/// figure on a loaded machine, where the wall clock also counts waiting for a core. Read from
/// `/proc/self/stat` (Linux) in clock ticks of 10 ms; zero elsewhere.
fn children_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The fields after the command name, which ends with the last `)`: cutime and cstime
    // are the 16th and 17th fields of the line, the 14th and 15th after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(13)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}
