//! Passerelle's domain: the rules of accounts, sign-in, sessions and the audit log, with their SQL.
//! Free of HTTP and Leptos; every function that depends on the time takes it as a parameter.

pub mod accounts;
pub mod address;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod call;
pub mod cards;
pub mod db;
pub mod demo;
pub mod directory;
pub mod error;
pub mod import;
pub mod mail;
pub mod news;
pub mod password;
pub mod password_policy;
pub mod provisioning;
pub mod refusals;
pub mod routing;
pub mod sessions;
pub mod sign_in_policy;
pub mod text;
pub mod throttle;

pub use error::{Error, Result};
/// The identifiers that parse once live in the shared vocabulary (`model`), so that the pages
/// use them too; `domain::ids` stays their name here.
pub use model::ids;
