//! Passerelle's local card agent: a loopback HTTP service through which the portal's page (and
//! only the configured portal origins) reads the CPx card's status and has the card sign
//! `SHA-256(origin) || SHA-256(nonce)` after the holder typed the PIN.

pub mod apdu;
pub mod card;
pub mod certificate;
pub mod config;
pub mod error;
pub mod http;
pub mod pcsc_reader;

use std::sync::Arc;

/// Serves the agent on `listener` until `shutdown` completes.
pub async fn serve(
    config: config::Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let pcsc = Arc::new(pcsc_reader::Pcsc::new(config.reader.clone()));
    let long_poll = std::time::Duration::from_secs(config.long_poll_seconds);
    let app = http::router(config.origins, pcsc, long_poll);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
