//! The one reporter: every progress event of every step comes here, and this is the only
//! place that writes progress to stderr. Three ways, decided once per run:
//!
//! - a bar (stderr is a terminal and `CI` is not set): one indicatif bar per step that said
//!   how many units it has, notes and tool output printed above it;
//! - lines (CI logs, pipes, `goready check`'s own steps): one line per event, each prefixed
//!   with `goready` so that a log reader knows who speaks;
//! - nothing (`--quiet`).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use crate::progress::{Event, Level, Sink};
use crate::step::Step;

/// How progress reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar on a terminal.
    Bar,
    /// One line per event.
    Lines,
    /// Nothing.
    Quiet,
}

impl Mode {
    /// A bar on a terminal, lines in CI (`CI` set to anything but `false`/`0`) or when stderr
    /// is not a terminal, nothing when `quiet`.
    pub fn detect(quiet: bool) -> Self {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && !ci {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// The reporter the CLI hands every step as its [`Sink`].
pub struct Reporter {
    mode: Mode,
    state: Mutex<State>,
}

/// What the reporter remembers between events.
#[derive(Default)]
struct State {
    /// Per step: units finished, units announced (from [`Event::Began`]).
    counts: HashMap<Step, (u64, Option<u64>)>,
    /// Per step: the units running now, in the order they started (the bar's message).
    running: HashMap<Step, Vec<String>>,
    /// The bar, once a step began (bar mode only).
    bar: Option<indicatif::ProgressBar>,
}

impl Reporter {
    /// A reporter that writes to stderr in `mode`.
    pub fn new(mode: Mode) -> Self {
        Reporter {
            mode,
            state: Mutex::new(State::default()),
        }
    }

    /// Removes the bar, before the results are printed.
    pub fn finish(&self) {
        if let Some(bar) = self.lock().bar.take() {
            bar.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Sink for Reporter {
    fn emit(&self, event: Event) {
        if self.mode == Mode::Quiet {
            return;
        }
        let mut state = self.lock();
        let line = state.line(&event);
        if self.mode == Mode::Bar {
            state.show(&event, line);
        } else if let Some(line) = line {
            // A failed write to stderr has nowhere to be reported.
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

impl State {
    /// The line an event is, in a log; counts what it needs to.
    fn line(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::Began { step, total, what } => {
                self.counts.insert(*step, (0, *total));
                Some(format!("goready {step}: {what}"))
            }
            Event::Started { step, item } => {
                self.running.entry(*step).or_default().push(item.clone());
                Some(format!("goready {step}: {item}…"))
            }
            Event::Finished {
                step,
                item,
                ok,
                detail,
            } => {
                if let Some(running) = self.running.get_mut(step) {
                    running.retain(|i| i != item);
                }
                let (done, total) = self.counts.entry(*step).or_default();
                *done += 1;
                let mark = if *ok { "ok  " } else { "FAIL" };
                let count = total.map(|t| format!("[{done}/{t}] ")).unwrap_or_default();
                Some(format!("goready {step}: {count}{mark} {item:<22} {detail}"))
            }
            Event::Note { level, text, .. } => Some(match level {
                Level::Info => format!("goready: {text}"),
                Level::Warning => format!("goready: warning: {text}"),
            }),
            Event::Output { text, .. } => Some(text.trim_end_matches('\n').to_string()),
        }
    }

    /// Bar mode: a step that announced its units gets the bar; the running units are its
    /// message; everything else is printed above it (a unit's start only moves the bar).
    fn show(&mut self, event: &Event, line: Option<String>) {
        match event {
            Event::Began {
                step,
                total: Some(total),
                ..
            } => {
                if let Some(old) = self.bar.take() {
                    old.finish_and_clear();
                }
                self.bar = Some(bar(*step, *total));
                return;
            }
            Event::Started { step, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(
                        self.running
                            .get(step)
                            .map(|r| r.join(", "))
                            .unwrap_or_default(),
                    );
                }
                return;
            }
            Event::Finished { step, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(
                        self.running
                            .get(step)
                            .map(|r| r.join(", "))
                            .unwrap_or_default(),
                    );
                    bar.inc(1);
                }
                // Every unit done: the bar goes before the step prints its results.
                if let Some((done, Some(total))) = self.counts.get(step)
                    && done >= total
                    && let Some(bar) = self.bar.take()
                {
                    if let Some(line) = line {
                        bar.println(line);
                    }
                    bar.finish_and_clear();
                    return;
                }
            }
            _ => {}
        }
        let Some(line) = line else { return };
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }
}

/// The bar for `total` units of `step`.
fn bar(step: Step, total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    let template =
        format!("{{spinner}} {step} [{{bar:24}}] {{pos}}/{{len}} {{elapsed}} {{wide_msg}}");
    let style = indicatif::ProgressStyle::with_template(&template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_gets_one_line_per_event_with_counts_from_began() {
        let mut state = State::default();
        let lines: Vec<Option<String>> = [
            Event::Began {
                step: Step::Build,
                total: Some(2),
                what: "2 targets, 2 at a time".into(),
            },
            Event::Started {
                step: Step::Build,
                item: "linux/amd64 cgo=0".into(),
            },
            Event::Finished {
                step: Step::Build,
                item: "linux/amd64 cgo=0".into(),
                ok: false,
                detail: "compile error (1.0s)".into(),
            },
            Event::Note {
                step: Step::Probe,
                level: Level::Warning,
                text: "load skipped".into(),
            },
            Event::Output {
                step: Step::Test,
                text: "ok  \texample.com/m\t0.01s\n".into(),
            },
        ]
        .iter()
        .map(|e| state.line(e))
        .collect();
        assert_eq!(
            lines,
            [
                Some("goready build: 2 targets, 2 at a time".to_string()),
                Some("goready build: linux/amd64 cgo=0…".to_string()),
                Some(
                    "goready build: [1/2] FAIL linux/amd64 cgo=0      compile error (1.0s)"
                        .to_string()
                ),
                Some("goready: warning: load skipped".to_string()),
                Some("ok  \texample.com/m\t0.01s".to_string()),
            ]
        );
        assert!(state.running[&Step::Build].is_empty());
    }
}
