//! The command line's error type: what `passerelle` prints before exiting non-zero.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Domain(#[from] domain::Error),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("server stopped: {0}")]
    Serve(std::io::Error),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Trust(String),
    #[error("the audit log is broken at row {0}")]
    AuditBroken(i64),
}
