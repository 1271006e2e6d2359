//! A throw-away CA and a server certificate for `localhost` / 127.0.0.1
//! signed by it, made with the `openssl` CLI (`./scripts/test` makes sure
//! it is installed), for the TLS tests' servers.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files `make` wrote.
pub struct Certs {
    /// The CA's certificate: what a client trusts (`ca_file`).
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Writes `ca.pem` (and `ca.key`), `cert.pem` and `key.pem` into `dir`.
pub fn make(dir: &Path) -> Certs {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("the openssl CLI is needed for the TLS tests ({e}): run ./scripts/test")
            });
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let subject = |cn: &'static str| ["-subj", cn];
    run(&[
        &["req", "-x509"][..],
        &ec[..],
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
        &subject("/CN=fapilog test CA"),
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec[..],
        &["-keyout", "key.pem", "-out", "server.csr"],
        &subject("/CN=localhost"),
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}
