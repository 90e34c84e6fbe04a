//! Test-only tools: the tests' PostgreSQL (`db`), the test PKI (`pki`) and the virtual CPx card
//! (`vcard`) that answers the vpcd reader driver of pcscd. Used by the integration tests (the
//! domain's and the HTTP edge's) and by `scripts/test.sh`.

pub mod db;
pub mod pki;
pub mod vcard;
