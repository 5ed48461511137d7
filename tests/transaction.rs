//! Installs as transactions, against the real binary, real Python environments and a real
//! git index: installs killed with SIGKILL at random moments, an install killed while uv
//! still builds a Python requirement, a failing Python requirement, and several ocp
//! processes (with different `OCP_HOME`s) on one environment at once.
//!
//! The crash test kills half its installs at a random moment and half at a random moment
//! after their transaction is prepared (while files move), and checks after each that the
//! next command (`ocp list`) left one consistent state and said how it recovered.
//! `OCP_CRASH_ITERATIONS` sets how many installs it kills (default 30),
//! `OCP_CRASH_FILES` how many modules each of its packages has (default 300), and
//! `OCP_CRASH_SEED` repeats a run's random delays.

mod common;
#[path = "common/python.rs"]
mod python;
#[path = "common/world.rs"]
mod world;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_same_tree, run, run_ok, stderr, stdout, tree_state};
use python::{osiris_env, path_with_uv, run_python, site_packages, site_packages_of, venv};
use world::{World, keep};

const DEPENDENCIES: usize = 4;

/// Checks an environment as Python sees it, and prints `{name: version}` of what ocp
/// installed: one dist-info per distribution, every RECORD file there with its hash and
/// size, no file in an ocp package's folders that its RECORD does not list, one provider
/// per component.
const INVARIANTS: &str = r#"
import base64, hashlib, json, os, sys
import importlib.metadata as md
site = sys.argv[1]
seen = {}
for entry in sorted(os.listdir(site)):
    if entry.endswith(".dist-info"):
        dist = md.Distribution.at(os.path.join(site, entry))
        name = dist.metadata["Name"].lower().replace("_", "-")
        assert name not in seen, f"two dist-infos for {name}: {seen[name]} and {entry}"
        seen[name] = entry
versions, recorded = {}, set()
for dist in md.distributions(path=[site]):
    if (dist.read_text("INSTALLER") or "").strip() != "ocp":
        continue
    versions[dist.metadata["Name"]] = dist.version
    assert md.version(dist.metadata["Name"]) == dist.version
    for file in dist.files:
        path = os.path.normpath(os.path.join(site, str(file)))
        recorded.add(path)
        if file.hash is None:
            continue
        data = open(path, "rb").read()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert file.hash.mode == "sha256" and file.hash.value == digest, f"{path} differs from RECORD"
        assert file.size == len(data), f"{path} has another size than RECORD says"
for top in os.listdir(site):
    if top.endswith("_osiris") and os.path.isdir(os.path.join(site, top)):
        for folder, dirs, files in os.walk(os.path.join(site, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                path = os.path.normpath(os.path.join(folder, name))
                assert path in recorded, f"{path} belongs to no installed version"
names = [ep.name for ep in md.entry_points(group="osiris.components")]
assert len(names) == len(set(names)), f"a component is provided twice: {names}"
print(json.dumps(versions, sort_keys=True))
"#;

/// Publishes `app.extractor` and its dependencies at `version` (`1.0.0` or `2.0.0`), each
/// with `files` generated modules whose names differ between versions.
fn publish_set(world: &World, version: &str, files: usize) {
    let major = &version[..1];
    let next = major.parse::<u32>().expect("major") + 1;
    let add_modules = |root: &Path, family: &str| {
        let folder = root.join(format!("src/{family}_osiris/gen"));
        fs::create_dir_all(&folder).expect("mkdir");
        for i in 0..files {
            fs::write(
                folder.join(format!("v{major}_module_{i}.py")),
                format!("VALUE = \"{version}-{i}\"\n"),
            )
            .expect("write");
        }
    };
    for i in 0..DEPENDENCIES {
        let family = format!("dep{i}");
        let root = world.scaffold(&format!("{family}.processor"), version, keep);
        add_modules(&root, &family);
        world.publish_dir(&root);
    }
    let requirements: String = (0..DEPENDENCIES)
        .map(|i| format!("    \"dep{i}-osiris>={major}.0,<{next}.0\",\n"))
        .collect();
    let root = world.scaffold("app.extractor", version, |text| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            &format!("    \"pyyaml>=6.0\",\n{requirements}"),
            1,
        )
    });
    add_modules(&root, "app");
    world.publish_dir(&root);
}

/// `name -> version` of the packages in `ocp.lock`.
fn locked_versions(lock: &Path) -> BTreeMap<String, String> {
    let Ok(text) = fs::read_to_string(lock) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("name = \"") {
            name = Some(value.trim_end_matches('"').to_owned());
        } else if let (Some(value), Some(current)) = (line.strip_prefix("version = \""), &name) {
            out.insert(current.clone(), value.trim_end_matches('"').to_owned());
            name = None;
        }
    }
    out
}

/// `ocp list --format json` of `env`, which must succeed: `name -> version`.
fn list(world: &World, env: &Path) -> BTreeMap<String, String> {
    list_reporting(world, env).0
}

/// `ocp list --format json` of `env`: `name -> version`, and what it said on stderr.
fn list_reporting(world: &World, env: &Path) -> (BTreeMap<String, String>, String) {
    let output = run_ok(
        world
            .sandbox
            .ocp()
            .args(["list", "--format", "json", "--env"])
            .arg(env),
    );
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let packages = list["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_owned(),
                p["version"].as_str().expect("version").to_owned(),
            )
        })
        .collect();
    (packages, stderr(&output))
}

/// The entries of `dir` whose names contain `.ocp-txn-`: transaction folders, staged lock files.
fn transaction_leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".ocp-txn-"))
        .collect()
}

/// True once a transaction in `site` has written its journal's state.
fn prepared(site: &Path) -> bool {
    fs::read_dir(site).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(".ocp-txn-")
                && e.path().join("state").exists()
        })
    })
}

/// A small xorshift generator: the delays need no more, and a seed repeats a run.
struct Random(u64);

impl Random {
    fn below(&mut self, limit: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % limit.max(1)
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[test]
fn installs_killed_at_random_moments_leave_one_consistent_state() {
    let iterations = setting("OCP_CRASH_ITERATIONS", 30);
    let files = setting("OCP_CRASH_FILES", 300) as usize;
    let seed = setting(
        "OCP_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    ) | 1;
    eprintln!("crash test: {iterations} kills, {files} modules a package, OCP_CRASH_SEED={seed}");
    let started = Instant::now();
    let world = World::new();
    publish_set(&world, "1.0.0", files);
    publish_set(&world, "2.0.0", files);
    let env = world.sandbox.dir.path().join("venv");
    let python = osiris_env(&env, true);
    let site = site_packages_of(&python);
    let lock = world.sandbox.work().join("ocp.lock");
    let install = |version: &str| {
        world
            .sandbox
            .ocp()
            .args(["install", &format!("app-osiris=={version}"), "--env"])
            .arg(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ocp")
    };
    // Fill the store and the cache, then learn how long a whole install takes from them.
    let mut longest = Duration::ZERO;
    for (round, version) in ["2.0.0", "1.0.0", "2.0.0", "1.0.0"].iter().enumerate() {
        let start = Instant::now();
        let status = install(version).wait().expect("wait");
        assert!(status.success(), "the install of {version} failed");
        if round >= 2 {
            longest = longest.max(start.elapsed());
        }
    }
    let mut random = Random(seed);
    let (mut reached, mut recovered) = (0, 0);
    for iteration in 0..iterations {
        let target = if iteration % 2 == 0 { "2.0.0" } else { "1.0.0" };
        let mut child = install(target);
        // Half the kills come at any moment of the install; the other half once its
        // transaction is prepared, while files move.
        let targeted = iteration % 4 >= 2;
        let started_at = Instant::now();
        if targeted {
            while !prepared(&site)
                && child.try_wait().expect("poll").is_none()
                && started_at.elapsed() < longest * 2
            {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let delay = if targeted {
            random.below(200)
        } else {
            random.below(longest.as_millis() as u64 * 11 / 10)
        };
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().expect("wait");

        let context = format!(
            "kill {iteration} {delay} ms after {} (OCP_CRASH_SEED={seed})",
            if targeted {
                "the transaction was prepared"
            } else {
                "the start"
            }
        );
        let (listed, said) = list_reporting(&world, &env);
        assert!(transaction_leftovers(&site).is_empty(), "{context}");
        assert!(
            transaction_leftovers(&world.sandbox.work()).is_empty(),
            "{context}"
        );
        let versions: BTreeMap<String, String> = serde_json::from_str(&run_python(
            &python,
            INVARIANTS,
            &[site.to_str().expect("utf-8")],
        ))
        .expect("the invariants print JSON");
        assert_eq!(
            listed, versions,
            "{context}: ocp list disagrees with Python"
        );
        assert_eq!(versions.len(), DEPENDENCIES + 1, "{context}: {versions:?}");
        let distinct: Vec<&String> = versions.values().collect();
        assert!(
            distinct.windows(2).all(|pair| pair[0] == pair[1]),
            "{context}: mixed versions {versions:?}"
        );
        assert_eq!(
            locked_versions(&lock),
            versions,
            "{context}: the lock file and the environment disagree"
        );
        let check =
            run(Command::new(&python).args(["-m", "pip", "check", "--disable-pip-version-check"]));
        assert!(
            check.status.success(),
            "{context}: pip check\n{}",
            stdout(&check)
        );
        if distinct[0] == target {
            reached += 1;
        }
        // When `ocp list` had to recover, it says which way, and that is the way it went.
        if said.contains("Recovered") {
            recovered += 1;
            let expected = if said.contains("rolled back an interrupted change") {
                distinct[0] != target
            } else {
                said.contains("completed an interrupted change") && distinct[0] == target
            };
            assert!(expected, "{context}: {said}\n{versions:?}");
            assert!(said.contains("app-osiris"), "{context}: {said}");
        }
    }
    eprintln!(
        "crash test: {reached} of {iterations} killed installs had committed, {} were rolled back, {recovered} recovered by `ocp list`; {:.1} s",
        iterations - reached,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_failing_python_requirement_of_the_last_package_leaves_everything_as_it_was() {
    let world = World::new();
    for version in ["1.0.0", "2.0.0"] {
        for i in 0..2 {
            world.publish(&format!("dep{i}.processor"), version, keep);
        }
    }
    let with = |requirements: &'static str| {
        move |text: &str| {
            text.replacen(
                "    \"pyyaml>=6.0\",\n",
                &format!("    \"pyyaml>=6.0\",\n{requirements}"),
                1,
            )
        }
    };
    world.publish(
        "app.extractor",
        "1.0.0",
        with("    \"dep0-osiris>=1.0,<2.0\",\n    \"dep1-osiris>=1.0,<2.0\",\n"),
    );
    // The app is activated last, after its dependencies; its own requirement cannot be met.
    world.publish(
        "app.extractor",
        "2.0.0",
        with("    \"dep0-osiris>=2.0\",\n    \"dep1-osiris>=2.0\",\n    \"ocp-test-no-such-distribution==1.0\",\n"),
    );
    let env = world.sandbox.dir.path().join("venv");
    osiris_env(&env, false);
    let output = world.install(&env, &["app-osiris==1.0.0"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let environment = tree_state(&env);
    let project = tree_state(&world.sandbox.work());
    let output = world.install(&env, &["app-osiris==2.0.0"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("installing the Python requirements failed, so the install was rolled back"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("ocp-test-no-such-distribution"),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the environment", &environment, &tree_state(&env));
    assert_same_tree(
        "the project (and its ocp.lock)",
        &project,
        &tree_state(&world.sandbox.work()),
    );
}

#[test]
fn four_installs_from_four_homes_and_a_reader_take_turns() {
    let world = World::new();
    let families = ["alpha", "beta", "gamma", "delta"];
    for family in families {
        world.publish(&format!("{family}.extractor"), "1.0.0", keep);
    }
    let index = world.sandbox.home().join("index/default.git");
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    let site = site_packages(&env);
    let installs: Vec<_> = families
        .iter()
        .map(|family| {
            let home = world.sandbox.dir.path().join(format!("home-{family}"));
            fs::create_dir_all(&home).expect("mkdir");
            world
                .sandbox
                .ocp()
                .env("OCP_HOME", &home)
                .args(["install", &format!("{family}.extractor"), "--index"])
                .arg(&index)
                .args(["--no-python-deps", "--osiris-version", "0.5.7", "--env"])
                .arg(&env)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn ocp")
        })
        .collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    let lists = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut seen = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                seen.push(list(&world, &env).len());
            }
            seen
        });
        for child in installs {
            let output = child.wait_with_output().expect("wait");
            assert!(output.status.success(), "{}", stderr(&output));
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().expect("the reader")
    });
    // Each reader saw a whole number of installs, never fewer than before.
    assert!(!lists.is_empty());
    assert!(lists.windows(2).all(|pair| pair[0] <= pair[1]), "{lists:?}");
    assert_eq!(list(&world, &env).len(), 4);
    // They shared one project: each kept what the others had locked.
    let locked = locked_versions(&world.sandbox.work().join("ocp.lock"));
    assert_eq!(locked.len(), 4, "{locked:?}");
    assert!(transaction_leftovers(&site).is_empty());
}

#[test]
fn a_second_ocp_waits_for_the_environment_lock_and_says_so() {
    let world = World::new();
    let env = world.sandbox.dir.path().join("venv");
    venv(&env, false);
    // Another process holds the environment: the lock is on the environment's folder.
    let holder = fs::File::open(&env).expect("open the environment");
    holder.lock().expect("lock");
    let mut child = world
        .sandbox
        .ocp()
        .args(["list", "--env"])
        .arg(&env)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ocp");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = lines.next().expect("a line").expect("text");
    assert!(
        first.contains("Waiting for another ocp to finish with `"),
        "{first}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().expect("poll").is_none(), "it waits");
    holder.unlock().expect("unlock");
    assert!(child.wait().expect("wait").success());
}

#[test]
fn a_requirement_that_would_change_an_installed_distribution_is_refused() {
    let world = World::new();
    world.publish("old.extractor", "1.0.0", |text| {
        text.replacen("    \"pyyaml>=6.0\",\n", "    \"pyyaml<6\",\n", 1)
    });
    let env = world.sandbox.dir.path().join("venv");
    let python = osiris_env(&env, false);
    let pyyaml = run_python(
        &python,
        "import importlib.metadata as m; print(m.version('pyyaml'))",
        &[],
    );
    let before = tree_state(&env);
    let output = world.install(&env, &["old.extractor"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("ocp never changes a distribution that is already installed"),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the environment", &before, &tree_state(&env));
    assert_eq!(
        run_python(
            &python,
            "import importlib.metadata as m; print(m.version('pyyaml'))",
            &[]
        ),
        pyyaml
    );
}

/// A local Python project whose build backend (in-tree, no build requirements) writes
/// `started` into `markers`, sleeps `seconds`, then builds its wheel and writes `finished`.
fn slow_build_project(dir: &Path, markers: &Path, seconds: u32) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n\n\
         [project]\nname = \"ocp-test-slow-build\"\nversion = \"1.0\"\n",
    )
    .expect("write pyproject.toml");
    let backend = r#"
import base64, hashlib, os, time, zipfile

MARKERS = @MARKERS@
NAME, VERSION = "ocp_test_slow_build", "1.0"
DIST_INFO = f"{NAME}-{VERSION}.dist-info"
FILES = {
    f"{NAME}.py": "VALUE = 1\n",
    f"{DIST_INFO}/METADATA": "Metadata-Version: 2.1\nName: ocp-test-slow-build\nVersion: 1.0\n",
    f"{DIST_INFO}/WHEEL": "Wheel-Version: 1.0\nGenerator: ocp-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST_INFO))
    for path in ("METADATA", "WHEEL"):
        with open(os.path.join(metadata_directory, DIST_INFO, path), "w") as out:
            out.write(FILES[f"{DIST_INFO}/{path}"])
    return DIST_INFO

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    open(os.path.join(MARKERS, "started"), "w").close()
    time.sleep(@SECONDS@)
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, text in FILES.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
            wheel.writestr(path, data)
        record.append(f"{DIST_INFO}/RECORD,,")
        wheel.writestr(f"{DIST_INFO}/RECORD", "\n".join(record) + "\n")
    open(os.path.join(MARKERS, "finished"), "w").close()
    return name
"#;
    let markers = format!("{:?}", markers.to_str().expect("utf-8"));
    fs::write(
        dir.join("backend.py"),
        backend
            .replace("@MARKERS@", &markers)
            .replace("@SECONDS@", &seconds.to_string()),
    )
    .expect("write backend.py");
}

/// ocp hands the environment lock on to uv, so an ocp killed while uv still builds a
/// requirement leaves the lock held until uv is done: the next ocp waits instead of undoing
/// the transaction under a running installer.
#[test]
fn an_ocp_killed_while_uv_builds_a_requirement_keeps_the_next_one_waiting_until_uv_exits() {
    let world = World::new();
    let markers = world.sandbox.dir.path().join("markers");
    fs::create_dir_all(&markers).expect("mkdir");
    let project = world.sandbox.dir.path().join("slow-build");
    slow_build_project(&project, &markers, 4);
    let requirement = format!(
        "    \"ocp-test-slow-build @ file://{}\",\n",
        project.to_str().expect("utf-8")
    );
    world.publish("slow.extractor", "1.0.0", |text| {
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            &format!("    \"pyyaml>=6.0\",\n{requirement}"),
            1,
        )
    });
    let env = world.sandbox.dir.path().join("venv");
    let python = osiris_env(&env, false);
    let site = site_packages_of(&python);
    let lock = world.sandbox.work().join("ocp.lock");
    let before = run_python(&python, INVARIANTS, &[site.to_str().expect("utf-8")]);

    let mut install = world
        .sandbox
        .ocp()
        .env("PATH", path_with_uv())
        .args(["install", "slow.extractor", "--env"])
        .arg(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ocp");
    let started = Instant::now();
    while !markers.join("started").exists() {
        if let Some(status) = install.try_wait().expect("poll") {
            let output = install.wait_with_output().expect("output");
            panic!(
                "ocp install ended ({status}) before the build started:\n{}",
                stderr(&output)
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the build never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    install.kill().expect("SIGKILL ocp");
    install.wait().expect("wait");
    assert!(
        !markers.join("finished").exists(),
        "the build ended before ocp was killed; make it sleep longer"
    );

    let mut list = world
        .sandbox
        .ocp()
        .args(["list", "--format", "json", "--env"])
        .arg(&env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ocp list");
    let mut said = Vec::new();
    for line in BufReader::new(list.stderr.take().expect("stderr")).lines() {
        said.push(line.expect("text"));
    }
    let output = list.wait_with_output().expect("wait");
    let said = said.join("\n");
    assert!(output.status.success(), "{said}");
    assert!(
        said.lines()
            .next()
            .is_some_and(|first| first.contains("Waiting for another ocp to finish with `")),
        "ocp list did not wait for the orphaned uv:\n{said}"
    );
    // It went on only once uv (and the build backend it started) had exited.
    assert!(
        markers.join("finished").exists(),
        "ocp list went on while the build still ran:\n{said}"
    );
    assert!(
        said.contains("rolled back an interrupted change") && said.contains("slow-osiris"),
        "{said}"
    );
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(listed["packages"], serde_json::json!([]), "{listed}");

    // The environment is as it was: what uv installed after ocp died was undone with the
    // rest, and it holds to the crash test's invariants.
    assert_eq!(
        run_python(&python, INVARIANTS, &[site.to_str().expect("utf-8")]),
        before
    );
    assert!(
        !fs::read_dir(&site)
            .expect("read")
            .flatten()
            .any(|entry| entry
                .file_name()
                .to_string_lossy()
                .starts_with("ocp_test_slow_build")),
        "the requirement uv installed was not rolled back"
    );
    assert!(transaction_leftovers(&site).is_empty());
    assert!(transaction_leftovers(&world.sandbox.work()).is_empty());
    assert!(!lock.exists(), "the lock file of a rolled-back install");
}
