//! The TLS client configuration of the HTTP-family sinks, OTLP over gRPC
//! and syslog: rustls with the *ring* provider, trusting either Mozilla's
//! roots (`webpki-roots`) or, with `ca_file`, only the CA certificates of
//! that PEM file (a private CA).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;

use crate::config::ConfigError;

/// The client configuration; a `ca_file` that cannot be read or holds no
/// usable PEM certificate is an error naming `ca_file` and the path.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, ConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let bad =
                |why: String| ConfigError::invalid("ca_file", &path.display().to_string(), &why);
            let pem = std::fs::read(path).map_err(|e| bad(format!("a readable PEM file ({e})")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("PEM CA certificates ({e})")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("usable CA certificates ({e})")))?;
            }
            if roots.is_empty() {
                return Err(bad("PEM CA certificates (none in it)".to_owned()));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Setup(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_or_not_pem_is_named_with_its_path() {
        let dir = std::env::temp_dir().join(format!("fapilog-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(
            err.contains("ca_file") && err.contains("missing.pem"),
            "{err}"
        );
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let err = client_config(Some(&junk)).unwrap_err().to_string();
        assert!(
            err.contains("ca_file") && err.contains("none in it"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(client_config(None).is_ok());
    }
}
