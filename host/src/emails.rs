//! E-mail addresses in text: found in values that cross the store boundary
//! (they tie a plugin call to the data subjects it touched), and scrubbed
//! from what the audit log records about callers and paths.

use std::collections::HashSet;

/// The most addresses one value contributes (a huge text is not a list of
/// subjects; a bulk read shows up as many rows instead).
const MAX_PER_VALUE: usize = 64;

/// Add every e-mail address in `text`, lower-cased, to `found`.
pub fn collect(text: &str, found: &mut HashSet<String>) {
    if !text.contains('@') {
        return;
    }
    let bytes = text.as_bytes();
    let mut added = 0;
    for (at, _) in text.match_indices('@') {
        let start = bytes[..at]
            .iter()
            .rposition(|b| !is_local(*b))
            .map_or(0, |i| i + 1);
        let end = bytes[at + 1..]
            .iter()
            .position(|b| !is_domain(*b))
            .map_or(bytes.len(), |i| at + 1 + i);
        let local = text[start..at].trim_start_matches('.');
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.contains("..")
            && domain.rsplit('.').next().is_some_and(|tld| tld.len() >= 2);
        if local.is_empty() || !valid_domain {
            continue;
        }
        found.insert(format!("{local}@{domain}").to_lowercase());
        added += 1;
        if added == MAX_PER_VALUE {
            return;
        }
    }
}

/// `text` with every e-mail address in it replaced by `[address]`: for
/// free text (a file path) that goes into the audit log.
pub fn scrub(text: &str) -> String {
    replace_addresses(text, |_| "[address]".to_string())
}

/// `text` with every e-mail address in it (also percent-encoded, `%40`)
/// replaced by what `with` makes of the lower-cased address.
pub fn replace_addresses(text: &str, with: impl Fn(&str) -> String) -> String {
    // A URL or a file name may carry the address percent-encoded.
    let mut scrubbed = text.replace("%40", "@");
    let mut found = HashSet::new();
    collect(&scrubbed, &mut found);
    if found.is_empty() {
        return text.to_string();
    }
    for email in found {
        let replacement = with(&email);
        while let Some(at) = scrubbed.to_ascii_lowercase().find(&email) {
            scrubbed.replace_range(at..at + email.len(), &replacement);
        }
    }
    scrubbed
}

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._%+-'".contains(&b)
}

fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<String> {
        let mut found = HashSet::new();
        collect(text, &mut found);
        let mut list: Vec<String> = found.into_iter().collect();
        list.sort();
        list
    }

    #[test]
    fn finds_addresses_in_text() {
        assert_eq!(emails("Ada@Example.org"), ["ada@example.org"]);
        assert_eq!(
            emails("write to <bob.b+help@mail.example.com>, or cc: eve@x.io."),
            ["bob.b+help@mail.example.com", "eve@x.io"]
        );
    }

    #[test]
    fn scrubs_addresses_out_of_paths() {
        assert_eq!(
            scrub("/tmp/exports/Ada@Example.org/export.zip"),
            "/tmp/exports/[address]/export.zip"
        );
        // A file name runs into the domain: scrubbed whole.
        assert_eq!(scrub("/tmp/ada@example.org.zip"), "/tmp/[address]");
        assert_eq!(scrub("/tmp/request-7.zip"), "/tmp/request-7.zip");
    }

    #[test]
    fn ignores_what_is_no_address() {
        assert!(emails("no at sign here").is_empty());
        assert!(emails("user@localhost and @handle and a@b.c").is_empty());
        assert!(emails("@@@").is_empty());
    }
}
