//! Digests, signatures, encryption and key files for snapshots (MKR-051, MKR-053).
//!
//! - Digest: SHA-256 of each file exactly as written, lowercase hex.
//! - Signature: HMAC-SHA256 keyed with a 32-byte secret over the exact bytes of
//!   `manifest.json`, lowercase hex in `manifest.sig`. The same key signs and verifies.
//! - Encryption: ChaCha20-Poly1305 with a 32-byte key and a fresh random 96-bit nonce per
//!   file; the file name is the associated data, so ciphertexts cannot be swapped between
//!   files unnoticed.
//! - Key files: 64 hex digits (32 bytes), surrounding whitespace ignored.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{KeyFileDefect, SnapshotError};

/// A 32-byte secret for signing or encryption.
pub type SecretKey = [u8; 32];

/// Length in bytes of a ChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 12;

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// HMAC-SHA256 keyed with `key`. HMAC zero-pads keys shorter than the hash's 64-byte block,
/// so padding here gives the same MAC through the infallible fixed-size constructor.
fn mac(key: &SecretKey) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

/// The hex HMAC-SHA256 of `message`.
pub(crate) fn sign(key: &SecretKey, message: &[u8]) -> String {
    let mut mac = mac(key);
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a hex signature in constant time.
///
/// # Errors
/// [`SnapshotError::SignatureMismatch`] for a wrong key, a changed manifest or a malformed
/// signature file.
pub(crate) fn verify(
    key: &SecretKey,
    message: &[u8],
    signature_hex: &str,
) -> Result<(), SnapshotError> {
    let signature =
        hex::decode(signature_hex.trim()).map_err(|_| SnapshotError::SignatureMismatch)?;
    let mut mac = mac(key);
    mac.update(message);
    mac.verify_slice(&signature)
        .map_err(|_| SnapshotError::SignatureMismatch)
}

/// Encrypts `plaintext` under a fresh random nonce, binding `file_name`; returns
/// `(nonce, ciphertext)`.
///
/// # Errors
/// [`SnapshotError::EncryptionFailed`] (only for inputs beyond the cipher's size limit).
pub(crate) fn encrypt(
    key: &SecretKey,
    file_name: &str,
    plaintext: &[u8],
) -> Result<([u8; NONCE_LEN], Vec<u8>), SnapshotError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: file_name.as_bytes(),
            },
        )
        .map_err(|_| SnapshotError::EncryptionFailed {
            file: file_name.to_owned(),
        })?;
    Ok((nonce, ciphertext))
}

/// Decrypts and authenticates one file.
///
/// # Errors
/// [`SnapshotError::DecryptionFailed`] for a wrong key, a wrong nonce or changed bytes.
pub(crate) fn decrypt(
    key: &SecretKey,
    file_name: &str,
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
) -> Result<Vec<u8>, SnapshotError> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: file_name.as_bytes(),
            },
        )
        .map_err(|_| SnapshotError::DecryptionFailed {
            file: file_name.to_owned(),
        })
}

/// The prefix of a data file the original MemoryKernel encrypted.
pub(crate) const ORIGINAL_MAGIC: &[u8] = b"MKENC1";

/// Length in bytes of the XChaCha20-Poly1305 nonce the original wrote after its prefix.
const ORIGINAL_NONCE_LEN: usize = 24;

/// Decrypts and authenticates one file the original encrypted: [`ORIGINAL_MAGIC`], a 24-byte
/// nonce, then XChaCha20-Poly1305 ciphertext with its tag, no associated data.
///
/// # Errors
/// [`SnapshotError::DecryptionFailed`] for a wrong key, changed bytes or a file too short to
/// hold the prefix and nonce.
pub(crate) fn decrypt_original(
    key: &SecretKey,
    file_name: &str,
    bytes: &[u8],
) -> Result<Vec<u8>, SnapshotError> {
    let failed = || SnapshotError::DecryptionFailed {
        file: file_name.to_owned(),
    };
    let body = bytes.strip_prefix(ORIGINAL_MAGIC).ok_or_else(failed)?;
    if body.len() < ORIGINAL_NONCE_LEN {
        return Err(failed());
    }
    let (nonce, ciphertext) = body.split_at(ORIGINAL_NONCE_LEN);
    XChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(XNonce::from_slice(nonce), ciphertext)
        .map_err(|_| failed())
}

/// Parses key text: 64 hex digits after trimming whitespace.
///
/// # Errors
/// The [`KeyFileDefect`] found.
pub(crate) fn parse_key(text: &str) -> Result<SecretKey, KeyFileDefect> {
    let text = text.trim();
    if text.len() != 64 {
        return Err(KeyFileDefect::WrongLength {
            chars: text.chars().count(),
        });
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(text, &mut key).map_err(|_| KeyFileDefect::NotHex)?;
    Ok(key)
}

/// Reads a key file: 64 hex digits (a 32-byte key), surrounding whitespace ignored.
///
/// # Errors
/// [`SnapshotError::KeyFileUnreadable`] or [`SnapshotError::KeyFileInvalid`].
pub fn read_key_file(path: impl AsRef<Path>) -> Result<SecretKey, SnapshotError> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(|source| SnapshotError::KeyFileUnreadable {
            path: path.to_owned(),
            source,
        })?;
    parse_key(&text).map_err(|defect| SnapshotError::KeyFileInvalid {
        path: path.to_owned(),
        defect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_is_trimmed_and_checked() {
        let hex64 = "ab".repeat(32);
        assert_eq!(parse_key(&format!("  {hex64}\n")).unwrap(), [0xab; 32]);
        assert_eq!(
            parse_key("abcd"),
            Err(KeyFileDefect::WrongLength { chars: 4 })
        );
        assert_eq!(parse_key(&"zz".repeat(32)), Err(KeyFileDefect::NotHex));
    }

    #[test]
    fn padded_key_gives_the_standard_hmac() {
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&[9; 32]).unwrap();
        reference.update(b"bytes");
        assert_eq!(
            sign(&[9; 32], b"bytes"),
            hex::encode(reference.finalize().into_bytes())
        );
    }

    #[test]
    fn signatures_verify_only_with_the_same_key_and_bytes() {
        let sig = sign(&[1; 32], b"manifest");
        assert!(verify(&[1; 32], b"manifest", &sig).is_ok());
        assert!(verify(&[2; 32], b"manifest", &sig).is_err());
        assert!(verify(&[1; 32], b"manifesT", &sig).is_err());
        assert!(verify(&[1; 32], b"manifest", "not hex").is_err());
    }

    #[test]
    fn the_originals_encrypted_files_decrypt_only_with_their_key() {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&[3; 32]));
        let nonce = [5u8; ORIGINAL_NONCE_LEN];
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), &b"line\n"[..])
            .unwrap();
        let file = [ORIGINAL_MAGIC, &nonce, &ciphertext].concat();
        assert_eq!(decrypt_original(&[3; 32], "f", &file).unwrap(), b"line\n");
        assert!(decrypt_original(&[4; 32], "f", &file).is_err());
        let mut flipped = file.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(decrypt_original(&[3; 32], "f", &flipped).is_err());
        assert!(decrypt_original(&[3; 32], "f", &file[..20]).is_err());
        assert!(decrypt_original(&[3; 32], "f", &file[6..]).is_err());
    }

    #[test]
    fn encryption_round_trips_and_binds_the_file_name() {
        let (nonce, ct) = encrypt(&[7; 32], "a.ndjson", b"hello").unwrap();
        assert_eq!(
            decrypt(&[7; 32], "a.ndjson", &nonce, &ct).unwrap(),
            b"hello"
        );
        assert!(decrypt(&[8; 32], "a.ndjson", &nonce, &ct).is_err());
        assert!(decrypt(&[7; 32], "b.ndjson", &nonce, &ct).is_err());
    }
}
