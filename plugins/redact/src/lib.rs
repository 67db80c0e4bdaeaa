//! The `redact` plugin: a `message.body` filter that masks payment card
//! numbers (Luhn-checked) and IBANs (mod-97-checked) before a message is
//! stored, so agents never keep them in clear.

pub mod mask;

#[cfg(target_arch = "wasm32")]
mod component {
    use wasmdesk_plugin::Plugin;
    use wasmdesk_plugin::log::{self, Level};
    use wasmdesk_plugin::manifest::PluginManifest;

    struct Redact;

    impl Plugin for Redact {
        fn manifest() -> PluginManifest {
            PluginManifest::new(
                "redact",
                "0.1.0",
                "Masks payment card numbers and IBANs in messages before they are stored.",
            )
            .filter("message.body", 10)
        }

        fn apply_filter(filter: &str, value: String) -> Result<String, String> {
            if filter != "message.body" {
                return Ok(value);
            }
            match serde_json::from_str::<serde_json::Value>(&value) {
                Ok(serde_json::Value::String(body)) => {
                    let (masked, found) = crate::mask::mask(&body);
                    if found > 0 {
                        log::write(
                            Level::Info,
                            &format!("masked {found} card number(s) or IBAN(s) in a message"),
                        );
                    }
                    Ok(serde_json::Value::String(masked).to_string())
                }
                Ok(other) => Err(format!("message.body must be a string, not {other}")),
                Err(e) => Err(format!("message.body is not JSON: {e}")),
            }
        }
    }

    wasmdesk_plugin::export!(Redact, [hooks]);
}
