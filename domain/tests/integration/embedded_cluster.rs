//! The private PostgreSQL clusters that the no-configuration server and the tests start: when one
//! cannot start, the error says why (its log), instead of pg_ctl's "examine the log output".

use domain::db::embedded::EmbeddedPostgres;

use crate::harness::PrivateCluster;

#[test]
fn a_cluster_that_cannot_start_reports_its_log() {
    let private = PrivateCluster::start();
    let cluster = private.cluster();
    cluster.stop_now().unwrap();
    // A setting PostgreSQL refuses at start: the postmaster exits, and says why in its log only.
    let conf = cluster.root().join("pgdata/postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nshared_buffers = 'beaucoup'\n");
    std::fs::write(&conf, text).unwrap();

    let err = EmbeddedPostgres::start(cluster.root(), false)
        .expect_err("a server with a bad setting must not start");
    let message = err.to_string();
    assert!(
        message.contains(r#"invalid value for parameter "shared_buffers""#),
        "the cluster's log is not in the error: {message}"
    );
    assert!(message.contains("postgres.log"), "{message}");
    // The log is still there after the failure.
    let log = std::fs::read_to_string(cluster.root().join("postgres.log")).unwrap();
    assert!(log.contains("shared_buffers"));
}

#[test]
fn clusters_started_side_by_side_each_get_a_port_of_their_own() {
    let clusters: Vec<PrivateCluster> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(PrivateCluster::start)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = clusters.iter().map(|c| c.cluster().port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    // Below the kernel's ephemeral range, where client sockets cannot take them meanwhile.
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let low: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
    assert!(ports.iter().all(|p| *p < low), "{ports:?} vs {low}");
}
