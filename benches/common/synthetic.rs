//! The seeded synthetic index shared by the benchmarks (`resolve`, `site`, `sparse`): 10,000 packages
//! x 20 versions with 0-3 dependencies each, a 150-package chain whose newest versions need
//! a newer Osiris, and a 10-package pigeonhole. The same seed gives the same index every run.

#![allow(dead_code)]

use std::path::Path;

use ocp::index::format::{
    EntryDependency, IndexEntry, OwnerAction, OwnerEvent, format_entries, format_events, shard,
};
use ocp::index::owners::sign_event;
use ocp::signing::{PackageClaim, SecretKey, SignatureFile};

pub const PACKAGES: usize = 10_000;
pub const SEED: u64 = 0x0c9_5eed;
/// Packages in the chain whose newest versions need a newer Osiris.
pub const HARD_CHAIN: usize = 150;
/// Pigeons in the runaway case (one more than seats).
pub const PIGEONS: usize = 10;

/// splitmix64: a small, well-known seeded generator, so the index is the same every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

pub fn name(index: usize) -> String {
    format!("pkg{index:05}-osiris")
}

/// 20 versions: 1.0.0 .. 4.4.0.
pub fn versions() -> impl Iterator<Item = (u64, u64)> {
    (1..=4).flat_map(|major| (0..5).map(move |minor| (major, minor)))
}

pub fn entry(
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
        signature: "untrusted comment: signature from ocp\nRUQAAAAAAAAAAAAAAAAAAAAA==\ntrusted comment: timestamp:0\nAA==\n".to_owned(),
        key_id: "0123456789ABCDEF".to_owned(),
        yanked: false,
        published: "2026-01-01T00:00:00Z".to_owned(),
        oci_manifest: None,
    }
}

pub fn write_package(root: &Path, entries: &[IndexEntry]) {
    let path = root.join("packages").join(shard(&entries[0].name));
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create a shard folder");
    std::fs::write(path, format_entries(entries)).expect("write a package file");
}

/// Signs an entry as `ocp publish` does: the trusted comment names the package, version and
/// sha256, and carries the digest of the signed fields.
pub fn sign(key: &SecretKey, mut entry: IndexEntry) -> IndexEntry {
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

/// Writes a package file with every entry signed by `key`, and its owner log (one claim by
/// `key`), as `ocp publish` leaves them.
pub fn write_signed_package(root: &Path, key: &SecretKey, entries: &[IndexEntry]) {
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
    write_package(root, &signed);
    let path = root.join("owners").join(shard(name));
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create a shard folder");
    std::fs::write(path, format_events(&[claim])).expect("write an owner log");
}

/// The ordinary packages: each depends on 0-3 packages further down the list, with
/// ranges like `>=2.0,<4`, `~=3.1` or `>=1.0`, and fits Osiris 0.5.x.
pub fn ordinary(rng: &mut Rng, index: usize) -> Vec<IndexEntry> {
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
pub fn hard_chain() -> Vec<Vec<IndexEntry>> {
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
pub fn pigeonhole() -> Vec<Vec<IndexEntry>> {
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

/// The whole index: the ordinary packages, then the hard chain and the pigeonhole.
pub fn generate() -> (Vec<Vec<IndexEntry>>, Vec<Vec<IndexEntry>>) {
    let mut rng = Rng(SEED);
    let index: Vec<Vec<IndexEntry>> = (0..PACKAGES).map(|at| ordinary(&mut rng, at)).collect();
    let extra: Vec<Vec<IndexEntry>> = hard_chain().into_iter().chain(pigeonhole()).collect();
    (index, extra)
}

/// Packages reachable from `start` through the newest versions' dependencies: a rough size
/// of a resolution, used to pick a request of about 50 packages.
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

/// The first package in the first half of the index whose request selects about 50 packages
/// (`selects` runs the resolver for a package's index); the typical request of the benchmarks.
pub fn typical_request(index: &[Vec<IndexEntry>], selects: impl Fn(usize) -> usize) -> usize {
    (0..PACKAGES / 2)
        .filter(|at| (50..1000).contains(&reach(index, *at)))
        .find(|at| (48..=55).contains(&selects(*at)))
        .expect("a package that selects about 50 others")
}
