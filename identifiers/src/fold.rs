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
    if c.is_ascii() {
        if c.is_ascii_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
        return;
    }
    if c.is_whitespace() {
        if !out.ends_with(' ') {
            out.push(' ');
        }
        return;
    }
    for lower in c.to_lowercase() {
        decompose_canonical(lower, |d| {
            if !is_combining_mark(d) {
                out.push(d);
            }
        });
    }
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
