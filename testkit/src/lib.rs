//! Test-only tools: the test PKI (`pki`) and the virtual CPx card (`vcard`) that answers the
//! vpcd reader driver of pcscd. Used by the integration tests and by `scripts/test.sh`.

pub mod pki;
pub mod vcard;
