//! DSSE envelopes signed with Ed25519, and the key files.
//!
//! The envelope is `{"payload": <base64>, "payloadType": …, "signatures": [{"keyid", "sig"}]}`
//! and each signature is over `PAE(payloadType, payload)` =
//! `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload` (lengths as ASCII decimal byte
//! counts, the payload raw, not base64). Base64 is the standard alphabet with padding; the
//! URL-safe alphabet is accepted when reading, as the DSSE protocol allows. `keyid` is the
//! lowercase hex sha256 of the public key's DER `SubjectPublicKeyInfo`: a hint for choosing a
//! key, never trusted on its own (verification tries the given key against every signature).
//!
//! Key files are PEM: the private key as PKCS#8 (`-----BEGIN PRIVATE KEY-----`, written mode
//! 0600), the public key as SPKI (`-----BEGIN PUBLIC KEY-----`), so OpenSSL and other
//! standard programs read them.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::release_evidence::artifacts::sha256_hex;

/// The payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The private key file `keygen` writes.
pub const PRIVATE_KEY_FILE: &str = "release-signing-key.pem";
/// The public key file `keygen` writes.
pub const PUBLIC_KEY_FILE: &str = "release-signing-key.pub.pem";

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The payload, base64.
    pub payload: String,
    /// [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signatures; empty for an unsigned release.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// Which key signed (a hint).
    #[serde(default)]
    pub keyid: String,
    /// The 64-byte Ed25519 signature, base64.
    pub sig: String,
}

/// Why an envelope or a key file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DsseError {
    /// The envelope is not DSSE JSON.
    Malformed(String),
    /// Another payload type.
    PayloadType(String),
    /// The payload is not base64.
    PayloadEncoding(String),
    /// No signature at all.
    Unsigned,
    /// No signature verifies with the key.
    BadSignature {
        /// The key tried.
        keyid: String,
        /// How many signatures there were.
        signatures: usize,
    },
    /// A key file cannot be read or is not a key of the expected kind.
    Key {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
}

impl std::fmt::Display for DsseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(detail) => write!(f, "the envelope is not a DSSE envelope: {detail}"),
            Self::PayloadType(found) => write!(
                f,
                "the envelope's payloadType is {found:?}, expected {PAYLOAD_TYPE:?}"
            ),
            Self::PayloadEncoding(detail) => {
                write!(f, "the envelope's payload is not base64: {detail}")
            }
            Self::Unsigned => f.write_str(
                "the envelope has no signature: the release is unsigned (pass --allow-unsigned \
                 to accept it knowingly)",
            ),
            Self::BadSignature { keyid, signatures } => write!(
                f,
                "none of the envelope's {signatures} signature(s) verifies with public key \
                 {keyid}: the payload was changed after signing, or another key signed it"
            ),
            Self::Key { path, detail } => write!(f, "key file {path}: {detail}"),
        }
    }
}

impl std::error::Error for DsseError {}

/// `PAE(payload_type, payload)`: the bytes a DSSE signature covers.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// The keyid of `key`: lowercase hex sha256 of its DER `SubjectPublicKeyInfo`.
#[must_use]
pub fn keyid(key: &VerifyingKey) -> String {
    key.to_public_key_der().map_or_else(
        |_| sha256_hex(key.as_bytes()),
        |der| sha256_hex(der.as_bytes()),
    )
}

fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text).or_else(|_| URL_SAFE.decode(text))
}

impl Envelope {
    /// An envelope of `payload` with no signature.
    #[must_use]
    pub fn unsigned(payload: &[u8]) -> Self {
        Self {
            payload: STANDARD.encode(payload),
            payload_type: PAYLOAD_TYPE.to_owned(),
            signatures: Vec::new(),
        }
    }

    /// An envelope of `payload` signed with `key`.
    #[must_use]
    pub fn signed(payload: &[u8], key: &SigningKey) -> Self {
        let mut envelope = Self::unsigned(payload);
        envelope.add_signature(payload, key);
        envelope
    }

    /// Adds `key`'s signature over `payload` (which must be this envelope's payload).
    pub fn add_signature(&mut self, payload: &[u8], key: &SigningKey) {
        let signature = key.sign(&pae(&self.payload_type, payload));
        self.signatures.push(EnvelopeSignature {
            keyid: keyid(&key.verifying_key()),
            sig: STANDARD.encode(signature.to_bytes()),
        });
    }

    /// Parses envelope JSON.
    ///
    /// # Errors
    /// When it is not a DSSE envelope of [`PAYLOAD_TYPE`] with a base64 payload.
    pub fn parse(bytes: &[u8]) -> Result<Self, DsseError> {
        let envelope: Self = serde_json::from_slice(bytes)
            .map_err(|error| DsseError::Malformed(error.to_string()))?;
        if envelope.payload_type != PAYLOAD_TYPE {
            return Err(DsseError::PayloadType(envelope.payload_type));
        }
        envelope.payload_bytes()?;
        Ok(envelope)
    }

    /// The decoded payload.
    ///
    /// # Errors
    /// When the payload is not base64.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, DsseError> {
        decode(&self.payload).map_err(|error| DsseError::PayloadEncoding(error.to_string()))
    }

    /// Checks that some signature verifies with `key` over `PAE(payloadType, payload)`.
    ///
    /// # Errors
    /// [`DsseError::Unsigned`] without signatures, [`DsseError::BadSignature`] when none
    /// verifies (a malformed signature counts as one that does not verify).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), DsseError> {
        if self.signatures.is_empty() {
            return Err(DsseError::Unsigned);
        }
        let message = pae(&self.payload_type, &self.payload_bytes()?);
        let verifies = self.signatures.iter().any(|entry| {
            decode(&entry.sig)
                .ok()
                .and_then(|bytes| Signature::from_slice(&bytes).ok())
                .is_some_and(|signature| key.verify_strict(&message, &signature).is_ok())
        });
        if verifies {
            Ok(())
        } else {
            Err(DsseError::BadSignature {
                keyid: keyid(key),
                signatures: self.signatures.len(),
            })
        }
    }

    /// Pretty JSON with a final newline.
    ///
    /// # Errors
    /// Never in practice.
    pub fn render(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

fn key_error(path: &Path, detail: impl std::fmt::Display) -> DsseError {
    DsseError::Key {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

/// Reads a PKCS#8 PEM Ed25519 private key.
///
/// # Errors
/// When the file cannot be read or holds no such key.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, DsseError> {
    let text = std::fs::read_to_string(path).map_err(|error| key_error(path, error))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|error| {
        key_error(
            path,
            format!("not a PKCS#8 PEM Ed25519 private key ({error})"),
        )
    })
}

/// Reads an SPKI PEM Ed25519 public key.
///
/// # Errors
/// When the file cannot be read or holds no such key.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, DsseError> {
    let text = std::fs::read_to_string(path).map_err(|error| key_error(path, error))?;
    VerifyingKey::from_public_key_pem(&text).map_err(|error| {
        key_error(
            path,
            format!("not an SPKI PEM Ed25519 public key ({error})"),
        )
    })
}

/// A new key pair from the operating system's random source.
///
/// # Errors
/// When the random source fails.
pub fn generate_key() -> anyhow::Result<SigningKey> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|error| anyhow::anyhow!("the OS random source failed: {error}"))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(key)
}

/// Writes a new key pair into `dir` (created when missing) as [`PRIVATE_KEY_FILE`] (mode
/// 0600) and [`PUBLIC_KEY_FILE`]; refuses to replace either. Returns both paths and the keyid.
///
/// # Errors
/// When either file exists, the key cannot be generated or a file cannot be written.
pub fn keygen(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let private = dir.join(PRIVATE_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    for path in [&private, &public] {
        if path.exists() {
            anyhow::bail!(
                "{} exists: keygen never replaces a key (move it away first)",
                path.display()
            );
        }
    }
    let key = generate_key()?;
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| anyhow::anyhow!("cannot encode the private key: {error}"))?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| anyhow::anyhow!("cannot encode the public key: {error}"))?;
    write_new(&private, private_pem.as_bytes(), false)?;
    write_new(&public, public_pem.as_bytes(), true)?;
    Ok((private, public, keyid(&key.verifying_key())))
}

/// Writes `bytes` to the new file `path` through a temporary file (created 0600), made
/// world-readable when `public`; fails rather than replace an existing file.
fn write_new(path: &Path, bytes: &[u8], public: bool) -> anyhow::Result<()> {
    use std::io::Write;

    use anyhow::Context;
    let dir = path.parent().unwrap_or(Path::new("."));
    let context = || format!("cannot write {}", path.display());
    let mut file = tempfile::NamedTempFile::new_in(dir).with_context(context)?;
    file.write_all(bytes).with_context(context)?;
    #[cfg(unix)]
    if public {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(context)?;
    }
    #[cfg(not(unix))]
    let _ = public;
    file.persist_noclobber(path).with_context(context)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_example() {
        // The worked example of the DSSE protocol.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn sign_verify_and_refusals() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let envelope = Envelope::signed(b"{\"a\":1}", &key);
        envelope.verify(&key.verifying_key()).unwrap();
        assert!(matches!(
            envelope.verify(&other.verifying_key()),
            Err(DsseError::BadSignature { .. })
        ));
        let mut edited = envelope.clone();
        edited.payload = STANDARD.encode(b"{\"a\":2}");
        assert!(edited.verify(&key.verifying_key()).is_err());
        assert_eq!(
            Envelope::unsigned(b"x").verify(&key.verifying_key()),
            Err(DsseError::Unsigned)
        );
        let parsed = Envelope::parse(&envelope.render().unwrap()).unwrap();
        assert_eq!(parsed, envelope);
        assert!(matches!(
            Envelope::parse(br#"{"payload":"e30=","payloadType":"text/plain","signatures":[]}"#),
            Err(DsseError::PayloadType(_))
        ));
        assert!(matches!(
            Envelope::parse(
                br#"{"payload":"!!","payloadType":"application/vnd.in-toto+json","signatures":[]}"#
            ),
            Err(DsseError::PayloadEncoding(_))
        ));
    }

    #[test]
    fn keygen_writes_a_readable_pair_and_never_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public, id) = keygen(dir.path()).unwrap();
        let key = read_signing_key(&private).unwrap();
        assert_eq!(read_public_key(&public).unwrap(), key.verifying_key());
        assert_eq!(id, keyid(&key.verifying_key()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
        }
        let before = std::fs::read(&private).unwrap();
        assert!(keygen(dir.path()).is_err());
        assert_eq!(std::fs::read(&private).unwrap(), before);
        assert!(matches!(
            read_public_key(&private),
            Err(DsseError::Key { .. })
        ));
    }
}
