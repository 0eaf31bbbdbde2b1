//! Free ports for the servers tests start.
#![allow(unreachable_pub)]

use std::net::TcpListener;
use std::sync::Mutex;

/// A port nothing listens on right now (the OS's choice, so never 6379). The
/// kernel may hand a just-released port out again: this never gives the same one
/// twice in a test process, or two children would race for it.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
