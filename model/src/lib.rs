//! Passerelle's shared vocabulary: the closed sets of values that the domain, the web edge and the
//! pages all speak of: identifiers that parse once, account statuses and roles, sign-in methods,
//! TIQR and import states, and every reason a sign-in, a link or an import can be refused.
//!
//! This crate is the bottom layer: it imports nothing of Passerelle, has no database access (the
//! `sqlx` feature only derives the PostgreSQL enum mappings for the server) and compiles to
//! WebAssembly, so a page matches on the same enum the domain returned instead of on a string.

pub mod account;
pub mod activity;
pub mod audit;
pub mod card;
pub mod code;
pub mod directory;
pub mod ids;
pub mod import;
pub mod passkey;
pub mod password;
pub mod psc;
pub mod sign_in;
pub mod tiqr;
