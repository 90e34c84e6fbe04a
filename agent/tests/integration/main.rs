//! The agent through the real stack: private pcscd + vpcd reader + virtual card + agent binary.
// The harness is test code outside `#[test]` functions, where clippy.toml's allowance stops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod security;
mod sign;
mod status;
