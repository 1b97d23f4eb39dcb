//! rustls client configuration from PEM files: an explicit CA bundle (air-gapped
//! sites have no system roots) and an optional client certificate for mutual TLS.
//! Shared by the MQTT source and the MQTT and webhook sinks.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `tls` of an MQTT source or sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM bundle of the CA(s) that signed the broker's certificate.
    pub ca_file: PathBuf,
    /// PEM client certificate for mutual TLS (with `key-file`).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message} (expected PEM)")]
    File { path: PathBuf, message: String },
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn file_err(path: &Path, e: &dyn std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Every certificate in a PEM file; an empty file is an error.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, &e))?;
    if certs.is_empty() {
        return Err(file_err(path, &"no certificate found"));
    }
    Ok(certs)
}

pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_err(path, &e))
}

/// The crypto provider edgewatch uses everywhere (ring: no C toolchain beyond cc).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config trusting only `tls.ca-file`, with the client certificate if set.
pub fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in certificates(&tls.ca_file)? {
        roots.add(ca)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            Ok(builder.with_client_auth_cert(certificates(cert)?, private_key(key)?)?)
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}
