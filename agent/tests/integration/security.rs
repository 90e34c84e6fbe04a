use crate::harness::{Agent, Lab, NONCE, ORIGIN, PIN, card, request};

#[test]
fn unknown_or_missing_origin_is_refused_without_cors_headers() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let card = card();
    let _inserted = card.insert(lab.vpcd_port).unwrap();
    agent.wait_card();

    let body = format!("{{\"pin\":\"{PIN}\",\"nonce\":\"{NONCE}\"}}");
    for headers in [
        &[("Origin", "https://evil.example")][..],
        &[][..],
        &[("Origin", "null")][..],
    ] {
        for (method, path) in [
            ("GET", "/v1/status"),
            ("POST", "/v1/sign"),
            ("OPTIONS", "/v1/sign"),
        ] {
            let response = agent.request(method, path, headers, Some(&body));
            response.error(403, "origin_refused");
            assert!(
                response
                    .headers
                    .iter()
                    .all(|(name, _)| !name.starts_with("access-control-")),
                "{method} {path} {headers:?}: {:?}",
                response.headers
            );
        }
    }
    // Same origin but another port is another origin.
    agent
        .request(
            "GET",
            "/v1/status",
            &[("Origin", "http://127.0.0.1:3901")],
            None,
        )
        .error(403, "origin_refused");
    assert_eq!(card.tries_left(), 3, "no refused request reached the card");
}

#[test]
fn non_loopback_host_is_refused() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let response = request(
        agent.addr,
        "GET",
        "/v1/status",
        "attacker.example:24231",
        &[("Origin", ORIGIN)],
        None,
    );
    response.error(403, "host_refused");
    assert_eq!(response.header("access-control-allow-origin"), None);
    let ok = request(
        agent.addr,
        "GET",
        "/v1/status",
        "localhost:24231",
        &[("Origin", ORIGIN)],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[test]
fn preflight_allows_the_portal_and_private_network_access() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let response = agent.request(
        "OPTIONS",
        "/v1/sign",
        &[
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
            ("Access-Control-Request-Private-Network", "true"),
        ],
        None,
    );
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        response.header("access-control-allow-private-network"),
        Some("true")
    );
    assert_eq!(response.header("vary"), Some("Origin"));
    assert!(
        response
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(response.header("access-control-max-age"), Some("600"));

    let plain = agent.request("OPTIONS", "/v1/status", &[("Origin", ORIGIN)], None);
    assert_eq!(plain.status, 204);
    assert_eq!(plain.header("access-control-allow-private-network"), None);
    let get = agent.get("/v1/status");
    assert_eq!(get.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(get.header("vary"), Some("Origin"));
}

#[test]
fn no_pcsc_service_is_503() {
    let dir = std::env::temp_dir().join(format!(
        "passerelle-agent-it-{}-nopcscd",
        std::process::id()
    ));
    let agent = Agent::start_with(&dir.join("pcscd.comm"), &[]);
    agent.get("/v1/status").error(503, "no_service");
    agent.get("/v1/status?after=1").error(503, "no_service");
    agent.sign(PIN, NONCE).error(503, "no_service");
}
