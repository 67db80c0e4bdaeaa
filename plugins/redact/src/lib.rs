//! The `redact` plugin: a `message.body` filter that masks payment card
//! numbers (Luhn-checked) and IBANs (mod-97-checked) before a message is
//! stored, so agents never keep them in clear.

pub mod mask;

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        inline: r#"
            package wasmdesk-plugins:redact;
            world redact {
                include wasmdesk:plugin/base@1.1.0;
                export wasmdesk:plugin/hooks@1.1.0;
            }
        "#,
        path: "../../wit",
        generate_all,
    });

    use exports::wasmdesk::plugin::hooks;
    use exports::wasmdesk::plugin::manifest::{self, FilterInfo, PluginManifest};

    struct Redact;

    impl manifest::Guest for Redact {
        fn get() -> PluginManifest {
            PluginManifest {
                id: "redact".into(),
                version: "0.1.0".into(),
                description:
                    "Masks payment card numbers and IBANs in messages before they are stored."
                        .into(),
                capabilities: vec![],
                commands: vec![],
                actions: vec![],
                filters: vec![FilterInfo {
                    name: "message.body".into(),
                    priority: 10,
                }],
                processing: None,
            }
        }
    }

    impl hooks::Guest for Redact {
        fn on_action(_event: String, _payload: String) -> Result<(), String> {
            Ok(())
        }

        fn apply_filter(filter: String, value: String) -> Result<String, String> {
            if filter != "message.body" {
                return Ok(value);
            }
            match serde_json::from_str::<serde_json::Value>(&value) {
                Ok(serde_json::Value::String(body)) => {
                    let (masked, found) = crate::mask::mask(&body);
                    if found > 0 {
                        wasmdesk::plugin::log::write(
                            wasmdesk::plugin::log::Level::Info,
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

    export!(Redact);
}
