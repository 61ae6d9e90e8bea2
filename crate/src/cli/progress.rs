//! Progress bars for training and downloads (on stderr).

use std::ops::ControlFlow;

use indicatif::{ProgressBar, ProgressStyle};
use overunlearn::train::Progress;

/// Draws one bar per epoch and prints a line when each epoch ends.
pub struct TrainBar {
    bar: Option<ProgressBar>,
}

impl TrainBar {
    /// A bar that has not started yet.
    pub fn new() -> Self {
        Self { bar: None }
    }

    /// Takes one progress report; never cancels.
    pub fn observe(&mut self, progress: &Progress) -> ControlFlow<()> {
        match progress {
            Progress::Step(s) => {
                let bar = self.bar.get_or_insert_with(|| {
                    let bar = ProgressBar::new(s.steps as u64);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({eta} left)",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(format!("{}/{}", s.epoch, s.epochs));
                    bar
                });
                bar.set_position(s.step as u64);
                bar.set_message(format!(
                    "loss {:.3} acc {:.1}% {:.0} img/s",
                    s.loss,
                    s.accuracy * 100.0,
                    s.images_per_sec
                ));
            }
            Progress::Epoch(e) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let val = match (e.val_loss, e.val_accuracy) {
                    (Some(l), Some(a)) => format!(", val loss {l:.3} acc {:.1}%", a * 100.0),
                    _ => String::new(),
                };
                eprintln!(
                    "epoch {}: train loss {:.3} acc {:.1}%{val}, {:.0} img/s, {:.1} s{}",
                    e.epoch,
                    e.train_loss,
                    e.train_accuracy * 100.0,
                    e.images_per_sec,
                    e.seconds,
                    if e.best { " (kept)" } else { "" }
                );
            }
        }
        ControlFlow::Continue(())
    }
}

/// A byte-count bar for downloads.
pub fn bytes_bar(name: &str) -> ProgressBar {
    styled(
        ProgressBar::new(0),
        name,
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ({eta} left)",
    )
}

/// `bar` named `name`, drawn with `template`.
fn styled(bar: ProgressBar, name: &str, template: &str) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

/// One count bar per named stage of a long run: a new bar when the stage's name changes, a line
/// when a stage is done.
pub struct StageBars {
    bar: Option<(String, ProgressBar)>,
}

impl StageBars {
    /// No stage has started yet.
    pub fn new() -> Self {
        Self { bar: None }
    }

    /// Takes one report: stage `name` has done `done` of `total`.
    pub fn observe(&mut self, name: &str, done: usize, total: usize) {
        if self.bar.as_ref().is_none_or(|(n, _)| n != name) {
            self.finish();
            self.bar = Some((name.to_string(), count_bar(name, total as u64)));
        }
        if let Some((_, b)) = &self.bar {
            b.set_position(done as u64);
        }
        if done == total {
            eprintln!("{name}: {total}/{total} done");
        }
    }

    /// Clears the last bar.
    pub fn finish(&mut self) {
        if let Some((_, b)) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

/// A count bar for a named stage.
fn count_bar(name: &str, total: u64) -> ProgressBar {
    styled(
        ProgressBar::new(total),
        name,
        "{prefix} [{bar:30}] {pos}/{len} ({eta} left)",
    )
}
