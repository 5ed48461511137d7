//! `ocp install` from a warm cache into a fresh environment, against `uv pip install` and
//! `pip install` of the same modules packed as wheels, offline, side by side in one run.
//!
//! Run with `cargo bench --bench install`. Needs `python3` >= 3.11 and uv (the `uv` module of
//! `python3`, else `uv` on PATH, as `.ci/run` installs it). The package has 5 OCP dependencies; Python requirements are left out on all three
//! sides (`--no-python-deps`, `--no-deps`), so each installs the same six packages. Creating
//! the fresh environment is not timed, and is flushed to disk first; the tools take turns.

#[path = "common/cli.rs"]
mod cli;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cli::{Workspace, fresh_env, ocp, package, run, stats, uv, uv_binary, workspace};

const RUNS: usize = 9;
const DEPENDENCIES: usize = 5;

/// One tool's install: a name, whether its environment needs pip (`--seed`), and the command.
struct Tool<'a> {
    label: &'static str,
    seed: bool,
    install: Box<dyn Fn(&Path) + 'a>,
}

/// Times every tool `RUNS` times, interleaved (ocp, uv, pip, ocp, ...), each into a fresh
/// environment whose creation is flushed to disk before the clock starts: no tool pays for
/// writing back another's files, and a slow spell of the machine falls on all of them.
/// Each tool runs once untimed first, so every cache is warm.
fn time_interleaved(base: &Path, tools: &[Tool]) -> Vec<(Duration, Duration)> {
    let mut samples = vec![Vec::new(); tools.len()];
    for run_number in 0..=RUNS {
        for (tool, samples) in tools.iter().zip(&mut samples) {
            let env = base.join(format!("{}-{run_number}", tool.label));
            fresh_env(&env, tool.seed);
            run(&mut Command::new("sync"));
            let start = Instant::now();
            (tool.install)(&env);
            if run_number > 0 {
                samples.push(start.elapsed());
            }
        }
    }
    samples.into_iter().map(stats).collect()
}

fn main() {
    let Workspace { temp, home, work } = workspace();

    let mut roots = Vec::new();
    let mut names = Vec::new();
    for i in 0..DEPENDENCIES {
        roots.push(package(&home, &work, &format!("dep{i}.processor"), &[]));
        names.push(format!("dep{i}-osiris"));
    }
    roots.push(package(&home, &work, "app.extractor", &names));
    names.push("app-osiris".to_owned());
    for root in &roots {
        run(ocp(&home).args(["publish", "--path"]).arg(root));
    }

    // Wheels of the same packages, for uv and pip.
    let wheels = temp.path().join("wheels");
    for root in &roots {
        run(uv()
            .args(["build", "--quiet", "--wheel", "--out-dir"])
            .arg(&wheels)
            .arg(root));
    }

    // Warm ocp's cache and store once.
    let warm = temp.path().join("warm");
    fresh_env(&warm, false);
    run(ocp(&home)
        .args([
            "install",
            "app.extractor",
            "--no-python-deps",
            "--osiris-version",
            "0.5.7",
            "--env",
        ])
        .arg(&warm));

    let envs = temp.path().join("envs");
    let uv_bin = uv_binary();
    let tools = [
        Tool {
            label: "ocp",
            seed: false,
            install: Box::new(|env: &Path| {
                run(ocp(&home)
                    .args([
                        "install",
                        "app.extractor",
                        "--offline",
                        "--no-python-deps",
                        "--osiris-version",
                        "0.5.7",
                        "--env",
                    ])
                    .arg(env));
            }),
        },
        Tool {
            label: "uv",
            seed: false,
            install: Box::new(|env: &Path| {
                run(Command::new(&uv_bin)
                    .args([
                        "pip",
                        "install",
                        "--quiet",
                        "--offline",
                        "--no-index",
                        "--no-deps",
                        "--find-links",
                    ])
                    .arg(&wheels)
                    .arg("--python")
                    .arg(env.join("bin/python"))
                    .args(&names)
                    .env_remove("VIRTUAL_ENV"));
            }),
        },
        Tool {
            label: "pip",
            seed: true,
            install: Box::new(|env: &Path| {
                run(Command::new(env.join("bin/python"))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-index",
                        "--no-deps",
                        "--find-links",
                    ])
                    .arg(&wheels)
                    .args(&names));
            }),
        },
    ];
    let times = time_interleaved(&envs, &tools);
    let (ocp_time, uv_time, pip_time) = (times[0], times[1], times[2]);

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "install of 1 package + {DEPENDENCIES} OCP dependencies into a fresh environment, offline, {RUNS} runs each"
    );
    println!(
        "{:<8} {:>10} {:>10} {:>12}",
        "tool", "median", "p95", "vs ocp"
    );
    for (tool, (median, p95)) in [("ocp", ocp_time), ("uv", uv_time), ("pip", pip_time)] {
        println!(
            "{tool:<8} {:>8.1}ms {:>8.1}ms {:>11.1}x",
            ms(median),
            ms(p95),
            ms(median) / ms(ocp_time.0)
        );
    }
}
