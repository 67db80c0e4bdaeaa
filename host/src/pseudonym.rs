//! The one pseudonym of a data subject on a site: what the audit log, the
//! requests and the host's imports record instead of an address.

/// HMAC-SHA256 (hex) of an identifier, lower-cased and trimmed, keyed with
/// the site's secret.
pub fn keyed_hash(key: &[u8], identifier: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(identifier.trim().to_lowercase().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
