//! How wasmdesk recognises a person in text: one rule shared by the host's
//! erasure proof and by plugins' erasers, so that what an eraser removes is
//! exactly what the proof looks for.
//!
//! Names and other identifiers are compared after [folding](fold()):
//! Unicode lower case, accents and other combining marks dropped (`Zoë
//! ÅNGSTRÖM` reads `zoe angstrom`), every run of white space one space.
//!
//! Addresses are compared after [ASCII folding](fold_ascii): ASCII lower
//! case, and `%40` or `=40` read as `@`. An address is ASCII, so a letter
//! such as `İ` right before it ends its local part instead of folding into
//! it.
//!
//! An e-mail address is found in every spelling that reaches the same
//! mailbox: any case, any `+tag` after the local part (RFC 5233
//! sub-addressing, which nearly every provider delivers to the same box),
//! and, at Gmail only, with or without dots in the local part. An address
//! inside a longer one (`xzelda@example.org`, `zelda@example.org.evil`)
//! is not a match.
//!
//! ```
//! use wasmdesk_identifiers::Person;
//!
//! let zoe = Person::new(Some("Zoe.Unal@Example.org"), ["Zoë Ünal"]);
//! let text = "Write to zoe.unal+help@example.org or ask ZOË  ÜNAL.";
//! assert_eq!(zoe.redact(text, "[erased]"), "Write to [erased] or ask [erased].");
//! assert!(!zoe.mentioned_in("xzoe.unal@example.org"));
//! ```

pub mod bytes;
pub mod fold;

use std::ops::Range;

pub use bytes::{ByteSearch, CHUNK_OVERLAP, SearchableText};
pub use fold::{Folded, fold, fold_ascii, fold_char};

/// Names shorter than this (in characters, folded) are not searched: they
/// would match inside too many words.
pub const MIN_NAME_CHARS: usize = 3;

/// Longest local part RFC 5321 allows, plus room for what precedes an
/// address in running text (`mailto:`, `email=`).
const LOCAL_REACH: usize = 128;

/// Bytes after a match that decide whether it ends there (a domain that
/// goes on, `example.org.evil`, is another address).
pub const LOOKAHEAD: usize = 2;

/// Domains whose mailboxes ignore dots in the local part.
const DOTS_IGNORED: &[&str] = &["gmail.com", "googlemail.com"];

/// One person's identifiers, folded, ready to be found in folded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    address: Option<Address>,
    names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    /// `@` and the domain, folded: what is searched for first.
    at_domain: String,
    /// The local part in its canonical form: folded, without a `+tag`
    /// and (where the domain ignores them) without dots.
    local: String,
    dots_ignored: bool,
}

impl Address {
    fn parse(email: &str) -> Option<Address> {
        let folded = fold_ascii(email.trim()).text;
        let (local, domain) = folded.rsplit_once('@')?;
        let dots_ignored = DOTS_IGNORED.contains(&domain);
        let local = canonical_local(local, dots_ignored)?;
        Some(Address {
            at_domain: format!("@{domain}"),
            local,
            dots_ignored,
        })
    }
}

fn canonical_local(local: &str, dots_ignored: bool) -> Option<String> {
    let base = local.split('+').next().unwrap_or("");
    let base: String = if dots_ignored {
        base.chars().filter(|c| *c != '.').collect()
    } else {
        base.to_string()
    };
    (!base.is_empty()).then_some(base)
}

/// A byte that may be part of an address's local part (RFC 5322 atext and
/// the dot), as it appears after folding.
fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b)
}

/// A byte that may be part of an address and in running text is far more
/// often what precedes one (`email=`, `mailto:`, a path): an address may
/// start right after it.
fn may_precede_address(b: u8) -> bool {
    is_local_byte(b) && !(b.is_ascii_alphanumeric() || b".-_+".contains(&b))
}

/// Whether the domain goes on after `rest` begins (a longer domain, or
/// the same one as a subdomain's suffix is not the person's address).
fn domain_goes_on(rest: &[u8]) -> bool {
    let continues = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    match rest {
        [b, ..] if continues(*b) => true,
        [b'.', b, ..] => continues(*b),
        _ => false,
    }
}

impl Person {
    /// `email` and any other identifiers (a name, a phone number, a street)
    /// as the site knows them; identifiers shorter than
    /// [`MIN_NAME_CHARS`] once folded are left out.
    pub fn new<'a>(email: Option<&str>, identifiers: impl IntoIterator<Item = &'a str>) -> Person {
        let mut names: Vec<String> = Vec::new();
        for value in identifiers {
            let folded = fold(value.trim()).text.trim().to_string();
            if folded.chars().count() >= MIN_NAME_CHARS && !names.contains(&folded) {
                names.push(folded);
            }
        }
        Person {
            address: email.and_then(Address::parse),
            names,
        }
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.address.is_none() && self.names.is_empty()
    }

    /// How far before its end a name can begin in [folded](fold()) text:
    /// a search over a stream keeps this much of what it has seen.
    pub fn name_reach(&self) -> usize {
        self.names.iter().map(String::len).max().unwrap_or(0)
    }

    /// How far before its end an address can begin in [ASCII-folded]
    /// (fold_ascii) bytes, and [`LOOKAHEAD`] bytes after it.
    pub fn address_reach(&self) -> usize {
        self.address
            .as_ref()
            .map_or(0, |a| a.at_domain.len() + LOCAL_REACH + LOOKAHEAD)
    }

    /// Where a name or other identifier appears in [folded](fold()) text.
    pub fn find_names<'a>(&'a self, folded: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
        self.names.iter().flat_map(move |name| {
            folded
                .match_indices(name.as_str())
                .map(|(at, m)| at..at + m.len())
        })
    }

    /// Where the address appears in [ASCII-folded](fold_ascii) text. A
    /// match that ends less than [`LOOKAHEAD`] bytes before the end is
    /// judged as if the text ended there.
    pub fn find_addresses(&self, folded: &[u8]) -> Vec<Range<usize>> {
        self.find_address_in(folded, Boundaries::Text)
    }

    /// Where the address appears in bytes that need not be text (a database
    /// page, a binary file): any byte may stand right before or after it
    /// (a length byte of a record can read `+` or `5`), so an address that
    /// merely ends in the person's (`xzelda@example.org`) or continues
    /// their domain is counted too. For a search that must miss nothing.
    pub fn find_addresses_in_bytes(&self, folded: &[u8]) -> Vec<Range<usize>> {
        self.find_address_in(folded, Boundaries::Any)
    }

    fn find_address_in(&self, folded: &[u8], boundaries: Boundaries) -> Vec<Range<usize>> {
        match &self.address {
            Some(address) => find_address(address, folded, boundaries),
            None => vec![],
        }
    }

    /// Where the person appears in `text`, as byte ranges of `text`, in
    /// order and not overlapping.
    pub fn find(&self, text: &str) -> Vec<Range<usize>> {
        let mut found = Vec::new();
        if !self.names.is_empty() {
            let folded = fold(text);
            found.extend(self.find_names(&folded.text).map(|r| folded.original(r)));
        }
        if self.address.is_some() {
            let folded = fold_ascii(text);
            found.extend(
                self.find_addresses(folded.text.as_bytes())
                    .into_iter()
                    .map(|r| folded.original(r)),
            );
        }
        found.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut merged: Vec<Range<usize>> = Vec::new();
        for range in found {
            match merged.last_mut() {
                Some(last) if range.start < last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }

    /// Whether the person appears in `text`.
    pub fn mentioned_in(&self, text: &str) -> bool {
        !self.find(text).is_empty()
    }

    /// `text` with every appearance of the person replaced by `with`.
    pub fn redact(&self, text: &str, with: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for range in self.find(text) {
            out.push_str(&text[last..range.start]);
            out.push_str(with);
            last = range.end;
        }
        out.push_str(&text[last..]);
        out
    }
}

/// What may stand right before and after an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundaries {
    /// Running text: not a letter of a longer address.
    Text,
    /// Anything: the bytes need not be text.
    Any,
}

fn find_address(address: &Address, bytes: &[u8], boundaries: Boundaries) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    for at in memchr::memmem::find_iter(bytes, address.at_domain.as_bytes()) {
        let end = at + address.at_domain.len();
        if boundaries == Boundaries::Text && domain_goes_on(&bytes[end..]) {
            continue;
        }
        let mut first = at;
        while first > 0 && at - first < LOCAL_REACH && is_local_byte(bytes[first - 1]) {
            first -= 1;
        }
        // The local part may begin after a delimiter inside the run
        // (`email=zelda@...`), never inside a word (`xzelda@...`).
        let start = (first..at).find(|&i| {
            (i == first || boundaries == Boundaries::Any || may_precede_address(bytes[i - 1]))
                && std::str::from_utf8(&bytes[i..at])
                    .ok()
                    .and_then(|local| canonical_local(local, address.dots_ignored))
                    .as_deref()
                    == Some(address.local.as_str())
        });
        if let Some(start) = start {
            found.push(start..end);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zelda() -> Person {
        Person::new(
            Some("Zelda.Quennell@example.org"),
            ["Zelda Quennell", "+44 20 7946 0958", "Zoë Ångström"],
        )
    }

    #[test]
    fn an_address_is_found_in_every_spelling_of_the_same_mailbox() {
        let p = zelda();
        for text in [
            "zelda.quennell@example.org",
            "ZELDA.QUENNELL@EXAMPLE.ORG",
            "zelda.quennell+news@example.org",
            "mailto:Zelda.Quennell@Example.Org?subject=hi",
            "?email=zelda.quennell%40example.org&x=1",
            "zelda.quennell=40example.org",
            "<zelda.quennell@example.org>.",
            "write to zelda.quennell@example.org.",
        ] {
            assert!(p.mentioned_in(text), "{text}");
        }
        for text in [
            "xzelda.quennell@example.org",
            "zelda.quennell@example.org.evil.com",
            "zelda.quennell@example.organic",
            "zeldaquennell@example.org",
            "zelda.quennell@example.com",
        ] {
            assert!(!p.mentioned_in(text), "{text}");
        }
    }

    #[test]
    fn in_bytes_any_byte_may_stand_around_an_address() {
        let p = zelda();
        // A record's serial type before it, the next record after it.
        let bytes = b"\x02+zelda.quennell@example.orgA\x05";
        assert!(p.find_addresses(bytes).is_empty());
        assert_eq!(p.find_addresses_in_bytes(bytes), vec![2..28]);
    }

    #[test]
    fn gmail_addresses_match_without_dots_and_others_do_not() {
        let g = Person::new(Some("z.quennell+a@gmail.com"), []);
        assert!(g.mentioned_in("zquennell@gmail.com"));
        assert!(g.mentioned_in("Z.Q.U.E.N.N.E.L.L@GMAIL.COM"));
        assert!(!g.mentioned_in("z.quennell+other@googlemail.com"));
        let o = Person::new(Some("z.quennell@example.org"), []);
        assert!(!o.mentioned_in("zquennell@example.org"));
    }

    #[test]
    fn names_match_in_any_case_with_or_without_accents_and_spacing() {
        let p = zelda();
        for text in [
            "Zoë Ångström",
            "ZOË ÅNGSTRÖM",
            "zoË åNGSTRöm",
            "Zoe Angstrom",
            "Zoe\u{0308} A\u{030a}ngstro\u{0308}m",
            "Zoë\r\n  Ångström",
            "Zoë\u{a0}Ångström",
            "ZELDA QUENNELL",
        ] {
            assert!(p.mentioned_in(text), "{text}");
        }
    }

    #[test]
    fn redaction_replaces_the_original_bytes_whatever_folding_did() {
        let p = zelda();
        assert_eq!(
            p.redact("Hi ZOË\n ÅNGSTRÖM, İ zelda.quennell%40example.org!", "[x]"),
            "Hi [x], İ [x]!"
        );
        // A Turkish dotted İ folds to two characters; offsets stay right.
        assert_eq!(p.redact("İİİZelda.Quennell@example.orgİ", "[x]"), "İİİ[x]İ");
    }

    #[test]
    fn short_identifiers_are_not_searched() {
        let p = Person::new(None, ["Al", " ", "Bo "]);
        assert!(p.is_empty());
    }
}
