//! Progress bars on a terminal: the indicatif side of [`crate::progress::Reporter`]. Only
//! the CLI knows about indicatif; it decides here, once, whether anything is drawn: on a
//! terminal and without `-q`, bars on stderr; otherwise [`NoReporter`], so logs and pipes
//! never see a bar.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{NoReporter, Reporter};
use crate::shell::{Shell, Verbosity};

/// The reporter for long work started from the command line: bars when stderr is a terminal
/// and the shell is not quiet, nothing otherwise. `verb` heads the overall bar
/// (`Downloading`), aligned like the shell's status lines.
pub fn reporter(shell: &Shell, verb: &'static str) -> Box<dyn Reporter> {
    if draws(shell.verbosity(), std::io::stderr().is_terminal()) {
        Box::new(Bars::new(verb, ProgressDrawTarget::stderr()))
    } else {
        Box::new(NoReporter)
    }
}

/// Whether bars are drawn: on a terminal, unless `-q`.
fn draws(verbosity: Verbosity, stderr_is_terminal: bool) -> bool {
    verbosity != Verbosity::Quiet && stderr_is_terminal
}

/// One overall bar counting finished items, and one bar per item in progress.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    items: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    /// Bars drawn on `target` (on stderr, indicatif draws nothing when it is not a terminal).
    pub fn new(verb: &'static str, target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(style("{prefix:>12} [{bar:25}] {pos}/{len} {wide_msg}"));
        overall.set_prefix(verb);
        Bars {
            multi,
            overall,
            items: Mutex::new(HashMap::new()),
        }
    }

    fn item_bar(&self, name: &str) -> Option<ProgressBar> {
        self.items.lock().ok()?.get(name).cloned()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Reporter for Bars {
    fn start(&self, total: usize) {
        self.overall.set_length(total as u64);
        self.overall.enable_steady_tick(Duration::from_millis(120));
    }

    fn item_started(&self, name: &str, size: Option<u64>) {
        let bar = match size {
            Some(size) => {
                let bar = ProgressBar::new(size);
                bar.set_style(style(
                    "{prefix:>12} {msg} [{bar:25}] {bytes}/{total_bytes} {bytes_per_sec}",
                ));
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>12} {msg} {spinner} {bytes}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        let bar = self.multi.add(bar);
        bar.set_message(name.to_owned());
        if let Ok(mut items) = self.items.lock() {
            // A new try replaces the bar of the failed one.
            if let Some(old) = items.insert(name.to_owned(), bar) {
                old.finish_and_clear();
                self.multi.remove(&old);
            }
        }
    }

    fn bytes(&self, name: &str, n: u64) {
        if let Some(bar) = self.item_bar(name) {
            bar.inc(n);
        }
    }

    fn retrying(&self, name: &str, attempt: u32, reason: &str) {
        let _ = self.multi.println(format!(
            "warning: try {attempt} to download {name} failed, trying again: {reason}"
        ));
    }

    fn item_done(&self, name: &str, from_cache: bool) {
        if let Some(bar) = self.items.lock().ok().and_then(|mut i| i.remove(name)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        if !from_cache {
            self.overall.set_message(name.to_owned());
        }
        self.overall.inc(1);
    }

    fn finish(&self) {
        if let Ok(mut items) = self.items.lock() {
            for (_, bar) in items.drain() {
                bar.finish_and_clear();
            }
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_on_a_terminal_and_never_with_quiet() {
        assert!(draws(Verbosity::Normal, true));
        assert!(draws(Verbosity::Verbose, true));
        assert!(!draws(Verbosity::Quiet, true));
        assert!(!draws(Verbosity::Normal, false));
    }

    #[test]
    fn the_overall_bar_counts_finished_items_and_item_bars_go_away() {
        let bars = Bars::new("Downloading", ProgressDrawTarget::hidden());
        bars.start(3);
        bars.item_done("cached-osiris 1.0.0", true);
        bars.item_started("a-osiris 1.0.0", Some(10));
        bars.bytes("a-osiris 1.0.0", 4);
        assert_eq!(
            bars.item_bar("a-osiris 1.0.0").map(|b| b.position()),
            Some(4)
        );
        // A retry starts the item's bar again from zero.
        bars.item_started("a-osiris 1.0.0", Some(10));
        assert_eq!(
            bars.item_bar("a-osiris 1.0.0").map(|b| b.position()),
            Some(0)
        );
        bars.item_done("a-osiris 1.0.0", false);
        bars.item_started("b-osiris 1.0.0", None);
        bars.item_done("b-osiris 1.0.0", false);
        assert_eq!(bars.overall.position(), 3);
        assert_eq!(bars.overall.length(), Some(3));
        assert!(bars.item_bar("a-osiris 1.0.0").is_none());
        bars.finish();
        assert!(bars.overall.is_finished());
    }
}
