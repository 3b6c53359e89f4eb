//! The sysdig/Falco filter language.
