use std::time::{Duration, Instant};

use crate::harness::{Agent, Lab, card, other_card};

#[test]
fn status_shows_the_readers_and_no_card() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let status = agent.status();
    assert!(status["revision"].as_u64().is_some(), "{status}");
    assert!(status["card"].is_null(), "{status}");
    let readers = status["readers"].as_array().unwrap();
    assert_eq!(readers.len(), 2, "vpcd opens two readers: {status}");
    assert_eq!(readers[0]["name"], "Virtual PCD 00 00");
    assert_eq!(readers[0]["card_present"], false);
    agent
        .sign("1234", crate::harness::NONCE)
        .error(409, "no_card");
}

#[test]
fn long_poll_wakes_up_on_insertion_then_removal() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let before = agent.status()["revision"].as_u64().unwrap();
    let card = card();

    let started = Instant::now();
    let inserted = std::thread::scope(|s| {
        let poll = s.spawn(|| agent.get(&format!("/v1/status?after={before}")));
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !poll.is_finished(),
            "the long poll waits while nothing changes"
        );
        let inserted = card.insert(lab.vpcd_port).unwrap();
        let status = poll.join().unwrap().json();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_ne!(status["revision"].as_u64().unwrap(), before);
        let card = &status["card"];
        assert_eq!(card["reader"], "Virtual PCD 00 00", "{status}");
        assert_eq!(card["holder"], "CLAIRE MARTIN");
        assert_eq!(card["national_id"], "810000123454");
        assert_eq!(card["card_type"], "CPS");
        assert_eq!(card["pin_tries_left"], 3);
        assert_eq!(card["pin_blocked"], false);
        assert!(card["not_after"].as_str().unwrap().ends_with('Z'));
        assert_eq!(status["readers"][0]["card_present"], true);
        inserted
    });

    let with_card = agent.status()["revision"].as_u64().unwrap();
    let started = Instant::now();
    std::thread::scope(|s| {
        let poll = s.spawn(|| agent.get(&format!("/v1/status?after={with_card}")));
        std::thread::sleep(Duration::from_millis(300));
        assert!(!poll.is_finished());
        inserted.remove();
        let status = poll.join().unwrap().json();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_ne!(status["revision"].as_u64().unwrap(), with_card);
        assert!(status["card"].is_null(), "{status}");
        assert_eq!(status["readers"][0]["card_present"], false);
    });
}

#[test]
fn pin_tries_survive_a_reinsertion() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let card = card();
    let inserted = card.insert(lab.vpcd_port).unwrap();
    agent.wait_card();
    agent
        .sign("0000", crate::harness::NONCE)
        .error(401, "pin_incorrect");
    inserted.remove();
    agent.status_until("the removal", |s| s["card"].is_null());
    let _inserted = card.insert(lab.vpcd_port).unwrap();
    let status = agent.wait_card();
    assert_eq!(status["card"]["pin_tries_left"], 2, "{status}");
}

#[test]
fn long_poll_answers_the_same_status_when_nothing_changes() {
    let lab = Lab::start();
    let agent = Agent::start_with(&lab.socket, &["--long-poll-seconds", "1"]);
    let before = agent.status();
    let started = Instant::now();
    let after = agent
        .get(&format!("/v1/status?after={}", before["revision"]))
        .json();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
    assert_eq!(after, before);
    agent.get("/v1/status?after=soon").error(400, "bad_request");
}

#[test]
fn the_card_is_found_in_any_reader_unless_one_is_configured() {
    let lab = Lab::start();
    // vpcd's second reader listens on the next port.
    let _inserted = card().insert(lab.vpcd_port + 1).unwrap();
    let agent = Agent::start(&lab);
    let status = agent.wait_card();
    assert_eq!(status["card"]["reader"], "Virtual PCD 00 01", "{status}");
    assert_eq!(status["readers"][1]["card_present"], true);

    let pinned = Agent::start_with(&lab.socket, &["--reader", "Virtual PCD 00 00"]);
    pinned.status_until("the card in the other reader", |s| {
        s["readers"][1]["card_present"] == true
    });
    assert!(pinned.status()["card"].is_null());
    pinned
        .sign(crate::harness::PIN, crate::harness::NONCE)
        .error(409, "no_card");
    let unknown = Agent::start_with(&lab.socket, &["--reader", "Lecteur absent"]);
    unknown
        .sign(crate::harness::PIN, crate::harness::NONCE)
        .error(409, "no_reader");
}

#[test]
fn another_card_shows_its_own_holder() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let martin = card().insert(lab.vpcd_port).unwrap();
    assert_eq!(agent.wait_card()["card"]["holder"], "CLAIRE MARTIN");
    martin.remove();
    agent.status_until("the removal", |s| s["card"].is_null());
    let _durand = other_card().insert(lab.vpcd_port).unwrap();
    let status = agent.wait_card();
    assert_eq!(status["card"]["holder"], "PAUL DURAND", "{status}");
    assert_eq!(status["card"]["national_id"], "810000234566");
}

#[test]
fn long_poll_wakes_up_when_a_signature_changes_the_pin_tries() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let _inserted = card().insert(lab.vpcd_port).unwrap();
    let before = agent.wait_card();
    std::thread::scope(|s| {
        let poll = s.spawn(|| agent.get(&format!("/v1/status?after={}", before["revision"])));
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        agent
            .sign("0000", crate::harness::NONCE)
            .error(401, "pin_incorrect");
        let status = poll.join().unwrap().json();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(status["card"]["pin_tries_left"], 2, "{status}");
        assert_ne!(status["revision"], before["revision"]);
    });
}

#[test]
fn a_long_poll_stops_when_its_client_goes_away() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let revision = agent.status()["revision"].clone();
    let mut client = std::net::TcpStream::connect(agent.addr).unwrap();
    let request = format!(
        "GET /v1/status?after={revision} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {}\r\n\r\n",
        crate::harness::ORIGIN
    );
    std::io::Write::write_all(&mut client, request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!agent.log().contains("long poll abandoned"));
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !agent.log().contains("long poll abandoned") {
        assert!(
            Instant::now() < deadline,
            "the poll still waits: {}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
