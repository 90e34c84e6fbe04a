//! The network a client speaks from, as the limits count it: the brute-force counters per address
//! and the summaries of anonymous refusals both key on it.

/// The throttle key for a client address. An IPv6 client usually holds a whole /64, so the limit
/// applies to the /64, not to each of its 2^64 addresses.
pub fn key(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.parse::<std::net::IpAddr>().ok()) {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Some(ip) => ip.to_string(),
        None => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(
            key(Some("2001:db8:1:2:aaaa::1")),
            key(Some("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(key(Some("2001:db8:1:2::1")), key(Some("2001:db8:1:3::1")));
        assert_eq!(key(Some("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(key(Some("192.0.2.1")), "192.0.2.1");
        assert_eq!(key(None), "unknown");
    }
}
