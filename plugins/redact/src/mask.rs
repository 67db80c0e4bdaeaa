//! Finding and masking card numbers and IBANs in free text. Pure functions,
//! tested natively (`cargo test -p redact`).

/// Mask every valid card number (all but its last four digits) and every
/// valid IBAN (all but its country code and last four characters). Returns
/// the text and how many numbers were masked.
pub fn mask(text: &str) -> (String, usize) {
    let mut chars: Vec<char> = text.chars().collect();
    let mut found = 0;
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if boundary {
            if let Some(end) = card_at(&chars, i) {
                mask_range(&mut chars, i, end, 0, 4);
                found += 1;
                i = end;
                continue;
            }
            if let Some(end) = iban_at(&chars, i) {
                mask_range(&mut chars, i, end, 2, 4);
                found += 1;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    (chars.into_iter().collect(), found)
}

/// Replace the alphanumerics in `start..end` with `*`, keeping the first
/// `keep_head` and the last `keep_tail` of them (separators stay).
fn mask_range(chars: &mut [char], start: usize, end: usize, keep_head: usize, keep_tail: usize) {
    let total = chars[start..end]
        .iter()
        .filter(|c| c.is_alphanumeric())
        .count();
    let mut seen = 0;
    for c in &mut chars[start..end] {
        if c.is_alphanumeric() {
            if seen >= keep_head && seen < total.saturating_sub(keep_tail) {
                *c = '*';
            }
            seen += 1;
        }
    }
}

fn ends_word(chars: &[char], end: usize) -> bool {
    end == chars.len() || !chars[end].is_alphanumeric()
}

/// A card number starting at `start`: 13 to 19 digits, single spaces or
/// dashes between them, passing the Luhn check. Returns its end.
fn card_at(chars: &[char], start: usize) -> Option<usize> {
    if !chars[start].is_ascii_digit() {
        return None;
    }
    let mut digits = Vec::new();
    let mut i = start;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            digits.push(chars[i] as u8 - b'0');
            i += 1;
        } else if (chars[i] == ' ' || chars[i] == '-')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            i += 1;
        } else {
            break;
        }
    }
    ((13..=19).contains(&digits.len()) && ends_word(chars, i) && luhn(&digits)).then_some(i)
}

pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An IBAN starting at `start`: two letters, two digits, then letters and
/// digits, 15 to 34 in all, either unbroken or in groups of four separated
/// by single spaces, passing the mod-97 check. Returns its end.
fn iban_at(chars: &[char], start: usize) -> Option<usize> {
    let head: Vec<char> = chars.get(start..start + 4)?.to_vec();
    if !(head[0].is_ascii_alphabetic()
        && head[1].is_ascii_alphabetic()
        && head[2].is_ascii_digit()
        && head[3].is_ascii_digit())
    {
        return None;
    }
    // Candidate ends: after each group (spaced form) or the unbroken token.
    let mut ends = Vec::new();
    let mut i = start;
    let mut group = 0;
    while i < chars.len() && chars[i].is_ascii_alphanumeric() {
        i += 1;
        group += 1;
        if i < chars.len()
            && chars[i] == ' '
            && group == 4
            && chars.get(i + 1).is_some_and(char::is_ascii_alphanumeric)
        {
            ends.push(i);
            i += 1;
            group = 0;
        }
    }
    ends.push(i);
    ends.into_iter().rev().find(|&end| {
        let compact: Vec<char> = chars[start..end]
            .iter()
            .filter(|c| **c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (15..=34).contains(&compact.len()) && ends_word(chars, end) && mod97(&compact)
    })
}

fn mod97(iban: &[char]) -> bool {
    let rearranged = iban[4..].iter().chain(&iban[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged {
        remainder = match c.to_digit(36) {
            Some(v) if v < 10 => (remainder * 10 + v) % 97,
            Some(v) => (remainder * 100 + v) % 97,
            None => return false,
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_card_numbers_keep_only_their_last_four_digits() {
        assert_eq!(
            mask("card 4111 1111 1111 1111 thanks").0,
            "card **** **** **** 1111 thanks"
        );
        assert_eq!(mask("4111-1111-1111-1111").0, "****-****-****-1111");
        assert_eq!(mask("amex 378282246310005.").0, "amex ***********0005.");
    }

    #[test]
    fn numbers_that_fail_luhn_or_are_the_wrong_length_stay() {
        let text = "order 4111 1111 1111 1112, phone 0123456789, id 12345678901234567890123";
        assert_eq!(mask(text), (text.to_string(), 0));
    }

    #[test]
    fn ibans_keep_their_country_and_last_four() {
        assert_eq!(
            mask("IBAN DE89 3704 0044 0532 0130 00 please").0,
            "IBAN DE** **** **** **** **30 00 please"
        );
        assert_eq!(mask("gb82west12345698765432").0, "gb****************5432");
    }

    #[test]
    fn an_iban_with_a_wrong_check_stays() {
        let text = "DE89370400440532013001";
        assert_eq!(mask(text).1, 0);
    }

    #[test]
    fn several_numbers_in_one_text_are_all_masked() {
        let (masked, found) =
            mask("4111111111111111 and 5500 0000 0000 0004 and NL91ABNA0417164300");
        assert_eq!(found, 3);
        assert!(!masked.contains("411111111111"));
        assert!(masked.contains("0004") && masked.contains("NL") && masked.ends_with("4300"));
    }
}
