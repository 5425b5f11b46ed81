//! Progress bars for long transfers (source downloads, registry pushes): one implementation of
//! the libraries' `Reporter` trait, drawn with indicatif on stderr (nothing with `--quiet`).

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use talos_ext_fetch::Reporter;
use xtask::flags::Verbosity;

/// Progress bars, one per transfer.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<ProgressBar>>,
}

impl Bars {
    pub fn new(verbosity: Verbosity) -> Bars {
        let multi = match verbosity {
            Verbosity::Quiet => MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            Verbosity::Normal | Verbosity::Verbose => MultiProgress::new(),
        };
        Bars { multi, bars: Mutex::new(Vec::new()) }
    }
}

impl Reporter for Bars {
    fn start(&self, name: &str, total: Option<u64>) -> usize {
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template("{msg:40} {bar:30} {bytes:>10}/{total_bytes:<10} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner(),
        };
        let bar = self.multi.add(bar.with_message(name.to_string()));
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.push(bar);
        bars.len() - 1
    }

    fn progress(&self, id: usize, bytes: u64) {
        if let Some(b) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            b.inc(bytes);
        }
    }

    fn finish(&self, id: usize) {
        if let Some(b) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            b.finish();
        }
    }
}
