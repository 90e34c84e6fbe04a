//! Integration tests of the domain against a real PostgreSQL (one test binary: one link on 2 cores).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_matrix;
mod audit_chain;
mod bulk;
mod card_sign_in;
mod database_faults;
mod directory;
mod dormancy;
mod email_codes_and_links;
mod embedded_cluster;
mod hardening;
mod harness;
mod import;
mod import_uploads;
mod news;
mod own_activity;
mod passkeys;
mod password_sign_in;
mod psc;
mod refusal_summaries;
mod sessions_and_routing;
mod sign_in_means;
mod tiqr;
