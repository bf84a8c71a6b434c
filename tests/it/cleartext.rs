//! A PostgreSQL password never leaves in clear text over a channel that does not prove who the server is.
//!
//! The local PostgreSQL would need its `pg_hba.conf` edited (method `password`) to ask for a cleartext password,
//! so this test speaks the one protocol step itself: a small server on loopback that reads the start-up message,
//! answers `N` to a TLS request, asks for the password in clear text (`AuthenticationCleartextPassword`) and
//! records every byte the client sends after that. The twin is tokio-postgres alone, which does send it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use polystoreiq_protocol::secret::{Credential, Secret};
use polystoreiq_protocol::types::{DbTarget, SourceKind, TlsMode};
use polystoreiq_protocol::worker::{DbAction, DbJob, Job, WorkerError};

use crate::support::run_worker_job;

const PASSWORD: &str = "psiq-cleartext-sentinel-7f3a91";
/// The start-up code of a TLS request (`SSLRequest`).
const TLS_REQUEST: u32 = 80_877_103;

/// A one-connection server that asks for the password in clear text; `received` is what the client sent after
/// the request.
struct CleartextServer {
    port: u16,
    received: mpsc::Receiver<Vec<u8>>,
}

impl CleartextServer {
    fn start() -> CleartextServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, received) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut code = read_startup(&mut stream);
            if code == TLS_REQUEST {
                stream.write_all(b"N").unwrap();
                code = read_startup(&mut stream);
            }
            assert_eq!(code, 196_608, "a protocol 3.0 start-up message");
            // AuthenticationCleartextPassword: 'R', length 8, code 3.
            stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).unwrap();
            let mut after = Vec::new();
            let mut buf = [0u8; 4096];
            // Until the client hangs up (or sends nothing for the read timeout).
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                after.extend_from_slice(&buf[..n]);
            }
            let _ = tx.send(after);
        });
        CleartextServer { port, received }
    }

    fn received(&self) -> Vec<u8> {
        self.received.recv_timeout(Duration::from_secs(10)).expect("the server saw the client go")
    }
}

/// Reads one start-up message (length, then a code and the rest); its code.
fn read_startup(stream: &mut TcpStream) -> u32 {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
    stream.read_exact(&mut body).unwrap();
    u32::from_be_bytes([body[0], body[1], body[2], body[3]])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn postgres_refuses_to_send_the_password_in_clear_text_without_a_verified_certificate() {
    for tls in [TlsMode::Disable, TlsMode::Prefer] {
        let server = CleartextServer::start();
        let run = run_worker_job(Job::Database(DbJob {
            kind: SourceKind::Postgres,
            target: DbTarget {
                host: "127.0.0.1".into(),
                port: server.port,
                database: "psiq".into(),
                user: "psiq_user".into(),
                tls,
            },
            password: Some(Credential(Secret::new(PASSWORD))),
            action: DbAction::Test,
        }));
        let after = server.received();
        assert!(!contains(&after, PASSWORD.as_bytes()), "{tls:?}: the password went out: {after:?}");
        assert!(after.is_empty(), "{tls:?}: the client sent nothing after the request: {after:?}");
        match run.failure() {
            Some(err @ WorkerError::AuthFailed(message)) => {
                assert_eq!(err.code().as_str(), "auth_failed");
                assert!(message.contains("clear text") && message.contains("scram-sha-256"), "{message}");
                assert!(!message.contains(PASSWORD), "{message}");
            }
            other => panic!("{tls:?}: expected auth_failed, got {other:?}; stderr: {}", run.stderr),
        }
    }
}

#[test]
fn the_driver_alone_would_send_the_password_in_clear_text() {
    let server = CleartextServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let connected = runtime.block_on(async {
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(server.port).user("psiq_user").dbname("psiq").password(PASSWORD);
        config.connect(tokio_postgres::NoTls).await.map(|_| ())
    });
    assert!(connected.is_err(), "the server never says AuthenticationOk");
    let after = server.received();
    assert!(contains(&after, PASSWORD.as_bytes()), "without the watch the password leaves in clear text");
}
