//! The bridge's wire format: requests and responses, one JSON object per
//! line, versioned.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// Parse one line into a request, or say what is wrong with it.
pub fn parse(line: &str) -> Result<Request, Error> {
    let request: Request = serde_json::from_str(line).map_err(|e| {
        Error::BadRequest(format!(
            "the request is not {{\"id\": ..., \"op\": \"PLUGIN.COMMAND\", \"args\": {{...}}}}: {e}"
        ))
    })?;
    if !request.args.is_object() {
        return Err(Error::BadRequest(format!(
            "args must be a JSON object, not {}",
            request.args
        )));
    }
    Ok(request)
}

/// The id of a line that did not parse as a request, when it has one.
pub fn id_of(line: &str) -> Value {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

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
