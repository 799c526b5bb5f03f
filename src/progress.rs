//! Progress as events. A step's front door is handed a [`Sink`] and tells it what happens
//! (a unit of work started or finished, a count advanced, something the user should read
//! now); it never prints. The CLI owns the one reporter that turns events into a bar on a
//! terminal, one line per event in CI, or nothing with `--quiet`. Tests hand a [`Recorder`]
//! and assert on what was said.

use std::sync::Mutex;

use crate::step::Step;

/// How loud a [`Event::Note`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something the user may want to know while waiting (a phase began, a file was saved).
    Info,
    /// Something went differently than asked, and the result is still worth having (a
    /// fallback was taken, an input was skipped).
    Warning,
}

/// One thing a step says while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The step begins work on `total` units (targets, binaries, tests), when known.
    Began {
        /// The step.
        step: Step,
        /// How many units, if known.
        total: Option<u64>,
        /// What the step is about to do, in a few words ("3 targets, 2 at a time").
        what: String,
    },
    /// One unit (a target's build, a binary's scan, a phase of the probe) started.
    Started {
        /// The step.
        step: Step,
        /// The unit's name (a target label, a path, a phase).
        item: String,
    },
    /// One unit ended.
    Finished {
        /// The step.
        step: Step,
        /// The unit's name, as in [`Event::Started`].
        item: String,
        /// False when the unit failed (the detail says how).
        ok: bool,
        /// One line: what came of it ("0.8 s, 2 findings").
        detail: String,
    },
    /// Something the user should read now, not only in the report.
    Note {
        /// The step.
        step: Step,
        /// How loud.
        level: Level,
        /// The line, without a `goready:` prefix (the reporter adds what it needs).
        text: String,
    },
    /// What a tool goready runs printed for people (go's stderr, `go test`'s package lines,
    /// a `goready check` step's own progress), passed on as it is, whole lines.
    Output {
        /// The step that ran the tool.
        step: Step,
        /// One or more lines.
        text: String,
    },
}

/// Where a step sends its events. Shared across the threads of one step.
pub trait Sink: Send + Sync {
    /// Takes one event; never blocks for long and never fails.
    fn emit(&self, event: Event);
}

/// A sink that drops every event (library callers that want only the result).
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn emit(&self, _event: Event) {}
}

/// A sink that keeps every event in order, for tests and for callers that render later.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// The events so far, in the order they came.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The text of every [`Event::Note`] so far, in order (what a test asserts a step said).
    pub fn notes(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Note { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }
}

impl Sink for Recorder {
    fn emit(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }
}

/// Shorthand for the events a step sends most: `Note`s tagged with its step.
#[derive(Clone, Copy)]
pub struct Say<'a> {
    /// The step that speaks.
    pub step: Step,
    /// Where it goes.
    pub sink: &'a dyn Sink,
}

impl<'a> Say<'a> {
    /// A speaker for `step` into `sink`.
    pub fn new(step: Step, sink: &'a dyn Sink) -> Self {
        Say { step, sink }
    }

    /// An [`Level::Info`] note.
    pub fn info(&self, text: impl Into<String>) {
        self.note(Level::Info, text);
    }

    /// A [`Level::Warning`] note.
    pub fn warn(&self, text: impl Into<String>) {
        self.note(Level::Warning, text);
    }

    /// Lines a tool printed, passed on as they are ([`Event::Output`]).
    pub fn output(&self, text: impl Into<String>) {
        self.sink.emit(Event::Output {
            step: self.step,
            text: text.into(),
        });
    }

    fn note(&self, level: Level, text: impl Into<String>) {
        self.sink.emit(Event::Note {
            step: self.step,
            level,
            text: text.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_keeps_events_in_order_and_say_tags_the_step() {
        let rec = Recorder::new();
        let say = Say::new(Step::Vuln, &rec);
        say.info("reading the database");
        say.warn("database is 9 days old");
        let events = rec.events();
        assert_eq!(events.len(), 2);
        assert!(matches!(
            &events[1],
            Event::Note { step: Step::Vuln, level: Level::Warning, text } if text.contains("9 days")
        ));
    }
}
