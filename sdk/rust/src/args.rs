//! Command arguments: a command gets one JSON document; these turn it into
//! typed values, or into a `bad-request` error that names the field.
//!
//! ```
//! use wasmdesk_plugin::{Email, args};
//!
//! #[derive(serde::Deserialize, Debug)]
//! struct Add {
//!     email: Email,
//!     text: String,
//!     #[serde(default)]
//!     pinned: bool,
//! }
//!
//! let add: Add = args::parse(r#"{"email": " Ada@Example.com", "text": "hi"}"#).unwrap();
//! assert_eq!(add.email.as_str(), "ada@example.com");
//! assert!(!add.pinned);
//!
//! let missing = args::parse::<Add>(r#"{"email": "ada@example.com"}"#).unwrap_err();
//! assert_eq!(missing.to_string(), r#"CommandError::BadRequest("text is required")"#);
//! let wrong = args::parse::<Add>(r#"{"email": "ada@example.com", "text": 5}"#).unwrap_err();
//! assert!(wrong.to_string().contains("text: invalid type: integer `5`"));
//! ```

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::{Map, Value as Json};

use crate::CommandError;

/// Parse a command's arguments into `T`. Errors are `bad-request`s:
/// `arguments are not JSON: ...`, `FIELD is required` for a missing field,
/// `FIELD: ...` for a field of the wrong type or value.
pub fn parse<T: DeserializeOwned>(args: &str) -> Result<T, CommandError> {
    from_json(json(args)?)
}

/// [`parse`] for arguments already read as JSON.
pub fn from_json<T: DeserializeOwned>(args: Json) -> Result<T, CommandError> {
    let result = match args {
        Json::Object(fields) => T::deserialize(Fields(fields)),
        other => T::deserialize(other).map_err(|e| de::Error::custom(format!("arguments: {e}"))),
    };
    result.map_err(|e| CommandError::BadRequest(message(&e)))
}

/// A command's arguments as a JSON value, for commands that read them
/// field by field (`bad-request` "arguments are not JSON: ...").
pub fn json(args: &str) -> Result<Json, CommandError> {
    serde_json::from_str(args)
        .map_err(|e| CommandError::BadRequest(format!("arguments are not JSON: {e}")))
}

/// The string `field` of `args`, trimmed; `bad-request` "FIELD is required
/// (a non-empty string)" when it is missing, empty or not a string.
pub fn required_str<'a>(args: &'a Json, field: &str) -> Result<&'a str, CommandError> {
    match args[field].as_str().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(CommandError::BadRequest(format!(
            "{field} is required (a non-empty string)"
        ))),
    }
}

/// The e-mail address in `field` of `args`, trimmed and lower-cased, as
/// [`Email`] checks it; `bad-request` naming the field otherwise.
pub fn email(args: &Json, field: &str) -> Result<String, CommandError> {
    let text = required_str(args, field)?;
    Email::parse(text)
        .map(Email::into_string)
        .map_err(|reason| CommandError::BadRequest(format!("{field} {reason}")))
}

/// An e-mail address, trimmed and lower-cased (as the host hands a data
/// subject's address to the privacy exporter and eraser), that passes
/// RFC 5321's basic limits: one `@`, 1 to 64 bytes before it, a dotted
/// domain after it, at most 254 bytes in all, no spaces or control
/// characters. As a field of an argument struct, a bad address is a
/// `bad-request` naming the field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    /// Check and normalise `text`; the error says why it is not an address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let email = text.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty()
                    && user.len() <= 64
                    && !host.contains('@')
                    && host.contains('.')
                    && host.split('.').all(|l| !l.is_empty() && l.len() <= 63)
            });
        if valid {
            Ok(Self(email))
        } else {
            let shown: String = email.chars().take(80).collect();
            Err(format!(
                "{shown:?} is not an e-mail address (one @, at most 64 bytes before it and 254 in all, no spaces)"
            ))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for Email {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Email::parse(&text).map_err(de::Error::custom)
    }
}

impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// serde's messages, in the words of a command error.
fn message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        Some(field) => format!("{field} is required"),
        None => text,
    }
}

/// The top-level object of the arguments, deserialized so that an error in
/// one field's value is prefixed with the field's name (serde_json's own
/// deserializer does not say which field a type error is in).
struct Fields(Map<String, Json>);

impl<'de> de::Deserializer<'de> for Fields {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Entries {
            entries: self.0.into_iter(),
            next: None,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Entries {
    entries: serde_json::map::IntoIter,
    next: Option<(String, Json)>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((name, value)) = self.entries.next() else {
            return Ok(None);
        };
        let key = seed.deserialize(name.as_str().into_deserializer())?;
        self.next = Some((name, value));
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (name, value) = self
            .next
            .take()
            .ok_or_else(|| de::Error::custom("a value was asked for before its field"))?;
        seed.deserialize(value)
            .map_err(|e| de::Error::custom(format!("{name}: {e}")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Reply {
        id: i64,
        body: String,
        from: Option<String>,
        to: Email,
    }

    fn bad(result: Result<Reply, CommandError>) -> String {
        match result {
            Err(CommandError::BadRequest(message)) => message,
            other => panic!("not a bad request: {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_argument_object_parses() {
        let r: Reply = parse(r#"{"id": 3, "body": "hi", "to": "A@B.org "}"#).unwrap();
        assert_eq!((r.id, r.body.as_str(), r.from), (3, "hi", None));
        assert_eq!(r.to.as_str(), "a@b.org");
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            bad(parse(r#"{"body": "hi", "to": "a@b.org"}"#)),
            "id is required"
        );
        let wrong = bad(parse(r#"{"id": "3", "body": "hi", "to": "a@b.org"}"#));
        assert!(
            wrong.starts_with("id: invalid type: string \"3\""),
            "{wrong}"
        );
        let address = bad(parse(r#"{"id": 3, "body": "hi", "to": "nobody"}"#));
        assert!(
            address.starts_with("to: \"nobody\" is not an e-mail address"),
            "{address}"
        );
        let syntax = bad(parse("{"));
        assert!(syntax.starts_with("arguments are not JSON: "), "{syntax}");
        let shape = bad(parse(r#""text""#));
        assert!(
            shape.starts_with("arguments: invalid type: string"),
            "{shape}"
        );
    }

    #[test]
    fn field_helpers_trim_and_check() {
        let args = serde_json::json!({"email": " Ada@Example.COM ", "name": "  ", "bad": "a@@b.c"});
        assert_eq!(email(&args, "email").unwrap(), "ada@example.com");
        assert_eq!(
            required_str(&args, "name").unwrap_err().to_string(),
            r#"CommandError::BadRequest("name is required (a non-empty string)")"#
        );
        let CommandError::BadRequest(m) = email(&args, "bad").unwrap_err() else {
            panic!()
        };
        assert!(
            m.starts_with("bad \"a@@b.c\" is not an e-mail address"),
            "{m}"
        );
    }

    #[test]
    fn rfc_5321_limits() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        for bad in ["", "a", "@b.c", "a@b", "a@.c", "a@b.", "a b@c.d", "a@b@c.d"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&long_local).is_err());
        assert!(Email::parse(&long_label).is_err());
        assert!(Email::parse(&format!("{}@e.com", "a".repeat(64))).is_ok());
    }
}
