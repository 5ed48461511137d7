//! How long-running domain work (downloads today; resolving and publishing later) tells the
//! caller how far it got, without knowing how that is shown. Domain code calls a
//! [`Reporter`]; the CLI implements it with an indicatif bar on a terminal
//! (`cli::progress`), and everything else passes [`NoReporter`].
//!
//! Items are named by a label such as `shopify-osiris 1.0.0`. Calls may come from several
//! threads at once, so implementations must be `Sync`.

/// Receives progress events. Every method has a do-nothing default.
pub trait Reporter: Sync {
    /// The work has `total` items, some of which may finish at once (already cached).
    fn start(&self, total: usize) {
        let _ = total;
    }

    /// Work on `name` began (or began again after a failed try); `size` is the number of
    /// bytes expected, when known.
    fn item_started(&self, name: &str, size: Option<u64>) {
        let _ = (name, size);
    }

    /// `n` more bytes of `name` arrived.
    fn bytes(&self, name: &str, n: u64) {
        let _ = (name, n);
    }

    /// A try at `name` failed and will be repeated; `attempt` is the try that failed (1-based).
    fn retrying(&self, name: &str, attempt: u32, reason: &str) {
        let _ = (name, attempt, reason);
    }

    /// `name` is done; `from_cache` when nothing had to be downloaded.
    fn item_done(&self, name: &str, from_cache: bool) {
        let _ = (name, from_cache);
    }

    /// All items are done, or the work stopped.
    fn finish(&self) {}
}

/// A reporter that shows nothing: for `-q`, for output that is not a terminal, and for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReporter;

impl Reporter for NoReporter {}
