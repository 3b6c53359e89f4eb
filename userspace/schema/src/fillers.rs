//! Which events the shared fillers fill, read from their one source, `driver/ppm_fillers.h`, which the
//! kernel module and both eBPF probes compile.
//!
//! An event has a filler when a `case PPME_<EVENT>:` label in that file leads to code. A label whose only
//! statement is `return false;` marks an event whose parameters are not read yet: it gets the rule for
//! events without a filler, and says so where a reader sees it. An event routed in the schema with no
//! label at all, whose parameters the rule would not fill whole, is an error: it would silently send
//! zeros.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::c::{first_param_rule, FirstParam};
use crate::{Event, Schema};

/// How an event's parameters are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Filling {
    /// A case of its own in the shared fillers.
    Filler,
    /// No case, and none needed: no parameters, or only the first, which the rule fills.
    Rule,
    /// Listed in the shared fillers as not read yet: the rule fills the first parameter, the rest are
    /// zero.
    Pending,
    /// Routed, with parameters the rule does not fill, and not listed at all.
    Missing,
}

impl Filling {
    pub fn label(self) -> &'static str {
        match self {
            Filling::Filler => "filled",
            Filling::Rule => "filled (by the rule)",
            Filling::Pending => "pending: the rule's first parameter at most",
            Filling::Missing => "MISSING",
        }
    }
}

/// One routed event and how it is filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The native system calls routed to it, in schema order.
    pub syscalls: Vec<String>,
    pub event: String,
    pub nparams: usize,
    pub filling: Filling,
}

/// The repository's shared filler source.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../driver/ppm_fillers.h")
}

/// The case labels of a filler source: event symbol (without `PPME_`) to whether it leads to code.
pub fn case_labels(source: &str) -> BTreeMap<String, bool> {
    let mut labels = BTreeMap::new();
    let mut waiting: Vec<String> = Vec::new();
    let mut in_comment = false;
    for line in source.lines() {
        let line = line.trim();
        if in_comment {
            in_comment = !line.contains("*/");
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if line.starts_with("/*") {
            in_comment = !line.contains("*/");
            continue;
        }
        if let Some(symbol) = line
            .strip_prefix("case PPME_")
            .and_then(|rest| rest.strip_suffix(':').or_else(|| rest.strip_suffix(": {")))
        {
            waiting.push(symbol.to_owned());
            if !line.ends_with('{') {
                continue;
            }
        }
        if waiting.is_empty() {
            continue;
        }
        let leads_to_code = line != "return false;";
        for symbol in waiting.drain(..) {
            labels.insert(symbol, leads_to_code);
        }
    }
    labels
}

/// Whether the rule for events without a filler fills all of `event`'s parameters.
fn rule_fills_whole(event: &Event) -> bool {
    match event.params.len() {
        0 => true,
        1 => first_param_rule(event) != FirstParam::None,
        _ => false,
    }
}

/// Every event the schema routes a system call to (generic events aside), in the order of the schema's
/// `[syscalls]`, with how the source fills it.
pub fn coverage(schema: &Schema, source: &str) -> Vec<Row> {
    let labels = case_labels(source);
    let mut rows: Vec<Row> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for syscall in &schema.syscalls {
        let Some(events) = &syscall.events else {
            continue;
        };
        for symbol in [&events.enter, &events.exit] {
            if symbol.starts_with("GENERIC_") {
                continue;
            }
            if let Some(&i) = index.get(symbol) {
                rows[i].syscalls.push(syscall.native.clone());
                continue;
            }
            let Some(event) = schema.event(symbol) else {
                continue;
            };
            let filling = match labels.get(symbol) {
                Some(true) => Filling::Filler,
                Some(false) => Filling::Pending,
                None if rule_fills_whole(event) => Filling::Rule,
                None => Filling::Missing,
            };
            index.insert(symbol.clone(), rows.len());
            rows.push(Row {
                syscalls: vec![syscall.native.clone()],
                event: symbol.clone(),
                nparams: event.params.len(),
                filling,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_lead_to_code_or_are_pending() {
        let source = "switch (b->type) {\n\tcase PPME_A_E:\n\tcase PPME_A_X:\n\t\t/* why */\n\t\teb_u64(b, 1);\n\t\tbreak;\n\
                      \tcase PPME_B_X: {\n\t\tint x;\n\t}\n\t/* Not read yet. */\n\tcase PPME_C_E:\n\t\treturn false;\n}\n";
        let labels = case_labels(source);
        assert_eq!(labels.get("A_E"), Some(&true));
        assert_eq!(labels.get("A_X"), Some(&true));
        assert_eq!(labels.get("B_X"), Some(&true));
        assert_eq!(labels.get("C_E"), Some(&false));
        assert_eq!(labels.len(), 4);
    }

    #[test]
    fn a_routed_event_without_a_label_is_missing_unless_the_rule_fills_it() {
        let schema = Schema::load(&Schema::default_path()).expect("schema");
        let rows = coverage(&schema, "");
        let row = |name: &str| rows.iter().find(|r| r.event == name).expect(name).filling;
        // close's exit has only its result: the rule fills it whole.
        assert_eq!(row("SYSCALL_CLOSE_X"), Filling::Rule);
        // open's enter has a name, flags and mode: without a case it would send zeros.
        assert_eq!(row("SYSCALL_OPEN_E"), Filling::Missing);
        let dup = rows
            .iter()
            .find(|r| r.event == "SYSCALL_DUP_E")
            .expect("dup");
        assert!(
            dup.syscalls.contains(&"dup2".to_owned()),
            "{:?}",
            dup.syscalls
        );
    }
}
