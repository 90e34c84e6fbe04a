//! Command line, with environment fallbacks.

use std::net::SocketAddr;

use clap::Parser;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:24231";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "passerelle-agent",
    about = "Agent de carte CPx de Passerelle : permet à la page du portail de signer un défi \
             avec la carte insérée dans le lecteur (HTTP sur l'adresse locale uniquement)."
)]
pub struct Config {
    /// Loopback address and port to listen on (127.0.0.1 or ::1 only).
    #[arg(long, env = "PASSERELLE_AGENT_LISTEN", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Origin of the portal allowed to use the agent, exactly as the browser sends it
    /// (`https://portail.example.fr`, `http://127.0.0.1:3000`); repeat or separate with commas.
    #[arg(long = "origin", env = "PASSERELLE_AGENT_ORIGINS", value_delimiter = ',', required = true, value_parser = parse_origin)]
    pub origins: Vec<String>,
    /// Reader to use (its PC/SC name); by default the first reader holding a card.
    #[arg(long, env = "PASSERELLE_AGENT_READER")]
    pub reader: Option<String>,
    /// Seconds `GET /v1/status?after=` waits for a change (tests shorten it).
    #[arg(long, default_value_t = 20, hide = true)]
    pub long_poll_seconds: u64,
}

fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = value
        .parse()
        .map_err(|e| format!("{value}: not an address:port ({e})"))?;
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "{value}: the agent listens on a loopback address only (127.0.0.1 or [::1]): \
             the card must never be reachable from the network"
        ))
    }
}

/// `scheme://host[:port]`, nothing more: the browser's `Origin` header is compared to it exactly.
fn parse_origin(value: &str) -> Result<String, String> {
    let origin = value.trim().to_ascii_lowercase();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("{value}: an origin starts with https:// or http://"))?;
    let valid = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        && !rest.starts_with(':')
        && !rest.ends_with(':');
    if valid {
        Ok(origin)
    } else {
        Err(format!(
            "{value}: expected scheme://host[:port] (no path, no trailing slash)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("passerelle-agent").chain(args.iter().copied()))
    }

    #[test]
    fn origins_are_exact_and_listing_is_loopback_only() {
        let c = parse(&[
            "--origin",
            "https://Portail.example.fr,http://127.0.0.1:3000",
        ])
        .unwrap();
        assert_eq!(
            c.origins,
            ["https://portail.example.fr", "http://127.0.0.1:3000"]
        );
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert!(parse(&["--origin", "https://a.fr", "--listen", "[::1]:9"]).is_ok());
        let e = parse(&["--origin", "https://a.fr", "--listen", "0.0.0.0:24231"]).unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        for bad in [
            "portail.example.fr",
            "https://a.fr/",
            "https://a.fr/x",
            "https://",
            "*",
        ] {
            assert!(parse(&["--origin", bad]).is_err(), "{bad}");
        }
        assert!(parse(&[]).is_err(), "origin is required");
    }
}
