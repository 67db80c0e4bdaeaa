//! Neutralising text that comes from a plugin before a person reads it: a
//! manifest, a log line, an error message. Control characters (C0, DEL,
//! C1, so ESC and BEL), bidirectional overrides and isolates, zero-width
//! characters and line breaks are shown escaped (`\x1b`, `\u{202e}`, `\n`),
//! never interpreted, so a plugin cannot move the cursor, recolour, hide or
//! reorder what the owner approves, or start a forged line in a log. JSON
//! output needs none of this: JSON escapes it itself.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal or a log as it is.
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061C}'              // Arabic letter mark
            | '\u{180E}'              // Mongolian vowel separator
            | '\u{FEFF}'              // zero-width no-break space
        )
}

/// `text` on one line with every hazard escaped: `\n`, `\t`, `\x1b`,
/// `\u{202e}`. Borrowed when there was nothing to escape.
pub fn single_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_hazard(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept_and_borrowed() {
        assert!(matches!(
            single_line("Tickets: 12 (ünïcode ok)"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escapes_bidi_newlines_and_zero_width_are_shown_not_interpreted() {
        assert_eq!(
            single_line("a\x1b[2Kb\x07c\nd\u{202e}e\u{200b}f\u{7f}\u{9b}"),
            "a\\x1b[2Kb\\x07c\\nd\\u{202e}e\\u{200b}f\\x7f\\x9b"
        );
    }
}
