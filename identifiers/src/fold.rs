//! Folding: text rewritten so that spellings of the same identifier become
//! equal, with a map back to the bytes of the original.

use std::ops::Range;

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Folded text and, for each of its bytes, where in the original text the
/// character it came from begins (4 bytes per byte: a 1 MB message folds in
/// 5 MB, inside a plugin's memory too).
#[derive(Debug, Clone, Default)]
pub struct Folded {
    pub text: String,
    starts: Vec<u32>,
    /// The original text's length.
    len: usize,
}

impl Folded {
    fn push(&mut self, folded: &str, original_start: usize) {
        self.text.push_str(folded);
        let start = u32::try_from(original_start).unwrap_or(u32::MAX);
        self.starts.extend(std::iter::repeat_n(start, folded.len()));
    }

    fn start_of(&self, folded_at: usize) -> usize {
        self.starts.get(folded_at).map_or(self.len, |&s| s as usize)
    }

    /// The bytes of the original text that `range` of the folded text came
    /// from: up to where the character after it begins, so white space
    /// folded into one space is covered whole.
    pub fn original(&self, range: Range<usize>) -> Range<usize> {
        self.start_of(range.start)..self.start_of(range.end).max(self.start_of(range.start))
    }
}

/// Append the folded form of `c` to `out`: lower case with accents and
/// other combining marks dropped, any white space as one space (a space
/// already at the end of `out` absorbs it).
pub fn fold_char(c: char, out: &mut String) {
    if is_folded_space(c) {
        if !out.ends_with(' ') {
            out.push(' ');
        }
        return;
    }
    fold_letter(c, |d| out.push(d));
}

/// Whether `c` folds into a space. ASCII's vertical tab is not one, as
/// [`u8::is_ascii_whitespace`] says.
fn is_folded_space(c: char) -> bool {
    if c.is_ascii() {
        (c as u8).is_ascii_whitespace()
    } else {
        c.is_whitespace()
    }
}

/// The folded form of `c`, which is not white space, a character at a time.
fn fold_letter(c: char, mut push: impl FnMut(char)) {
    if c.is_ascii() {
        push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        decompose_canonical(lower, |d| {
            if !is_combining_mark(d) {
                push(d);
            }
        });
    }
}

/// Append `bytes`, folded as [`fold_char`] folds each character, to `out`
/// (text so far folded the same way). A sequence that is not UTF-8 becomes
/// U+FFFD, which no folded identifier contains. Returns how many bytes were
/// read: the rest is a character cut off by the end of `bytes`, to be read
/// again with what follows.
///
/// The same as folding `bytes` a character at a time, faster: the proof
/// folds every byte of a database.
pub(crate) fn fold_bytes(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii() {
            if b.is_ascii_whitespace() {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            } else {
                out.push(b.to_ascii_lowercase());
            }
            at += 1;
            continue;
        }
        let rest = &bytes[at..bytes.len().min(at + 4)];
        let (c, len) = match std::str::from_utf8(rest) {
            Ok(text) => first_char(text),
            Err(e) if e.valid_up_to() > 0 => {
                first_char(std::str::from_utf8(&rest[..e.valid_up_to()]).expect("checked"))
            }
            Err(e) => match e.error_len() {
                Some(len) => ('\u{fffd}', len),
                // Cut off: only the end of `bytes` can cut a character.
                None if at + rest.len() == bytes.len() => return at,
                None => ('\u{fffd}', 1),
            },
        };
        let mut piece = [0u8; 4];
        if is_folded_space(c) {
            if out.last() != Some(&b' ') {
                out.push(b' ');
            }
        } else {
            fold_letter(c, |d| {
                out.extend_from_slice(d.encode_utf8(&mut piece).as_bytes());
            });
        }
        at += len;
    }
    at
}

fn first_char(text: &str) -> (char, usize) {
    let c = text.chars().next().expect("a character");
    (c, c.len_utf8())
}

/// `text` folded for comparing names: see [`fold_char`].
pub fn fold(text: &str) -> Folded {
    let mut folded = Folded {
        len: text.len(),
        ..Folded::default()
    };
    let mut piece = String::new();
    for (at, c) in text.char_indices() {
        piece.clear();
        if c.is_whitespace() && folded.text.ends_with(' ') {
            // The space already written now stands for this one too.
            continue;
        }
        fold_char(c, &mut piece);
        folded.push(&piece, at);
    }
    folded
}

/// `text` folded for comparing addresses: ASCII letters in lower case,
/// `%40` and `=40` (percent-encoding, quoted-printable) as `@`; every other
/// character unchanged.
pub fn fold_ascii(text: &str) -> Folded {
    let mut folded = Folded {
        len: text.len(),
        ..Folded::default()
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut piece = [0u8; 4];
    while at < bytes.len() {
        if matches!(bytes[at], b'%' | b'=') && bytes[at + 1..].starts_with(b"40") {
            folded.push("@", at);
            at += 3;
            continue;
        }
        let c = text[at..].chars().next().expect("at a char boundary");
        let len = c.len_utf8();
        folded.push(c.to_ascii_lowercase().encode_utf8(&mut piece), at);
        at += len;
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_bytes_is_folding_each_character() {
        let texts: [&[u8]; 6] = [
            "İ  Zoë\u{a0}%40 \t\x0b ÅNGSTRÖM\r\n".as_bytes(),
            b"plain ascii  with\ttabs",
            b"\xff\xfeZo\xc3\xab\xe2\x82",
            b"cut \xe2\x82",
            b"\xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\xaf end",
            b"",
        ];
        for bytes in texts {
            let mut expected = String::new();
            for chunk in bytes.utf8_chunks() {
                chunk
                    .valid()
                    .chars()
                    .for_each(|c| fold_char(c, &mut expected));
                if !chunk.invalid().is_empty() {
                    expected.push('\u{fffd}');
                }
            }
            let mut out = Vec::new();
            let read = fold_bytes(bytes, &mut out);
            let cut = bytes.len() - read;
            let expected_text = if cut > 0 {
                // The cut character is left to the next read.
                let mut e = String::new();
                for chunk in bytes[..read].utf8_chunks() {
                    chunk.valid().chars().for_each(|c| fold_char(c, &mut e));
                    if !chunk.invalid().is_empty() {
                        e.push('\u{fffd}');
                    }
                }
                e
            } else {
                expected
            };
            let got = String::from_utf8(out).expect("folded bytes are UTF-8");
            // Invalid sequences may become one U+FFFD each or one per run.
            let squeeze = |s: &str| s.replace("\u{fffd}\u{fffd}", "\u{fffd}");
            assert_eq!(squeeze(&got), squeeze(&expected_text), "{bytes:?}");
        }
        assert_eq!(fold_bytes(b"cut \xe2\x82", &mut Vec::new()), 4);
    }

    #[test]
    fn folding_keeps_a_map_to_the_original() {
        let text = "İ  Zoë\u{a0}%40";
        let f = fold(text);
        assert_eq!(f.text, "i zoe %40");
        // "zoe" came from "Zoë".
        let at = f.text.find("zoe").unwrap();
        assert_eq!(&text[f.original(at..at + 3)], "Zoë");
        // The one space stands for both spaces.
        assert_eq!(&text[f.original(1..2)], "  ");
        assert_eq!(&text[f.original(0..f.text.len())], text);
        let a = fold_ascii("A%40B=40c");
        assert_eq!(a.text, "a@b@c");
        assert_eq!(a.original(1..2), 1..4);
    }
}
