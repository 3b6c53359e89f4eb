//! .scap files
