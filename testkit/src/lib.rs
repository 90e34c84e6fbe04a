//! Test-only tools: a software passkey authenticator (`authenticator`), the tests' PostgreSQL (`db`), files of the national directory (`directory`), the test PKI (`pki`) and the virtual CPx card
//! (`vcard`) that answers the vpcd reader driver of pcscd. Used by the integration tests (the
//! domain's and the HTTP edge's) and by `scripts/test.sh`.

pub mod authenticator;
pub mod db;
pub mod directory;
pub mod pki;
pub mod vcard;
