//! Health, readiness and graceful shutdown of the real binary: `/healthz`,
//! `/readyz` (503 when every server of a pool is ejected, and while draining),
//! SIGTERM/SIGINT draining in-flight requests within the deadline and exiting 0.

mod ops;

use ops::{config, free_port, get, poll, Scrape, Shardcar, PATIENCE};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One pool, `alpha`, over one embedded shard.
fn one_shard() -> (tempfile::NamedTempFile, SocketAddr) {
    let port = free_port();
    let file = config(&format!(
        "alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 5000\n  \
         servers:\n    - embedded:1 shard-a\n"
    ));
    (file, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Sends `BLPOP list timeout` on a fresh connection and waits until the proxy
/// holds it in flight.
fn blocked_request(proxy: SocketAddr, admin: SocketAddr, timeout: &str) -> TcpStream {
    let mut client = TcpStream::connect(proxy).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    let request = format!(
        "*3\r\n$5\r\nBLPOP\r\n$5\r\nqueue\r\n${}\r\n{timeout}\r\n",
        timeout.len()
    );
    client.write_all(request.as_bytes()).unwrap();
    let in_flight = poll(|| {
        let scrape = Scrape::take(admin);
        (scrape.sum("shardcar_proxy_in_flight_requests", &[]) == 1.0).then_some(())
    });
    in_flight.expect("the BLPOP is in flight");
    client
}

/// What arrives on `client` until the server closes it.
fn read_to_close(client: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    let _ = client.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn sigterm_lets_in_flight_requests_finish_and_exits_0() {
    let (cfg, proxy) = one_shard();
    let mut proc = Shardcar::proxy(&cfg, &["--admin", "127.0.0.1:0", "--drain-timeout", "10s"]);
    let admin = proc.admin();
    proc.wait_ready(admin);
    assert_eq!(get(admin, "/healthz"), (200, "ok\n".into()));
    let sent = Instant::now();
    let mut client = blocked_request(proxy, admin, "2");
    proc.signal("TERM");

    // Draining: not ready, and no new connections; the admin port still answers.
    let draining = poll(|| {
        let (status, body) = get(admin, "/readyz");
        (status == 503).then_some(body)
    })
    .expect("/readyz turns 503 while draining");
    assert!(draining.contains("draining"), "{draining}");
    let refused = poll(|| TcpStream::connect(proxy).is_err().then_some(()));
    assert!(refused.is_some(), "the proxy still accepts connections");
    assert_eq!(get(admin, "/healthz").0, 200);

    // The request in flight gets its reply (a nil: BLPOP timed out), then the end.
    assert_eq!(read_to_close(&mut client), "*-1\r\n");
    let status = proc.wait_exit(PATIENCE);
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        proc.log()
    );
    assert!(
        sent.elapsed() >= Duration::from_millis(1500),
        "exited before the BLPOP ended"
    );
    let log = proc.log();
    assert!(log.contains("signal=\"SIGTERM\""), "{log}");
    assert!(log.contains("drained every client connection"), "{log}");
    assert!(!log.contains("drain deadline hit"), "{log}");
}

#[test]
fn the_drain_deadline_closes_what_is_left_with_a_warning_and_exits_0() {
    let (cfg, proxy) = one_shard();
    let mut proc = Shardcar::proxy(
        &cfg,
        &["--admin", "127.0.0.1:0", "--drain-timeout", "300ms"],
    );
    let admin = proc.admin();
    proc.wait_ready(admin);
    let mut client = blocked_request(proxy, admin, "0"); // blocks for ever
    let signalled = Instant::now();
    proc.signal("TERM");
    let status = proc.wait_exit(PATIENCE);
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        proc.log()
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "the deadline was not kept"
    );
    assert!(proc.log().contains("drain deadline hit"), "{}", proc.log());
    assert_eq!(
        read_to_close(&mut client),
        "",
        "the connection is closed without a reply"
    );
}

#[test]
fn sigint_on_an_idle_proxy_exits_0_at_once() {
    let (cfg, proxy) = one_shard();
    let mut proc = Shardcar::proxy(&cfg, &["--admin", "127.0.0.1:0"]);
    let admin = proc.admin();
    proc.wait_ready(admin);
    // An idle client does not hold the drain up: it is told the end at once.
    let mut idle = TcpStream::connect(proxy).unwrap();
    idle.set_read_timeout(Some(PATIENCE)).unwrap();
    idle.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let mut pong = [0u8; 7];
    idle.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    let signalled = Instant::now();
    proc.signal("INT");
    let status = proc.wait_exit(PATIENCE);
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        proc.log()
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "the idle client held the drain up"
    );
    assert!(proc.log().contains("signal=\"SIGINT\""), "{}", proc.log());
    assert_eq!(read_to_close(&mut idle), "");
}

#[test]
fn readyz_is_503_while_every_server_of_a_pool_is_ejected() {
    let live = free_port();
    let dead = free_port();
    let (gone_a, gone_b) = (free_port(), free_port()); // nothing listens there
    let cfg = config(&format!(
        "live:\n  listen: 127.0.0.1:{live}\n  redis: true\n  servers:\n    - embedded:1 shard-a\n\
         dead:\n  listen: 127.0.0.1:{dead}\n  redis: true\n  timeout: 500\n  auto_eject_hosts: true\n  \
         server_failure_limit: 1\n  server_retry_timeout: 2000\n  servers:\n    \
         - 127.0.0.1:{gone_a}:1 gone-a\n    - 127.0.0.1:{gone_b}:1 gone-b\n"
    ));
    let proc = Shardcar::proxy(&cfg, &["--admin", "127.0.0.1:0"]);
    let admin = proc.admin();
    proc.wait_ready(admin);

    // Requests to the dead pool fail, and each failure ejects its server.
    let mut client = TcpStream::connect(("127.0.0.1", dead)).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    let ejected = poll(|| {
        for i in 0..8 {
            let key = format!("key:{i}");
            let request = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
            client.write_all(request.as_bytes()).unwrap();
            let mut line = [0u8; 1];
            client.read_exact(&mut line).unwrap();
            assert_eq!(line[0], b'-', "GET on a dead pool is an error");
            let mut rest = Vec::new();
            while !rest.ends_with(b"\r\n") {
                client.read_exact(&mut line).unwrap();
                rest.push(line[0]);
            }
        }
        let (status, body) = get(admin, "/readyz");
        (status == 503).then_some(body)
    })
    .unwrap_or_else(|| panic!("/readyz never turned 503; log:\n{}", proc.log()));
    assert!(
        ejected.contains("pool 'dead' has no live server"),
        "{ejected}"
    );
    assert!(!ejected.contains("'live'"), "{ejected}");
    assert_eq!(get(admin, "/healthz").0, 200, "alive all the same");
    let scrape = Scrape::take(admin);
    for server in ["gone-a", "gone-b"] {
        let labels = [("pool", "dead"), ("server", server)];
        assert_eq!(
            scrape.sum("shardcar_proxy_server_ejected", &labels),
            1.0,
            "{server}"
        );
        assert_eq!(
            scrape.sum("shardcar_proxy_server_ejections_total", &labels),
            1.0
        );
        assert!(scrape.sum("shardcar_proxy_server_errors_total", &labels) >= 1.0);
    }
    assert_eq!(
        scrape.sum("shardcar_proxy_server_ejected", &[("pool", "live")]),
        0.0
    );
    let page = get(admin, "/").1;
    assert!(
        page.contains("<td>gone-a</td>") && page.contains("ejected"),
        "{page}"
    );
    let line = proc.wait_log("server ejected");
    assert!(
        line.contains("pool=dead") && line.contains("retry_ms=2000"),
        "{line}"
    );

    // After server_retry_timeout the servers are due back: ready again as soon as
    // one is (each probe re-admits those due, as a request would).
    let back = poll(|| (get(admin, "/readyz").0 == 200).then_some(()));
    assert!(back.is_some(), "never ready again; log:\n{}", proc.log());
    proc.wait_log("server re-admitted");
    let dead = [("pool", "dead")];
    let both = poll(|| {
        get(admin, "/readyz");
        let scrape = Scrape::take(admin);
        let readmitted = scrape.sum("shardcar_proxy_server_readmissions_total", &dead);
        (readmitted == 2.0).then_some(scrape)
    })
    .expect("both servers are re-admitted");
    assert_eq!(both.sum("shardcar_proxy_server_ejected", &dead), 0.0);
}
