//! Downloads with checksum verification, against a local HTTP server on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpListener;

use overunlearn::data::download;

/// Serves `body` at `/good.tar.gz` (and 404 elsewhere) for `requests` requests.
fn serve(body: Vec<u8>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 2048];
            let n = stream.read(&mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]);
            let response = if request.starts_with("GET /good.tar.gz ") {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                r
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            stream.write_all(&response).unwrap();
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_verified_download_is_saved_and_a_corrupt_one_is_discarded() {
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let md5 = {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, &body).unwrap();
        download::file_md5(&p).unwrap()
    };
    let base = serve(body.clone(), 3);
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    let path = download::fetch(
        &format!("{base}/good.tar.gz"),
        &md5,
        dir.path(),
        "a.tar.gz",
        |n, total| {
            assert_eq!(total, Some(100_000));
            seen = n;
        },
    )
    .unwrap();
    assert_eq!(seen, 100_000);
    assert_eq!(std::fs::read(&path).unwrap(), body);

    let wrong = "0".repeat(32);
    let e = download::fetch(
        &format!("{base}/good.tar.gz"),
        &wrong,
        dir.path(),
        "b.tar.gz",
        |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("checksum mismatch") && e.contains(&md5), "{e}");
    assert!(!dir.path().join("b.tar.gz").exists() && !dir.path().join("b.tar.gz.part").exists());

    let e = download::fetch(
        &format!("{base}/missing.tar.gz"),
        &md5,
        dir.path(),
        "c.tar.gz",
        |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing.tar.gz") && e.contains("404"), "{e}");
}

#[test]
fn official_archives_can_come_from_a_mirror() {
    let archive = overunlearn::data::DatasetKind::Cifar10.archive();
    assert_eq!(
        archive.url_from(None),
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    );
    assert_eq!(
        archive.url_from(Some("http://127.0.0.1:8000/")),
        "http://127.0.0.1:8000/cifar-10-binary.tar.gz"
    );
}
