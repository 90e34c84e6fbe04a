use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, sha2::Sha256};
use sha2::Digest;

use crate::harness::{Agent, Lab, NONCE, ORIGIN, PIN, card, holder};

fn message(origin: &str, nonce: &str) -> Vec<u8> {
    let mut m = sha2::Sha256::digest(origin.as_bytes()).to_vec();
    m.extend_from_slice(&sha2::Sha256::digest(nonce.as_bytes()));
    m
}

#[test]
fn signature_verifies_with_the_certificate_key_for_this_origin_only() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let _inserted = card().insert(lab.vpcd_port).unwrap();
    agent.wait_card();

    let response = agent.sign(PIN, NONCE);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    let json = response.json();
    assert_eq!(json["algorithm"], "RS256");
    let certificate = STANDARD
        .decode(json["certificate"].as_str().unwrap())
        .unwrap();
    assert_eq!(certificate, holder().cert_der);
    let signature = STANDARD
        .decode(json["signature"].as_str().unwrap())
        .unwrap();
    assert_eq!(signature.len(), 256);

    let key = RsaPrivateKey::from_pkcs8_der(&holder().key_pkcs8_der)
        .unwrap()
        .to_public_key();
    let verifying = VerifyingKey::<Sha256>::new(key);
    let signature = Signature::try_from(signature.as_slice()).unwrap();
    verifying
        .verify(&message(ORIGIN, NONCE), &signature)
        .unwrap();
    assert!(
        verifying
            .verify(&message("https://evil.example", NONCE), &signature)
            .is_err()
    );
    assert!(
        verifying
            .verify(&message(ORIGIN, &NONCE.replace('q', "r")), &signature)
            .is_err()
    );

    // The PIN verification did not outlive the signature: the card was reset.
    assert_eq!(agent.status()["card"]["pin_tries_left"], 3);
}

#[test]
fn wrong_pins_count_down_then_block_the_card() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let card = card();
    let _inserted = card.insert(lab.vpcd_port).unwrap();
    agent.wait_card();

    let first = agent.sign("0000", NONCE).error(401, "pin_incorrect");
    assert_eq!(first["pin_tries_left"], 2);
    assert_eq!(
        first["message"],
        "Code porteur incorrect : il reste 2 essais avant le blocage de la carte."
    );
    assert_eq!(agent.status()["card"]["pin_tries_left"], 2);
    assert_eq!(
        agent.sign("97531864", NONCE).error(401, "pin_incorrect")["pin_tries_left"],
        1
    );
    // The PIN leaves no trace in the logs, neither as text nor as the VERIFY command's bytes.
    assert!(!agent.log().contains("97531864"));
    assert!(
        !lab.pcscd_log()
            .replace(' ', "")
            .contains("3937353331383634")
    );
    assert!(
        agent.log().contains("wrong PIN, 1 tries left"),
        "the log is read: {}",
        agent.log()
    );
    let blocked = agent.sign("5678", NONCE).error(423, "pin_blocked");
    assert_eq!(blocked["pin_tries_left"], 0);
    assert!(blocked["message"].as_str().unwrap().contains("PUK"));
    assert_eq!(card.tries_left(), 0);

    let status = agent.status();
    assert_eq!(status["card"]["pin_blocked"], true, "{status}");
    assert_eq!(status["card"]["pin_tries_left"], 0);
    // Even the right PIN is refused now.
    agent.sign(PIN, NONCE).error(423, "pin_blocked");
}

#[test]
fn the_right_pin_restores_the_tries() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let card = card();
    let _inserted = card.insert(lab.vpcd_port).unwrap();
    agent.wait_card();

    agent.sign("0000", NONCE).error(401, "pin_incorrect");
    agent.sign("0001", NONCE).error(401, "pin_incorrect");
    assert_eq!(card.tries_left(), 1);
    assert_eq!(agent.sign(PIN, NONCE).status, 200);
    assert_eq!(card.tries_left(), 3);
    assert_eq!(agent.status()["card"]["pin_tries_left"], 3);
}

#[test]
fn malformed_pin_or_nonce_never_reaches_the_card() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let card = card();
    let _inserted = card.insert(lab.vpcd_port).unwrap();
    agent.wait_card();

    for pin in ["123", "123456789", "12a4", ""] {
        agent.sign(pin, NONCE).error(400, "pin_format");
    }
    for nonce in ["short", &"a".repeat(129), &format!("{}+/=", "a".repeat(40))] {
        agent.sign(PIN, nonce).error(400, "nonce_format");
    }
    let garbage = agent.request(
        "POST",
        "/v1/sign",
        &[("Origin", ORIGIN), ("Content-Type", "application/json")],
        Some("{\"pin\": 1234"),
    );
    garbage.error(400, "bad_request");
    assert_eq!(card.tries_left(), 3);
    assert_eq!(agent.status()["card"]["pin_tries_left"], 3);
}

#[test]
fn card_pulled_out_during_the_signature() {
    let lab = Lab::start();
    let agent = Agent::start(&lab);
    let inserted = card().insert(lab.vpcd_port).unwrap();
    agent.wait_card();

    inserted.remove_on_next_authenticate();
    agent.sign(PIN, NONCE).error(409, "card_removed");
    assert!(inserted.is_removed());
    let status = agent.status_until("the removal", |s| s["card"].is_null());
    assert_eq!(status["readers"][0]["card_present"], false);
}
