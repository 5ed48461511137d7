//! Component directory benchmark: `cargo bench --bench site`.
//!
//! Makes the synthetic index of the resolver benchmark (`common/synthetic.rs`: 10,000
//! packages x 20 versions, plus 160 for the hard cases) into a real, signed index: 100
//! owners, each with a real ed25519 key; every version's entry signed with a trusted comment
//! that names it; a signed owner log per package (with a yank every tenth package); a
//! component record per component; and, for each package's newest version, a real tarball
//! (ocp.json, PKG-INFO, README.md, CHANGELOG.md and a spec of the size `ocp new` writes)
//! stored in the index. Then it times `ocp::site::build` into an empty folder (every page
//! written) and again into the same folder (nothing changed: the incremental case).
//! Signatures of all 200,000 versions are checked in both runs.
//!
//! Timing is hand-rolled (`Instant`), as in the other benchmarks. Figures: `BENCHMARKS.md`.

#![allow(clippy::print_stdout)]

#[path = "common/synthetic.rs"]
mod synthetic;

use std::path::Path;
use std::time::Instant;

use ocp::build::{ArchiveEntry, Manifest, ManifestComponent, ManifestDependency, write_tar_gz};
use ocp::fetch::{Cache, FetchOptions};
use ocp::index::format::{
    ComponentRecord, IndexConfig, IndexEntry, OwnerAction, OwnerEvent, Storage, format_events,
    shard,
};
use ocp::index::{Index, owners, template};
use ocp::model::Checksum;
use ocp::progress::NoReporter;
use ocp::signing::SecretKey;
use ocp::site::{SiteInfo, SiteOptions, TarballAccess};
use rayon::prelude::*;

const OWNERS: usize = 100;

/// CPU seconds this process has used (user + system), from `/proc/self/stat`: on a machine
/// shared with other work, CPU time divided by the cores used tells more than the wall clock.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |at: usize| {
        fields
            .get(at)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line, 11 and 12 after the name;
    // the kernel counts them in USER_HZ, 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn spec(component: &str, title: &str, driver: &str) -> String {
    format!(
        r#"name: {component}
version: 4.4.0
title: {title}
description: Extracts records from the {title} HTTP API into a DataFrame, following pagination.
modes: [extract, discover]
capabilities:
  discover: true
  adHocAnalytics: false
  inMemoryMove: true
  streaming: false
  bulkOperations: false
  transactions: false
  partitioning: false
  customTransforms: false
configSchema:
  type: object
  properties:
    base_url: {{type: string, description: Base URL of the API}}
    api_key: {{type: string, description: API key, sent as a bearer token}}
    resource: {{type: string, description: The collection to read}}
    page_size: {{type: integer, minimum: 1, maximum: 1000, default: 100, description: Records per page}}
    timeout: {{type: number, minimum: 1, default: 30, description: Seconds to wait for each response}}
  required: [base_url, api_key, resource]
  additionalProperties: false
secrets: [/api_key]
x-connection-fields: [base_url, api_key]
examples:
  - title: Read all customers
    config: {{base_url: "https://api.example.com/v1", resource: customers}}
    notes: base_url and api_key usually come from a connection.
x-runtime:
  driver: {driver}
"#
    )
}

fn readme(name: &str, component: &str) -> String {
    format!(
        "# {name}\n\nA synthetic component for the site benchmark: `{component}`.\n\n## Install\n\n```bash\nocp install {component}\n```\n\n## Use\n\n| setting | meaning |\n|---|---|\n| resource | what to read |\n| page_size | records per page |\n\n- reads pages until the API says there are no more;\n- retries on 429 and 5xx with a growing pause;\n- never logs the API key.\n\n{}",
        "Some more words about the component, to make the README the size of a real one. "
            .repeat(20)
    )
}

/// The newest version's tarball, as `ocp build` lays one out.
fn tarball(entry: &IndexEntry) -> Vec<u8> {
    let family = entry.name.trim_end_matches("-osiris");
    let component = &entry.components[0];
    let import = format!("{}_osiris", family.replace('-', "_"));
    let spec_path = format!("src/{import}/spec.yaml");
    let mut manifest = Manifest {
        format_version: 1,
        name: entry.name.clone(),
        version: entry.version.clone(),
        components: vec![ManifestComponent {
            name: component.clone(),
            spec: spec_path.clone(),
            entry_point: format!("{import}:load_spec"),
            driver: Some(format!("{import}.driver.Driver")),
        }],
        dependencies: entry
            .dependencies
            .iter()
            .map(|d| ManifestDependency {
                name: d.name.clone(),
                requirement: d.requirement.clone(),
            })
            .collect(),
        python_dependencies: entry.python_dependencies.clone(),
        osiris: entry.osiris.clone(),
        python: entry.python.clone(),
        files: Default::default(),
    };
    let file = |path: &str, bytes: Vec<u8>| ArchiveEntry {
        path: path.to_owned(),
        bytes,
        executable: false,
    };
    let mut entries = vec![
        file("CHANGELOG.md", format!("# Changelog\n\n## {}\n\n- Faster paging.\n- Fixed retries.\n", entry.version).into_bytes()),
        file("PKG-INFO", format!("Metadata-Version: 2.2\nName: {}\nVersion: {}\nSummary: Synthetic {family} extractor\nLicense: MIT\nAuthor: Bench\n", entry.name, entry.version).into_bytes()),
        file("README.md", readme(&entry.name, component).into_bytes()),
        file(&spec_path, spec(
                component,
                &format!("Synthetic {family}"),
                &format!("{import}.driver.Driver"),
            ).into_bytes()),
    ];
    // Every file but `ocp.json` itself is listed with its sha256, as `ocp build` lists them.
    manifest.files = entries
        .iter()
        .map(|entry| {
            (
                entry.path.clone(),
                Checksum::of_bytes(&entry.bytes).to_hex(),
            )
        })
        .collect();
    entries.push(file("ocp.json", manifest.to_json_bytes()));
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let base = format!("{}-{}", entry.name.replace('-', "_"), entry.version);
    write_tar_gz(&base, &entries, 946_684_800).expect("a tarball")
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create a folder");
    std::fs::write(path, bytes).expect("write a file");
}

/// One package made real: signed entries, an owner log, component records, a tarball.
fn publish(root: &Path, config: &IndexConfig, key: &SecretKey, at: usize, versions: &[IndexEntry]) {
    let mut versions = versions.to_vec();
    let name = versions[0].name.clone();
    let newest = versions.len() - 1;
    let bytes = tarball(&versions[newest]);
    versions[newest].sha256 = Checksum::of_bytes(&bytes).to_hex();
    write(
        &root.join(config.download_location(&name, &versions[newest].version)),
        &bytes,
    );
    let yanked = at.is_multiple_of(10);
    for entry in &mut versions {
        *entry = synthetic::sign(key, entry.clone());
    }
    let mut events = vec![OwnerEvent {
        action: OwnerAction::Claim,
        package: name.clone(),
        key_id: Some(key.key_id().to_string()),
        public_key: Some(key.public_key().to_base64()),
        version: None,
        by: String::new(),
        time: "2026-01-01T00:00:00Z".to_owned(),
        signature: String::new(),
    }];
    if yanked {
        versions[0].yanked = true;
        events.push(OwnerEvent {
            action: OwnerAction::Yank,
            package: name.clone(),
            key_id: None,
            public_key: None,
            version: Some(versions[0].version.clone()),
            by: String::new(),
            time: "2026-01-02T00:00:00Z".to_owned(),
            signature: String::new(),
        });
    }
    let events: Vec<OwnerEvent> = events
        .into_iter()
        .map(|event| owners::sign_event(event, key).expect("sign an event"))
        .collect();
    write(
        &root.join(Index::owner_file(&name.parse().expect("a package name"))),
        format_events(&events).as_bytes(),
    );
    synthetic::write_package(root, &versions);
    for component in &versions[newest].components {
        let record = ComponentRecord {
            component: component.clone(),
            package: name.clone(),
        };
        write(
            &root.join("components").join(shard(component)),
            serde_json::to_string(&record).expect("json").as_bytes(),
        );
    }
}

fn main() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let root = folder.path().join("index");
    let started = Instant::now();
    template::create(&root, Storage::Index).expect("an index");
    let config = IndexConfig::new(Storage::Index);
    let keys: Vec<SecretKey> = (0..OWNERS)
        .map(|_| SecretKey::generate().expect("a key"))
        .collect();
    let (index, extra) = synthetic::generate();
    let packages: Vec<Vec<IndexEntry>> = index.into_iter().chain(extra).collect();
    packages.par_iter().enumerate().for_each(|(at, versions)| {
        publish(&root, &config, &keys[at % OWNERS], at, versions);
    });
    let versions: usize = packages.iter().map(Vec::len).sum();
    println!(
        "index: {} packages, {versions} signed versions, {} tarballs, made in {:.1} s",
        packages.len(),
        packages.len(),
        started.elapsed().as_secs_f64()
    );

    let index = Index::open(&root).expect("open the index");
    let out = folder.path().join("site");
    let options = SiteOptions {
        info: SiteInfo {
            title: "Osiris components".to_owned(),
            index_url: None,
            generated: "2026-06-01".to_owned(),
        },
        osiris_releases: ocp::site::catalog::parse_releases(
            &ocp::site::catalog::OSIRIS_RELEASES
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
        )
        .expect("releases"),
        today: time::OffsetDateTime::from_unix_timestamp(1_780_000_000).expect("a date"),
        tarballs: TarballAccess {
            cache: Cache::new(folder.path().join("cache")),
            options: FetchOptions::new(&root),
        },
    };
    // Where the time goes: the signatures alone, then reading the index with the tarballs.
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let checked: usize = index
        .package_names()
        .expect("names")
        .par_iter()
        .map(|name| {
            let events = index.events(name).expect("events");
            let owners = owners::replay(name, &events).expect("owners");
            index
                .entries(name)
                .expect("entries")
                .iter()
                .filter(|entry| ocp::index::trust::check_entry(entry, &owners).is_ok())
                .count()
        })
        .sum();
    println!(
        "owner logs replayed and {checked} signatures verified: {:.2} s ({:.2} s of CPU)",
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let catalog = ocp::site::catalog::collect(
        &index,
        &options.osiris_releases,
        options.today,
        &options.tarballs,
        &NoReporter,
    )
    .expect("a catalog");
    println!(
        "catalog of {} packages (signatures and tarballs included): {:.2} s ({:.2} s of CPU)",
        catalog.packages.len(),
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
    drop(catalog);
    println!(
        "\n{:<34} {:>9} {:>9} {:>8} {:>8} {:>10}",
        "run", "time", "CPU", "pages", "written", "unchanged"
    );
    for run in ["into an empty folder", "again, nothing changed"] {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let report = ocp::site::build(&index, &out, &options, &NoReporter).expect("a site");
        let elapsed = start.elapsed();
        println!(
            "{run:<34} {:>7.2} s {:>7.2} s {:>8} {:>8} {:>10}",
            elapsed.as_secs_f64(),
            cpu_seconds() - cpu,
            report.pages,
            report.files.written,
            report.files.unchanged
        );
        assert!(
            report.problems.is_empty(),
            "{:?}",
            &report.problems[..3.min(report.problems.len())]
        );
        assert_eq!(report.components, packages.len());
    }
    println!("\nthreads: {}", rayon::current_num_threads());
}
