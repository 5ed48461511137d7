//! Downloads into the sha256-keyed cache (`ocp::fetch`), against a real HTTP server on
//! 127.0.0.1 and real files: several at once, nothing twice, retries on broken and failing
//! downloads, checksum refusals that leave nothing behind, `file://` and index-relative
//! locations, and `--offline`.

#[path = "common/http.rs"]
mod http;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ocp::fetch::{Cache, FetchError, FetchItem, FetchOptions, Fetched, fetch_all};
use ocp::model::Checksum;
use ocp::progress::{NoReporter, Reporter};

/// Tarball-like bytes that differ per package and are big enough to be cut in half.
fn body(name: &str) -> Vec<u8> {
    name.bytes().cycle().take(200_000).collect()
}

fn item(name: &str, location: String, bytes: &[u8]) -> FetchItem {
    FetchItem {
        name: name.to_owned(),
        version: "1.0.0".to_owned(),
        location,
        sha256: Checksum::of_bytes(bytes),
    }
}

struct World {
    dir: tempfile::TempDir,
    server: http::FileServer,
}

impl World {
    fn new() -> World {
        World {
            dir: tempfile::tempdir().expect("temp dir"),
            server: http::FileServer::start(None),
        }
    }

    fn cache(&self) -> Cache {
        Cache::new(self.dir.path().join("cache"))
    }

    fn index_root(&self) -> PathBuf {
        self.dir.path().join("index")
    }

    fn options(&self) -> FetchOptions {
        FetchOptions {
            backoff: Duration::from_millis(10),
            ..FetchOptions::new(self.index_root())
        }
    }

    /// Serves a package's tarball and returns its fetch item.
    fn serve(&self, name: &str) -> FetchItem {
        let bytes = body(name);
        let url = self
            .server
            .put_file(&format!("/{name}-1.0.0.tar.gz"), &bytes);
        item(name, url, &bytes)
    }

    /// Every file under the cache root, temporary ones included.
    fn cached_files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.dir.path().join("cache")];
        while let Some(directory) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&directory) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }
}

/// Records what a fetch reported.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Recorder {
    fn events(&self) -> Vec<String> {
        self.events.lock().expect("lock").clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
}

impl Reporter for Recorder {
    fn start(&self, total: usize) {
        self.events
            .lock()
            .expect("lock")
            .push(format!("start {total}"));
    }
    fn retrying(&self, name: &str, attempt: u32, _reason: &str) {
        self.events
            .lock()
            .expect("lock")
            .push(format!("retry {name} {attempt}"));
    }
    fn item_done(&self, name: &str, from_cache: bool) {
        self.events
            .lock()
            .expect("lock")
            .push(format!("done {name} cached={from_cache}"));
    }
    fn finish(&self) {
        self.events.lock().expect("lock").push("finish".to_owned());
    }
}

fn assert_holds(fetched: &Fetched, bytes: &[u8]) {
    assert_eq!(
        std::fs::read(&fetched.path).expect("cached file"),
        bytes,
        "{}",
        fetched.path.display()
    );
}

#[test]
fn downloads_several_at_once_into_the_sha256_layout() {
    let world = World::new();
    world.server.get_delay_ms.store(300, Ordering::SeqCst);
    let names = [
        "a-osiris", "b-osiris", "c-osiris", "d-osiris", "e-osiris", "f-osiris",
    ];
    let items: Vec<FetchItem> = names.iter().map(|name| world.serve(name)).collect();
    let recorder = Recorder::default();

    let fetched = fetch_all(&world.cache(), &items, &world.options(), &recorder).expect("fetched");

    assert_eq!(fetched.len(), names.len());
    for ((name, item), fetched) in names.iter().zip(&items).zip(&fetched) {
        assert!(!fetched.from_cache);
        assert_holds(fetched, &body(name));
        let hex = item.sha256.to_hex();
        let expected = world
            .dir
            .path()
            .join("cache/v1/sha256")
            .join(&hex[..2])
            .join(format!("{hex}.tar.gz"));
        assert_eq!(fetched.path, expected);
    }
    let most = world.server.max_in_flight.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&most),
        "{most} downloads ran at once; expected between 2 and 4"
    );
    assert_eq!(recorder.count("done "), names.len());
    assert_eq!(
        recorder.events().first().map(String::as_str),
        Some("start 6")
    );
    assert_eq!(recorder.events().last().map(String::as_str), Some("finish"));
    // Only the finished files are in the cache: no temporary files are left behind.
    assert_eq!(world.cached_files().len(), names.len());
}

#[test]
fn a_second_fetch_downloads_nothing() {
    let world = World::new();
    let items = vec![world.serve("a-osiris"), world.serve("b-osiris")];
    fetch_all(&world.cache(), &items, &world.options(), &NoReporter).expect("first fetch");
    assert_eq!(world.server.get_count(), 2);

    let recorder = Recorder::default();
    let again = fetch_all(&world.cache(), &items, &world.options(), &recorder).expect("second");

    assert_eq!(world.server.get_count(), 2, "{:?}", world.server.log);
    assert!(again.iter().all(|fetched| fetched.from_cache));
    assert_holds(&again[0], &body("a-osiris"));
    assert_eq!(recorder.count("done a-osiris 1.0.0 cached=true"), 1);
}

#[test]
fn the_same_tarball_listed_twice_is_downloaded_once() {
    let world = World::new();
    let first = world.serve("a-osiris");
    let mut second = first.clone();
    second.name = "alias-osiris".to_owned();
    let fetched = fetch_all(
        &world.cache(),
        &[first, second],
        &world.options(),
        &NoReporter,
    )
    .expect("fetched");
    assert_eq!(world.server.get_count(), 1);
    assert_eq!(fetched[0].path, fetched[1].path);
}

#[test]
fn a_checksum_mismatch_is_refused_not_retried_and_nothing_is_cached() {
    let world = World::new();
    let mut tampered = world.serve("a-osiris");
    let expected = Checksum::of_bytes(b"what the index vouches for");
    tampered.sha256 = expected.clone();

    let error = fetch_all(&world.cache(), &[tampered], &world.options(), &NoReporter)
        .expect_err("a wrong sha256 must be refused");

    let FetchError::ChecksumMismatch(mismatch) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(mismatch.name, "a-osiris");
    assert_eq!(mismatch.expected, expected);
    assert_eq!(mismatch.actual, Checksum::of_bytes(&body("a-osiris")));
    let message = error.to_string();
    assert!(message.contains("a-osiris 1.0.0"), "{message}");
    assert!(message.contains(&expected.to_hex()), "{message}");
    assert!(message.contains(&mismatch.actual.to_hex()), "{message}");
    assert_eq!(world.server.get_count(), 1, "a mismatch is never retried");
    assert_eq!(world.cached_files(), Vec::<PathBuf>::new());
}

#[test]
fn a_download_that_breaks_half_way_is_retried() {
    let world = World::new();
    let item = world.serve("a-osiris");
    world.server.truncate_next.store(2, Ordering::SeqCst);
    let recorder = Recorder::default();

    let fetched = fetch_all(&world.cache(), &[item], &world.options(), &recorder)
        .expect("the third try succeeds");

    assert_eq!(world.server.get_count(), 3);
    assert_holds(&fetched[0], &body("a-osiris"));
    assert_eq!(recorder.count("retry a-osiris 1.0.0"), 2);
    assert_eq!(world.cached_files().len(), 1);
}

#[test]
fn a_download_that_keeps_breaking_fails_with_nothing_cached() {
    let world = World::new();
    let item = world.serve("a-osiris");
    world
        .server
        .truncate_next
        .store(usize::MAX, Ordering::SeqCst);

    let error = fetch_all(&world.cache(), &[item], &world.options(), &NoReporter)
        .expect_err("every try breaks");

    let FetchError::Download {
        name,
        attempts,
        reason,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((name.as_str(), *attempts), ("a-osiris", 3));
    assert!(
        reason.contains("broke off") || reason.contains("closed after"),
        "{reason}"
    );
    assert_eq!(world.server.get_count(), 3);
    assert_eq!(world.cached_files(), Vec::<PathBuf>::new());
}

#[test]
fn a_server_error_is_retried_but_not_found_is_not() {
    let world = World::new();
    let item = world.serve("a-osiris");
    world.server.fail_next.store(1, Ordering::SeqCst);
    fetch_all(&world.cache(), &[item], &world.options(), &NoReporter).expect("second try works");
    assert_eq!(world.server.get_count(), 2);

    let missing = FetchItem {
        location: format!("{}/missing.tar.gz", world.server.base),
        ..world.serve("b-osiris")
    };
    let error =
        fetch_all(&world.cache(), &[missing], &world.options(), &NoReporter).expect_err("404");
    assert!(
        matches!(error, FetchError::Status { status: 404, .. }),
        "{error:?}"
    );
    assert_eq!(world.server.get_count(), 3, "a 404 is not retried");
}

#[test]
fn file_urls_and_index_relative_paths_are_read() {
    let world = World::new();
    let outside = world.dir.path().join("elsewhere");
    std::fs::create_dir_all(&outside).expect("dir");
    let a = body("a-osiris");
    std::fs::write(outside.join("a.tar.gz"), &a).expect("write");
    let in_index = world.index_root().join("tarballs/b");
    std::fs::create_dir_all(&in_index).expect("dir");
    let b = body("b-osiris");
    std::fs::write(in_index.join("b.tar.gz"), &b).expect("write");
    let items = [
        item(
            "a-osiris",
            format!("file://{}", outside.join("a.tar.gz").display()),
            &a,
        ),
        item("b-osiris", "tarballs/b/b.tar.gz".to_owned(), &b),
    ];

    let fetched = fetch_all(&world.cache(), &items, &world.options(), &NoReporter).expect("read");

    assert_holds(&fetched[0], &a);
    assert_holds(&fetched[1], &b);
    assert!(fetched[0].path.starts_with(world.dir.path().join("cache")));
    assert_eq!(world.server.get_count(), 0);
}

#[test]
fn a_relative_path_may_not_leave_the_index() {
    let world = World::new();
    let bytes = body("a-osiris");
    std::fs::write(world.dir.path().join("secret.tar.gz"), &bytes).expect("write");
    let escaping = item("a-osiris", "../secret.tar.gz".to_owned(), &bytes);
    let error =
        fetch_all(&world.cache(), &[escaping], &world.options(), &NoReporter).expect_err("refused");
    assert!(matches!(error, FetchError::Location { .. }), "{error:?}");
    assert_eq!(world.cached_files(), Vec::<PathBuf>::new());
}

#[test]
fn offline_without_a_cached_entry_says_to_go_online() {
    let world = World::new();
    let item = world.serve("a-osiris");
    let offline = FetchOptions {
        offline: true,
        ..world.options()
    };

    let error = fetch_all(&world.cache(), &[item], &offline, &NoReporter).expect_err("missing");

    assert!(matches!(error, FetchError::NotCached { .. }), "{error:?}");
    assert!(error.to_string().contains("a-osiris 1.0.0"), "{error}");
    assert_eq!(
        error.help().as_deref(),
        Some("run without `--offline` to download it")
    );
    assert_eq!(world.server.get_count(), 0);
}

#[test]
fn offline_with_a_cached_entry_uses_it() {
    let world = World::new();
    let item = world.serve("a-osiris");
    fetch_all(
        &world.cache(),
        std::slice::from_ref(&item),
        &world.options(),
        &NoReporter,
    )
    .expect("online");
    let offline = FetchOptions {
        offline: true,
        ..world.options()
    };

    let fetched = fetch_all(&world.cache(), &[item], &offline, &NoReporter).expect("cached");

    assert!(fetched[0].from_cache);
    assert_holds(&fetched[0], &body("a-osiris"));
    assert_eq!(world.server.get_count(), 1);
}

#[test]
fn a_damaged_cache_entry_is_downloaded_again() {
    let world = World::new();
    let item = world.serve("a-osiris");
    let first = fetch_all(
        &world.cache(),
        std::slice::from_ref(&item),
        &world.options(),
        &NoReporter,
    )
    .expect("first");
    std::fs::write(&first[0].path, b"damaged").expect("damage it");

    let again = fetch_all(&world.cache(), &[item], &world.options(), &NoReporter).expect("again");

    assert!(!again[0].from_cache);
    assert_holds(&again[0], &body("a-osiris"));
    assert_eq!(world.server.get_count(), 2);
}

#[test]
fn the_earliest_failure_is_reported_and_good_files_stay_cached() {
    let world = World::new();
    let good = world.serve("a-osiris");
    let mut bad = world.serve("b-osiris");
    bad.sha256 = Checksum::of_bytes(b"other");
    let error = fetch_all(
        &world.cache(),
        &[good.clone(), bad],
        &world.options(),
        &NoReporter,
    )
    .expect_err("b is refused");
    assert!(error.to_string().contains("b-osiris"), "{error}");
    // Whatever finished and verified may stay; nothing unverified does.
    for path in world.cached_files() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(name, format!("{}.tar.gz", good.sha256.to_hex()));
    }
}
