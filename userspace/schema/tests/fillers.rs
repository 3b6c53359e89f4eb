//! The shared fillers (`driver/ppm_fillers.h`) have a case, or an explicit pending label, for every event
//! the schema routes a system call to: a new route without one would silently send zeros.

use ppm_schema::fillers::{self, Filling};
use ppm_schema::Schema;

#[test]
fn every_routed_event_has_a_filler_or_is_listed_as_pending() {
    let schema = Schema::load(&Schema::default_path()).expect("schema");
    let source = std::fs::read_to_string(fillers::default_path()).expect("driver/ppm_fillers.h");
    let rows = fillers::coverage(&schema, &source);
    let missing: Vec<&str> = rows
        .iter()
        .filter(|r| r.filling == Filling::Missing)
        .map(|r| r.event.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "routed events with no case in driver/ppm_fillers.h: {missing:?}"
    );
    let filled = rows.iter().filter(|r| r.filling == Filling::Filler).count();
    assert!(filled >= 70, "{filled} events have fillers of their own");
}
