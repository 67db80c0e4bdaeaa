//! Times on the command line: an RFC 3339 timestamp (`2026-11-23T08:00:00Z`),
//! a date (`2026-11-23`, midnight UTC), or an age (`90m`, `24h`, `7d` ago).

/// Parse `text` into ms since the epoch; `now_ms` anchors ages.
pub fn parse(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if text.parse::<jiff::civil::Date>().is_ok()
        && let Ok(ts) = format!("{text}T00:00:00Z").parse::<jiff::Timestamp>()
    {
        return Ok(ts.as_millisecond());
    }
    let unit = text.chars().last().unwrap_or(' ');
    let scale = match unit {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => 0,
    };
    if let Ok(n) = text[..text.len() - unit.len_utf8().min(text.len())].parse::<u32>()
        && scale > 0
    {
        return Ok(now_ms - i64::from(n) * scale);
    }
    Err(format!(
        "{text:?} is not a time: give an RFC 3339 timestamp (2026-11-23T08:00:00Z), \
         a date (2026-11-23) or an age (90m, 24h, 7d)"
    ))
}

/// `2026-11-23 08:00:00` (UTC).
pub fn format_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps_dates_and_ages() {
        assert_eq!(parse("1970-01-02", 0), Ok(86_400_000));
        assert_eq!(parse("1970-01-01T00:00:01Z", 0), Ok(1000));
        assert_eq!(parse("2h", 10_000_000), Ok(10_000_000 - 7_200_000));
        assert_eq!(parse("7d", 7 * 86_400_000), Ok(0));
        assert!(parse("yesterday", 0).is_err());
        assert!(parse("", 0).is_err());
        assert!(parse("h", 0).is_err());
    }

    #[test]
    fn formats_in_utc() {
        assert_eq!(format_ms(86_400_000), "1970-01-02 00:00:00");
    }
}
