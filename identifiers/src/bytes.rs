//! Finding a person in raw bytes (database pages, the WAL, exports, logs,
//! a value of any column), whatever encoding hides them: the proof's
//! search. The bytes are read as a stream, once, through two paths:
//!
//! - **as text**: quoted-printable soft line breaks removed, `%XX` and
//!   `=XX` escapes that spell part of an identifier decoded, then searched with the rules of
//!   [this crate](crate) (addresses in every spelling of the same
//!   mailbox, with any byte around them, as in a database page; names
//!   case-folded by Unicode rules, without accents);
//! - **as base64**: every run of 16 or more base64 characters (line breaks
//!   inside it allowed, a blank line ends it) is decoded at each of its four
//!   alignments and the result searched as text. A MIME attachment, a data
//!   URL or a JSON string holding a file is read this way.
//!
//! A match is counted once, by where it ends, also across two reads.

use memchr::memmem::Finder;

use crate::fold::fold_bytes;
use crate::{LOOKAHEAD, MIN_NAME_CHARS, Person};

/// How much folded text is gathered before it is searched.
const WINDOW: usize = 1 << 20;

/// Base64 characters a run needs before it is decoded: shorter runs are
/// words.
const MIN_BASE64_RUN: usize = 16;

/// Counts the appearances of one person in a stream of raw bytes.
pub struct ByteSearch<'p> {
    needles: Needles<'p>,
    text: TextPath,
    base64: Base64Path,
    count: u64,
}

impl<'p> ByteSearch<'p> {
    pub fn new(person: &'p Person) -> ByteSearch<'p> {
        ByteSearch {
            needles: Needles {
                person,
                names: person
                    .names
                    .iter()
                    .map(|n| Finder::new(n.as_bytes()))
                    .collect(),
            },
            text: TextPath::default(),
            base64: Base64Path::default(),
            count: 0,
        }
    }

    /// Read the next bytes of the stream.
    pub fn feed(&mut self, raw: &[u8]) {
        if self.needles.person.is_empty() {
            return;
        }
        self.count += self.text.feed(&self.needles, raw);
        self.count += self.base64.feed(&self.needles, raw);
    }

    /// End the stream: how often the person appeared in it. The search is
    /// then ready for another stream.
    pub fn finish(&mut self) -> u64 {
        let needles = &self.needles;
        let count = self.count + self.text.finish(needles) + self.base64.finish(needles);
        self.count = 0;
        count
    }

    /// How often the person appears in `bytes` alone.
    pub fn count(&mut self, bytes: &[u8]) -> u64 {
        self.feed(bytes);
        self.finish()
    }
}

/// What is searched for, ready for a fast search.
struct Needles<'p> {
    person: &'p Person,
    /// The person's names, folded, as [`Person::find_names`] finds them.
    names: Vec<Finder<'p>>,
}

impl Needles<'_> {
    /// Where a name appears in folded bytes.
    fn find_names(&self, folded: &[u8]) -> Vec<std::ops::Range<usize>> {
        self.names
            .iter()
            .flat_map(|finder| {
                let len = finder.needle().len();
                finder.find_iter(folded).map(move |at| at..at + len)
            })
            .collect()
    }
}

/// Decoded bytes searched as text, for addresses and for names.
#[derive(Default)]
struct TextPath {
    unescape: Unescape,
    decoded: Vec<u8>,
    /// An incomplete UTF-8 sequence at the end of the last bytes.
    utf8_carry: Vec<u8>,
    addresses: Window,
    names: Window,
}

impl TextPath {
    fn feed(&mut self, needles: &Needles, raw: &[u8]) -> u64 {
        self.decoded.clear();
        self.unescape.feed(raw, &mut self.decoded);
        self.search(needles, false)
    }

    fn finish(&mut self, needles: &Needles) -> u64 {
        self.decoded.clear();
        self.unescape.finish(&mut self.decoded);
        let count = self.search(needles, true);
        self.utf8_carry.clear();
        count
    }

    fn search(&mut self, needles: &Needles, last: bool) -> u64 {
        let person = needles.person;
        let mut count = 0;
        if person.address_reach() > 0 {
            let start = self.addresses.buf.len();
            self.addresses.buf.extend_from_slice(&self.decoded);
            self.addresses.buf[start..].make_ascii_lowercase();
            count += self.addresses.search(last, person.address_reach(), |b| {
                person.find_addresses_in_bytes(b)
            });
        }
        if person.name_reach() > 0 {
            self.fold_names();
            if last {
                // What never became a character is not text.
                self.utf8_carry.clear();
            }
            count += self
                .names
                .search(last, person.name_reach() + LOOKAHEAD, |b| {
                    needles.find_names(b)
                });
        }
        count
    }

    /// Append the decoded bytes, as folded text, to the names' window;
    /// bytes that are not UTF-8 become U+FFFD, which no name contains.
    fn fold_names(&mut self) {
        let read = if self.utf8_carry.is_empty() {
            fold_bytes(&self.decoded, &mut self.names.buf)
        } else {
            let mut bytes = std::mem::take(&mut self.utf8_carry);
            bytes.extend_from_slice(&self.decoded);
            let read = fold_bytes(&bytes, &mut self.names.buf);
            self.decoded = bytes;
            read
        };
        self.utf8_carry = self.decoded[read..].to_vec();
    }
}

/// Folded bytes waiting to be searched, with the tail of what was already
/// searched (a match may begin there).
#[derive(Default)]
struct Window {
    buf: Vec<u8>,
    /// Matches ending at or before this offset were counted.
    counted_to: usize,
}

impl Window {
    fn search(
        &mut self,
        last: bool,
        reach: usize,
        find: impl Fn(&[u8]) -> Vec<std::ops::Range<usize>>,
    ) -> u64 {
        if !last && self.buf.len() < WINDOW {
            return 0;
        }
        let limit = if last {
            self.buf.len()
        } else {
            self.buf.len().saturating_sub(LOOKAHEAD)
        };
        let counted_to = self.counted_to;
        let count = find(&self.buf)
            .into_iter()
            .filter(|r| r.end > counted_to && r.end <= limit)
            .count() as u64;
        if last {
            self.buf.clear();
            self.counted_to = 0;
            return count;
        }
        // Keep what a later match may begin in, cut at a character start.
        let mut drop = limit.saturating_sub(reach);
        while drop > 0 && (self.buf[drop] & 0xC0) == 0x80 {
            drop -= 1;
        }
        self.buf.drain(..drop);
        self.counted_to = limit - drop;
        count
    }
}

/// Quoted-printable soft line breaks removed; `%XX` and `=XX` escapes
/// decoded where they spell part of an identifier: `@`, `+`, `.`, `-`,
/// `_`, a space, or a whole UTF-8 character (`=C3=AB` is `ë`). Any other
/// escape is left as it is, so `?u=ada%40example.com` keeps its `ada`.
#[derive(Default)]
struct Unescape {
    /// The start of an escape or soft break cut off by the end of a read.
    pending: Vec<u8>,
}

/// The most bytes an escape needs to be judged: a four-byte character.
const ESCAPE_REACH: usize = 12;

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The byte that `bytes` (an escape character and two hex digits) spells.
fn escaped(bytes: &[u8], escape: u8) -> Option<u8> {
    match bytes {
        [e, h, l, ..] if *e == escape => Some(hex(*h)? << 4 | hex(*l)?),
        _ => None,
    }
}

/// What the escape at the start of `bytes` decodes to, and its length.
fn decode_escape(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let escape = bytes[0];
    let first = escaped(bytes, escape)?;
    if b"@+.-_ ".contains(&first) {
        return Some((vec![first], 3));
    }
    let width = match first {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let mut out = vec![first];
    for k in 1..width {
        let next = escaped(bytes.get(3 * k..)?, escape)?;
        if !(0x80..=0xBF).contains(&next) {
            return None;
        }
        out.push(next);
    }
    std::str::from_utf8(&out).ok()?;
    Some((out, 3 * width))
}

impl Unescape {
    fn feed(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        self.run(raw, out, false);
    }

    fn run(&mut self, raw: &[u8], out: &mut Vec<u8>, last: bool) {
        let joined;
        let bytes = if self.pending.is_empty() {
            raw
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(raw);
            joined = pending;
            &joined[..]
        };
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b != b'%' && b != b'=' {
                // Copy the run up to the next escape in one go.
                let next = memchr::memchr2(b'%', b'=', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                out.extend_from_slice(&bytes[i..next]);
                i = next;
                continue;
            }
            if !last && bytes.len() - i < ESCAPE_REACH {
                // Maybe an escape whose end comes with the next read.
                self.pending = bytes[i..].to_vec();
                return;
            }
            let rest = &bytes[i..];
            if b == b'=' && (rest[1..].starts_with(b"\r\n") || rest[1..].starts_with(b"\n")) {
                // A quoted-printable soft line break.
                i += if rest[1] == b'\r' { 3 } else { 2 };
                continue;
            }
            match decode_escape(rest) {
                Some((decoded, len)) => {
                    out.extend_from_slice(&decoded);
                    i += len;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let pending = std::mem::take(&mut self.pending);
        self.run(&pending, out, true);
    }
}

/// The value of each base64 character (standard or URL-safe alphabet), or
/// [`NOT_BASE64`].
const BASE64_VALUES: [u8; 256] = {
    let mut values = [NOT_BASE64; 256];
    let mut i = 0;
    while i < 26 {
        values[b'A' as usize + i] = i as u8;
        values[b'a' as usize + i] = 26 + i as u8;
        if i < 10 {
            values[b'0' as usize + i] = 52 + i as u8;
        }
        i += 1;
    }
    values[b'+' as usize] = 62;
    values[b'-' as usize] = 62;
    values[b'/' as usize] = 63;
    values[b'_' as usize] = 63;
    values
};

const NOT_BASE64: u8 = 0xFF;

/// Runs of base64 characters, decoded at each alignment and searched.
#[derive(Default)]
struct Base64Path {
    /// Characters of the current run (values), while it is shorter than
    /// [`MIN_BASE64_RUN`].
    head: Vec<u8>,
    /// Characters in the current run.
    run: usize,
    /// Line breaks since the run's last character.
    breaks: u8,
    decoders: [Decoder; 4],
    texts: [TextPath; 4],
    /// Decoded bytes of each alignment, not yet searched.
    out: [Vec<u8>; 4],
}

/// One alignment's decoder: up to three pending characters.
#[derive(Default, Clone, Copy)]
struct Decoder {
    acc: u32,
    have: u8,
}

impl Decoder {
    fn push(&mut self, value: u8, out: &mut Vec<u8>) {
        self.acc = self.acc << 6 | u32::from(value);
        self.have += 1;
        if self.have == 4 {
            out.extend_from_slice(&self.acc.to_be_bytes()[1..]);
            self.acc = 0;
            self.have = 0;
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        let bytes = (self.acc << (6 * (4 - u32::from(self.have)))).to_be_bytes();
        match self.have {
            2 => out.push(bytes[1]),
            3 => out.extend_from_slice(&bytes[1..3]),
            _ => {}
        }
        *self = Decoder::default();
    }
}

impl Base64Path {
    fn feed(&mut self, needles: &Needles, raw: &[u8]) -> u64 {
        self.decode_runs(raw);
        self.search(needles, false)
    }

    /// Decode the runs in `raw` into each alignment's output.
    fn decode_runs(&mut self, raw: &[u8]) {
        for &b in raw {
            match BASE64_VALUES[usize::from(b)] {
                NOT_BASE64 if b == b'\n' => self.breaks = self.breaks.saturating_add(1),
                NOT_BASE64 if b == b'\r' => {}
                NOT_BASE64 => self.end_run(),
                value => {
                    if self.breaks >= 2 {
                        self.end_run();
                    }
                    self.breaks = 0;
                    self.char(value);
                }
            }
        }
    }

    fn char(&mut self, value: u8) {
        self.run += 1;
        if self.run < MIN_BASE64_RUN {
            self.head.push(value);
            return;
        }
        if self.run == MIN_BASE64_RUN {
            let head = std::mem::take(&mut self.head);
            for (i, &v) in head.iter().enumerate() {
                self.decode(i, v);
            }
        }
        self.decode(self.run - 1, value);
    }

    /// Feed the character at position `at` of the run to every alignment
    /// that has begun by then.
    fn decode(&mut self, at: usize, value: u8) {
        for shift in 0..4.min(at + 1) {
            self.decoders[shift].push(value, &mut self.out[shift]);
        }
    }

    fn end_run(&mut self) {
        if self.run >= MIN_BASE64_RUN {
            for shift in 0..4 {
                // Ends the decoder, ready for the next run.
                self.decoders[shift].end(&mut self.out[shift]);
                // Runs are separate texts: nothing matches across two.
                self.out[shift].push(0);
            }
        }
        // A shorter run was never decoded: its head is dropped.
        self.head.clear();
        self.run = 0;
        self.breaks = 0;
    }

    fn search(&mut self, needles: &Needles, last: bool) -> u64 {
        let mut count = 0;
        for shift in 0..4 {
            if !self.out[shift].is_empty() {
                count += self.texts[shift].feed(needles, &self.out[shift]);
                self.out[shift].clear();
            }
            if last {
                count += self.texts[shift].finish(needles);
            }
        }
        count
    }

    fn finish(&mut self, needles: &Needles) -> u64 {
        self.end_run();
        self.search(needles, true)
    }
}

/// The text a [`ByteSearch`] reads in a stream of bytes, folded, for a
/// word index: decoded as [`ByteSearch`] decodes it (escapes, soft line
/// breaks, base64 at each alignment), [folded](crate::fold()), and cut
/// where a character cannot be text (a control character, a sequence that
/// is not UTF-8). Pieces shorter than [`MIN_NAME_CHARS`] characters, which
/// can hold no name and no address, are left out: a binary file's noise
/// stays out of the index.
///
/// A full-text index of this text finds, by the words of a person's
/// address or name, every stream in which a byte search finds them as
/// words.
#[derive(Default)]
pub struct SearchableText {
    text: TextPiece,
    base64: Base64Path,
    decoded: [TextPiece; 4],
}

impl SearchableText {
    pub fn new() -> SearchableText {
        SearchableText::default()
    }

    /// The text of several streams (a file's name and its bytes), each
    /// read on its own.
    pub fn of(streams: &[&[u8]]) -> String {
        let mut text = SearchableText::new();
        for stream in streams {
            // A piece at a time: the folded copy of a whole file would
            // weigh up to three times the file.
            stream.chunks(64 * 1024).for_each(|piece| text.feed(piece));
            // Not text: what ends one stream never joins the next.
            text.feed(&[0]);
        }
        text.finish()
    }

    /// Read the next bytes of the stream.
    pub fn feed(&mut self, raw: &[u8]) {
        self.text.feed(raw, false);
        self.base64.decode_runs(raw);
        self.take_decoded(false);
    }

    /// Text so far, once one of the decoded texts holds `size` bytes or
    /// more: for an index that takes a long text in parts. What is left of
    /// it begins with the last [`CHUNK_OVERLAP`] bytes of the part returned,
    /// so that every name or address up to that length is whole in one
    /// part.
    pub fn next_part(&mut self, size: usize) -> Option<String> {
        let size = size.max(CHUNK_OVERLAP + 1);
        let out = std::iter::once(&mut self.text.out)
            .chain(self.decoded.iter_mut().map(|d| &mut d.out))
            .find(|out| out.len() >= size)?;
        let mut keep = out.len() - CHUNK_OVERLAP;
        while !out.is_char_boundary(keep) {
            keep -= 1;
        }
        let rest = out[keep..].to_string();
        Some(std::mem::replace(out, rest))
    }

    /// End the stream: its text (what [`next_part`](Self::next_part) has
    /// not returned), one piece per line.
    pub fn finish(&mut self) -> String {
        self.text.feed(&[], true);
        self.base64.end_run();
        self.take_decoded(true);
        let mut out = std::mem::take(&mut self.text.out);
        for decoded in &mut self.decoded {
            out.push_str(&std::mem::take(&mut decoded.out));
        }
        out
    }

    fn take_decoded(&mut self, last: bool) {
        for shift in 0..4 {
            self.decoded[shift].feed(&self.base64.out[shift], last);
            self.base64.out[shift].clear();
        }
    }
}

/// Bytes of text that each part of [`SearchableText::next_part`] repeats
/// of the part before it: more than an address or a name can take.
pub const CHUNK_OVERLAP: usize = 1024;

/// One decoded text on its way to [`SearchableText`]'s output.
#[derive(Default)]
struct TextPiece {
    unescape: Unescape,
    /// Decoded bytes, after an incomplete UTF-8 sequence left by the last
    /// read.
    decoded: Vec<u8>,
    folded: Vec<u8>,
    /// The start of a piece of printable characters, while it is too short
    /// to be kept.
    short: String,
    /// Whether the current piece is long enough and goes to `out` as it
    /// comes.
    kept: bool,
    /// Pieces kept, one per line.
    out: String,
}

impl TextPiece {
    fn feed(&mut self, raw: &[u8], last: bool) {
        self.unescape.feed(raw, &mut self.decoded);
        if last {
            self.unescape.finish(&mut self.decoded);
        }
        // A space at the end of the piece absorbs the next white space.
        self.folded.clear();
        let piece_end = if self.kept {
            self.out.as_str()
        } else {
            self.short.as_str()
        };
        if piece_end.ends_with(' ') {
            self.folded.push(b' ');
        }
        let skip = self.folded.len();
        let read = fold_bytes(&self.decoded, &mut self.folded);
        self.decoded.drain(..read);
        let folded = std::str::from_utf8(&self.folded[skip..]).expect("folded text is UTF-8");
        for c in folded.chars() {
            if c.is_control() || c == '\u{fffd}' {
                end_piece(&mut self.short, &mut self.kept, &mut self.out);
            } else if self.kept {
                self.out.push(c);
            } else if !(c == ' ' && self.short.is_empty()) {
                self.short.push(c);
                if self.short.chars().count() >= MIN_NAME_CHARS {
                    self.out.push_str(&self.short);
                    self.short.clear();
                    self.kept = true;
                }
            }
        }
        if last {
            // What never became a character is not text.
            self.decoded.clear();
            end_piece(&mut self.short, &mut self.kept, &mut self.out);
        }
    }
}

/// End a piece of text: it was kept if it could hold a name or an address.
fn end_piece(short: &mut String, kept: &mut bool, out: &mut String) {
    if *kept {
        out.push('\n');
    }
    short.clear();
    *kept = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard base64 with padding, as a MIME encoder writes it.
    fn encode_base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn zelda() -> Person {
        Person::new(Some("zelda.quennell@example.org"), ["Zoë Ångström"])
    }

    fn count(bytes: &[u8]) -> u64 {
        let person = zelda();
        ByteSearch::new(&person).count(bytes)
    }

    /// Fed in pieces of every size from 1 byte: the same count.
    fn count_in_pieces(bytes: &[u8]) -> Vec<u64> {
        let person = zelda();
        (1..=bytes.len().min(40))
            .map(|size| {
                let mut search = ByteSearch::new(&person);
                bytes.chunks(size).for_each(|c| search.feed(c));
                search.finish()
            })
            .collect()
    }

    #[test]
    fn every_encoding_of_the_address_and_the_name_is_found() {
        let b64 = |s: &str| encode_base64(s.as_bytes());
        let mime = {
            // A vCard inside a MIME part, wrapped at 76 characters.
            let card = format!(
                "BEGIN:VCARD\r\nFN:ZOË ÅNGSTRÖM\r\nEMAIL:Zelda.Quennell+home@Example.org\r\nEND:VCARD\r\n{}",
                "x".repeat(100)
            );
            let encoded = b64(&card);
            let lines: Vec<&str> = encoded
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n--b--",
                lines.join("\r\n")
            )
        };
        let cases: Vec<(String, u64)> = vec![
            ("ZELDA.QUENNELL@EXAMPLE.ORG".into(), 1),
            ("a?to=zelda.quennell%40example.org".into(), 1),
            ("?u=zelda.quennell%40example.org".into(), 1),
            ("?email=ZELDA.QUENNELL=40EXAMPLE.ORG".into(), 1),
            ("Zo%C3%AB%20%C3%85ngstr%c3%b6m".into(), 1),
            ("QP: zelda.quen=\r\nnell=40example.org".into(), 1),
            ("Zo=C3=AB =C3=85ngstr=C3=B6m".into(), 1),
            ("zoe\nangstrom".into(), 1),
            (mime.clone(), 2),
            (
                format!("\"content\":\"{}\"", b64("xx Zelda.Quennell@example.org")),
                1,
            ),
            (
                format!("data:text/plain;base64,{}", b64("ab zoë ångström")),
                1,
            ),
            // Bytes need not be text: a longer address is counted too.
            ("xzelda.quennell@example.org".into(), 1),
            (
                "zelda.quennell@example.com zeldaquennell@example.org".into(),
                0,
            ),
        ];
        for (text, expected) in &cases {
            assert_eq!(count(text.as_bytes()), *expected, "{text}");
            for (size, got) in count_in_pieces(text.as_bytes()).into_iter().enumerate() {
                assert_eq!(got, *expected, "pieces of {} bytes: {text}", size + 1);
            }
        }
    }

    /// The words of the searchable text, fed in pieces of `size` bytes.
    fn words(bytes: &[u8], size: usize) -> String {
        let mut text = SearchableText::new();
        bytes.chunks(size).for_each(|c| text.feed(c));
        let text = text.finish();
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_searchable_text_holds_every_encoding_as_words() {
        let card = "BEGIN:VCARD\r\nFN:ZOË ÅNGSTRÖM\r\nEMAIL:Zelda.Quennell+home@Example.org\r\n";
        let encoded = encode_base64(card.as_bytes());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let mime = format!(
            "\x00\x01Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n",
            lines.join("\r\n")
        );
        for bytes in [
            mime.as_bytes(),
            b"QP: zelda.quen=\r\nnell=40example.org\xff Zo=C3=AB =C3=85ngstr=C3=B6m",
            "?u=zelda.quennell%40example.org&n=Zo%C3%AB%20%C3%85ngstr%c3%b6m".as_bytes(),
        ] {
            for size in [1, 2, 3, 5, 7, 64, bytes.len()] {
                let words = words(bytes, size);
                assert!(words.contains("zelda quennell "), "{size}: {words}");
                assert!(words.contains(" example org"), "{size}: {words}");
                assert!(words.contains("zoe angstrom"), "{size}: {words}");
            }
        }
        // A binary file's noise mostly stays out.
        let noise: Vec<u8> = (0u32..100_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut text = SearchableText::new();
        text.feed(&noise);
        assert!(text.finish().len() < noise.len() / 4);
    }

    #[test]
    fn text_in_parts_holds_every_match_whole_in_one_part() {
        let mut bytes = Vec::new();
        for i in 0..5000 {
            bytes.extend_from_slice(
                format!("line {i} Zelda.Quennell@example.org Zoë Ångström\n").as_bytes(),
            );
        }
        let mut text = SearchableText::new();
        let mut parts = Vec::new();
        for piece in bytes.chunks(1000) {
            text.feed(piece);
            parts.extend(text.next_part(16 * 1024));
        }
        parts.push(text.finish());
        assert!(parts.len() > 5, "{}", parts.len());
        let person = zelda();
        let mut seen = std::collections::BTreeSet::new();
        for part in &parts {
            assert!(part.len() < 16 * 1024 + 2000);
            // Every line number appears with both identifiers in some part.
            for at in part.match_indices("line ").map(|(at, _)| at) {
                let rest = &part[at..];
                let end = rest
                    .find(" zoe angstrom")
                    .map(|e| e + " zoe angstrom".len());
                if let Some(end) = end
                    && ByteSearch::new(&person).count(&rest.as_bytes()[..end]) == 2
                {
                    seen.insert(rest[5..].split(' ').next().unwrap().to_string());
                }
            }
        }
        assert_eq!(seen.len(), 5000);
    }

    #[test]
    fn a_match_across_the_window_is_counted_once() {
        let mut bytes = vec![b'.'; WINDOW - 10];
        bytes.extend_from_slice(b"Zelda.Quennell@Example.org and Zoe Angstrom");
        bytes.extend(vec![b'.'; WINDOW]);
        bytes.extend_from_slice(b"zelda.quennell@example.org");
        assert_eq!(count(&bytes), 3);
        let person = zelda();
        let mut search = ByteSearch::new(&person);
        bytes
            .chunks(8 * 1024 * 1024 / 3)
            .for_each(|c| search.feed(c));
        assert_eq!(search.finish(), 3);
    }
}
