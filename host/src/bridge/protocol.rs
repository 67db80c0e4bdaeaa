//! The bridge's wire format: requests and responses, one JSON object per
//! line, versioned.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::io::BufRead;

use crate::error::Error;

/// Bumped on any incompatible change; present in every response.
pub const PROTOCOL_VERSION: u32 = 1;

/// `{"id": any, "op": "PLUGIN.COMMAND" | host op, "args": {...}}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub id: Value,
    pub op: String,
    #[serde(default = "empty_object")]
    pub args: Value,
    /// Who is asking, as the CMS knows them (`wp:user:7`): recorded in the
    /// audit log. Defaults to the bridge's `--caller`.
    #[serde(default)]
    pub caller: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Debug, Serialize)]
pub struct Response {
    pub v: u32,
    pub id: Value,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// Action handlers that failed after the command committed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

impl Response {
    pub fn ok(id: Value, result: Value, warnings: Vec<String>) -> Response {
        Response {
            v: PROTOCOL_VERSION,
            id,
            ok: true,
            result: Some(result),
            error: None,
            warnings,
        }
    }

    pub fn error(id: Value, error: &Error) -> Response {
        Response {
            v: PROTOCOL_VERSION,
            id,
            ok: false,
            result: None,
            error: Some(ErrorBody {
                code: error.code().as_str(),
                message: error.to_string(),
            }),
            warnings: vec![],
        }
    }
}

/// The longest request line, in bytes: 16 MiB, or `WASMDESK_BRIDGE_MAX_LINE`.
pub fn max_line() -> usize {
    std::env::var("WASMDESK_BRIDGE_MAX_LINE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(16 * 1024 * 1024)
}

/// Read the next line as bytes into `buf` (at most `max` of them kept).
/// `None` at the end of input; otherwise the line, or why it is no request:
/// too long (the rest of it is skipped), blank, or not UTF-8.
pub fn read_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<Result<String, Error>>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let (chunk, used, end) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if end {
            break;
        }
    }
    if too_long {
        return Ok(Some(Err(Error::BadRequest(format!(
            "the request line is longer than {max} bytes and was skipped \
             (the limit is set with WASMDESK_BRIDGE_MAX_LINE)"
        )))));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Err(Error::BadRequest(
            "an empty line is no request: send one JSON object per line".into(),
        ))));
    }
    Ok(Some(String::from_utf8(std::mem::take(buf)).map_err(|e| {
        Error::BadRequest(format!(
            "the request is not valid UTF-8 (an invalid byte at offset {}): encode it as UTF-8 \
             (in PHP: json_encode with JSON_INVALID_UTF8_SUBSTITUTE)",
            e.utf8_error().valid_up_to()
        ))
    })))
}

/// Parse one line into a request, or say what is wrong with it.
pub fn parse(line: &str) -> Result<Request, Error> {
    let shape = || {
        "the request is not {\"id\": ..., \"op\": \"PLUGIN.COMMAND\", \"args\": {...}}".to_string()
    };
    let value: Value =
        serde_json::from_str(line).map_err(|e| Error::BadRequest(format!("{}: {e}", shape())))?;
    // An array would be read field by field: only an object is a request.
    if !value.is_object() {
        return Err(Error::BadRequest(format!(
            "{}: it is not an object",
            shape()
        )));
    }
    if let Value::Number(n) = &value["id"]
        && !(n.is_i64() || n.is_u64())
    {
        return Err(Error::BadRequest(format!(
            "a number as request id must be a whole number within 64 bits, so that it comes \
             back exactly (use a string for anything else), not {}",
            crate::text::single_line(&n.to_string().chars().take(40).collect::<String>())
        )));
    }
    let request: Request = serde_json::from_value(value)
        .map_err(|e| Error::BadRequest(format!("{}: {e}", shape())))?;
    if !request.args.is_object() {
        return Err(Error::BadRequest(format!(
            "args must be a JSON object, not {}",
            request.args
        )));
    }
    Ok(request)
}

/// The id of a line that did not parse as a request, when it has a usable
/// one (a string or a 64-bit whole number).
pub fn id_of(line: &str) -> Value {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .filter(|id| match id {
            Value::Number(n) => n.is_i64() || n.is_u64(),
            _ => true,
        })
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line read from any bytes: how many lines and how many of them
    /// are requests.
    fn lines(bytes: &[u8], max: usize) -> Vec<Result<String, Error>> {
        let mut input = std::io::BufReader::with_capacity(7, bytes);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut input, &mut buf, max).unwrap() {
            out.push(line);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_one_answer_per_line_and_no_panic(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..12),
        ) {
            let mut bytes = Vec::new();
            for chunk in &chunks {
                bytes.extend(chunk.iter().copied().filter(|b| *b != b'\n'));
                bytes.push(b'\n');
            }
            let read = lines(&bytes, 16);
            proptest::prop_assert_eq!(read.len(), chunks.len());
            for line in read.into_iter().flatten() {
                let _ = parse(&line);
                let _ = id_of(&line);
            }
        }

        #[test]
        fn any_text_parses_or_gets_an_error(text in ".{0,200}") {
            let _ = parse(&text);
            let _ = id_of(&text);
        }
    }

    #[test]
    fn bad_lines_are_answered_not_fatal() {
        let read = lines(
            b"\xff\xfe{}\n\n[1,\"site.info\"]\n0123456789abcdefghij0123456789\n{\"op\":\"site.info\"}\r\n",
            20,
        );
        assert_eq!(read.len(), 5);
        assert!(
            read[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("not valid UTF-8")
        );
        assert!(
            read[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("empty line")
        );
        assert!(
            parse(read[2].as_ref().unwrap())
                .unwrap_err()
                .to_string()
                .contains("not an object")
        );
        assert!(
            read[3]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("longer than 20 bytes")
        );
        assert!(parse(read[4].as_ref().unwrap()).is_ok());
        let big = parse(r#"{"id": 184467440737095516160, "op": "site.info"}"#).unwrap_err();
        assert!(big.to_string().contains("within 64 bits"), "{big}");
    }

    #[test]
    fn a_request_needs_an_op_and_object_args() {
        assert!(parse(r#"{"id": 1, "op": "tickets.get", "args": {"id": 3}}"#).is_ok());
        assert!(parse(r#"{"op": "site.info"}"#).is_ok());
        assert!(parse(r#"{"id": 1}"#).is_err());
        assert!(parse(r#"{"id": 1, "op": "x.y", "args": [1]}"#).is_err());
        assert!(parse(r#"{"id": 1, "op": "x.y", "extra": true}"#).is_err());
        assert!(parse("not json").is_err());
    }

    #[test]
    fn a_bad_line_keeps_its_id_when_it_has_one() {
        assert_eq!(
            id_of(r#"{"id": "r7", "args": 3}"#),
            Value::String("r7".into())
        );
        assert_eq!(id_of("{broken"), Value::Null);
    }
}
