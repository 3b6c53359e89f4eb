//! The inspector: numbers events, keeps the state current, filters, and formats, in sysdig's order.

use scap::event::{Event, Value};
use scap::schema::{category, ppme};

use crate::fields::EventContext;
use crate::filter_fields::EventFilter;
use crate::format::Format;
use crate::render::{RenderOptions, Renderer};
use crate::state::State;

/// How events are printed.
#[derive(Debug, Clone)]
pub enum Output {
    Text(Format),
    Json(Format),
    /// Nothing is printed (e.g. `-w` without `-p`).
    None,
}

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The event passed the filter; its line (if any) was appended.
    Accepted,
    /// The filter rejected it.
    Filtered,
    /// Internal events (e.g. procinfo) are never shown, as in sysdig.
    Hidden,
}

/// A generic event whose syscall code is outside the table: sysdig does not show it.
fn is_unknown_syscall(event: &Event<'_>) -> bool {
    let ty = event.event_type();
    if ty != ppme::GENERIC_E && ty != ppme::GENERIC_X {
        return false;
    }
    matches!(event.param(0).map(|p| p.value()), Some(Ok(Value::UInt(id))) if scap::schema::syscall_name(id).is_none())
}

pub struct Inspector {
    pub state: State,
    num: u64,
    options: RenderOptions,
    filter: Option<EventFilter>,
    output: Output,
}

impl Inspector {
    pub fn new(output: Output, filter: Option<EventFilter>, options: RenderOptions) -> Inspector {
        Inspector {
            state: State::new(),
            num: 0,
            options,
            filter,
            output,
        }
    }

    /// Events seen so far, shown or not.
    pub fn events_seen(&self) -> u64 {
        self.num
    }

    /// Applies `event` to the state, then filters and formats it into `out` (one line, no newline).
    pub fn process(&mut self, cpu: u16, event: &Event<'_>, out: &mut String) -> Verdict {
        self.num += 1;
        self.state.apply(event);
        if event
            .info()
            .is_some_and(|i| i.category & category::INTERNAL != 0)
            || is_unknown_syscall(event)
        {
            return Verdict::Hidden;
        }
        let renderer = Renderer {
            state: &self.state,
            options: self.options,
        };
        let cx = EventContext {
            event,
            state: &self.state,
            renderer: &renderer,
            num: self.num,
            cpu,
        };
        if let Some(filter) = &self.filter {
            if !filter.matches(&cx) {
                return Verdict::Filtered;
            }
        }
        match &self.output {
            Output::Text(format) => {
                format.render_text(out, &cx);
            }
            Output::Json(format) => {
                format.render_json(out, &cx);
            }
            Output::None => {}
        }
        Verdict::Accepted
    }
}
