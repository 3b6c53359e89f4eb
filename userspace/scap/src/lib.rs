//! scap
