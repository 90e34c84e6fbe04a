//! "Mes connexions": where a sign-in came from, as far as its address tells without any outside
//! service.

use serde::{Deserialize, Serialize};

/// The approximate place of an address: its kind of network, and for a public one its prefix
/// (the network it belongs to; the holder recognises their establishment's or their provider's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    /// The machine the portal runs on (127.0.0.0/8, ::1).
    ThisMachine,
    /// A private network: an establishment's, a VPN's (10/8, 172.16/12, 192.168/16, 100.64/10,
    /// fc00::/7, fe80::/10).
    PrivateNetwork,
    /// A public network, by its prefix: `203.0.113.0/24`, `2001:db8:12::/48`.
    Network(String),
    /// No address was recorded, or it does not read as one.
    Unknown,
}

impl Place {
    /// The place of `ip` (as the audit log and the sessions store it).
    pub fn of(ip: Option<&str>) -> Place {
        let Some(ip) = ip.and_then(|s| s.trim().parse::<std::net::IpAddr>().ok()) else {
            return Place::Unknown;
        };
        match ip {
            std::net::IpAddr::V4(v4) => {
                let o = v4.octets();
                if v4.is_loopback() {
                    Place::ThisMachine
                } else if v4.is_private()
                    || v4.is_link_local()
                    || (o[0] == 100 && (o[1] & 0xc0) == 64)
                {
                    Place::PrivateNetwork
                } else {
                    Place::Network(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
                }
            }
            std::net::IpAddr::V6(v6) => {
                let s = v6.segments();
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return Place::of(Some(&v4.to_string()));
                }
                if v6.is_loopback() {
                    Place::ThisMachine
                } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 {
                    Place::PrivateNetwork
                } else {
                    Place::Network(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
                }
            }
        }
    }
}

/// A browser and its system, from its `User-Agent`, as a person names them ("Chrome 131 ·
/// Windows"); `None` when nothing is recognised. A rough reading, on purpose: what the holder
/// needs is to tell their own browsers from someone else's.
pub fn browser_of(user_agent: Option<&str>) -> Option<String> {
    let ua = user_agent?;
    let version = |name: &str| -> Option<String> {
        let rest = &ua[ua.find(name)? + name.len()..];
        let v: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!v.is_empty()).then_some(v)
    };
    // Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Version/", "Safari"),
    ]
    .iter()
    .find_map(|(token, name)| version(token).map(|v| format!("{name} {v}")))
    .or_else(|| ua.contains("Safari/").then(|| "Safari".to_string()));
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} · {s}")),
        (Some(b), None) => Some(b),
        (None, Some(s)) => Some(s.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_from_addresses() {
        assert_eq!(Place::of(Some("127.0.0.1")), Place::ThisMachine);
        assert_eq!(Place::of(Some("::1")), Place::ThisMachine);
        assert_eq!(Place::of(Some("10.20.30.40")), Place::PrivateNetwork);
        assert_eq!(Place::of(Some("192.168.1.7")), Place::PrivateNetwork);
        assert_eq!(Place::of(Some("100.72.1.1")), Place::PrivateNetwork);
        assert_eq!(Place::of(Some("fd12:3456::1")), Place::PrivateNetwork);
        assert_eq!(
            Place::of(Some("203.0.113.77")),
            Place::Network("203.0.113.0/24".into())
        );
        assert_eq!(
            Place::of(Some("2001:db8:12:34::5")),
            Place::Network("2001:db8:12::/48".into())
        );
        assert_eq!(
            Place::of(Some("::ffff:198.51.100.9")),
            Place::Network("198.51.100.0/24".into())
        );
        assert_eq!(Place::of(None), Place::Unknown);
        assert_eq!(Place::of(Some("not an address")), Place::Unknown);
    }

    #[test]
    fn browsers_as_people_name_them() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(
            browser_of(Some(chrome)).as_deref(),
            Some("Chrome 156 · Linux")
        );
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(
            browser_of(Some(edge)).as_deref(),
            Some("Edge 131 · Windows")
        );
        let firefox =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0";
        assert_eq!(
            browser_of(Some(firefox)).as_deref(),
            Some("Firefox 132 · macOS")
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(
            browser_of(Some(iphone)).as_deref(),
            Some("Safari 18 · iPhone")
        );
        assert_eq!(browser_of(Some("curl/8.5.0")), None);
        assert_eq!(browser_of(None), None);
    }
}
