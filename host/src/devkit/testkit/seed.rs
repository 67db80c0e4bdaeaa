//! The test kit's seed file, `wasmdesk-test.json`: the steps that store the
//! test people's data, checked whole before anything runs, and the
//! placeholders (`{subject}`, `{other}`, `{NAME.field}`) filled in as they run.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{OTHER, SUBJECT};

/// The keys a seed file may have at its top level.
const TOP_KEYS: &[&str] = &["seed"];
/// The keys of a step that calls a command.
const COMMAND_KEYS: &[&str] = &["command", "args", "plugin", "save"];
/// The keys of a step that fires an action.
const ACTION_KEYS: &[&str] = &["action", "payload"];

/// The parsed `wasmdesk-test.json`.
#[derive(Debug, Default, Clone)]
pub struct Seed {
    pub steps: Vec<Step>,
}

/// One seed step.
#[derive(Debug, Clone)]
pub enum Step {
    /// Call `command` of `plugin` (none: the plugin under test) with
    /// `args`; `save` keeps its result for later steps' placeholders.
    Command {
        plugin: Option<String>,
        command: String,
        args: Value,
        save: Option<String>,
    },
    /// Fire `action` with `payload` to every plugin that handles it.
    Action { action: String, payload: Value },
}

impl Seed {
    /// Read a seed file, or say what is wrong with it: an unknown key (and
    /// the keys allowed there), a step that is neither a command nor an
    /// action, a placeholder no earlier step can fill.
    pub fn parse(text: &str) -> Result<Seed, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "{e} (expected {{\"seed\": [{{\"command\": NAME, \"args\": {{...}}}} \
                 or {{\"action\": EVENT, \"payload\": {{...}}}}]}})"
            )
        })?;
        let Value::Object(top) = doc else {
            return Err(format!(
                "it holds {}, not an object such as {{\"seed\": [...]}}",
                kind(&doc)
            ));
        };
        if let Some(key) = top.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown key {key:?} at the top; the keys allowed there: {}",
                TOP_KEYS.join(", ")
            ));
        }
        let steps = match top.get("seed") {
            None => return Ok(Seed::default()),
            Some(Value::Array(steps)) => steps,
            Some(other) => {
                return Err(format!(
                    "\"seed\" must be a list of steps, not {}",
                    kind(other)
                ));
            }
        };
        let mut saved: Vec<String> = Vec::new();
        let mut parsed = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let step = parse_step(i + 1, step, &saved)?;
            if let Step::Command {
                save: Some(name), ..
            } = &step
            {
                saved.push(name.clone());
            }
            parsed.push(step);
        }
        Ok(Seed { steps: parsed })
    }
}

fn parse_step(n: usize, step: &Value, saved: &[String]) -> Result<Step, String> {
    let Value::Object(fields) = step else {
        return Err(format!(
            "step {n} is {}, not an object such as {{\"command\": NAME, \"args\": {{...}}}}",
            kind(step)
        ));
    };
    if let Some(key) = fields
        .keys()
        .find(|k| !COMMAND_KEYS.contains(&k.as_str()) && !ACTION_KEYS.contains(&k.as_str()))
    {
        return Err(format!(
            "step {n} has an unknown key {key:?}; the keys allowed in a step: {} (a command), \
             {} (an action)",
            COMMAND_KEYS.join(", "),
            ACTION_KEYS.join(", ")
        ));
    }
    let text = |key: &str| -> Result<Option<String>, String> {
        match fields.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(other) => Err(format!(
                "step {n}: {key:?} must be a non-empty string, not {}",
                kind(other)
            )),
        }
    };
    let object = |key: &str| -> Result<Value, String> {
        match fields.get(key) {
            None => Ok(Value::Object(Map::new())),
            Some(value @ Value::Object(_)) => Ok(value.clone()),
            Some(other) => Err(format!(
                "step {n}: {key:?} must be a JSON object, not {}",
                kind(other)
            )),
        }
    };
    let step = match (text("command")?, text("action")?) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "step {n} has both \"command\" and \"action\": a step does one of them"
            ));
        }
        (None, None) => {
            return Err(format!(
                "step {n} has neither \"command\" nor \"action\": say what it does"
            ));
        }
        (Some(command), None) => {
            if let Some(key) = ACTION_KEYS.iter().find(|k| fields.contains_key(**k)) {
                return Err(format!(
                    "step {n} calls a command, so it takes \"args\", not {key:?}; the keys of a \
                     command step: {}",
                    COMMAND_KEYS.join(", ")
                ));
            }
            let plugin = text("plugin")?;
            if let Some(plugin) = &plugin
                && !crate::registry::manifest::valid_id(plugin)
            {
                return Err(format!(
                    "step {n}: {plugin:?} is not a plugin id (lower-case letters, digits and \
                     dashes, such as tickets)"
                ));
            }
            let save = text("save")?;
            if let Some(name) = &save {
                if !is_name(name) || name == "subject" || name == "other" {
                    return Err(format!(
                        "step {n}: \"save\": {name:?} cannot name a result: use letters, digits, \
                         _ and -, starting with a letter, other than subject and other"
                    ));
                }
                if saved.contains(name) {
                    return Err(format!(
                        "step {n} saves its result as {name:?}, which an earlier step already \
                         does: give each saved result its own name"
                    ));
                }
            }
            Step::Command {
                plugin,
                command,
                args: object("args")?,
                save,
            }
        }
        (None, Some(action)) => {
            if let Some(key) = COMMAND_KEYS[1..].iter().find(|k| fields.contains_key(**k)) {
                let why = match *key {
                    "plugin" => "an action goes to every plugin that handles it",
                    "save" => "an action returns nothing to save",
                    _ => "an action takes \"payload\"",
                };
                return Err(format!(
                    "step {n} fires an action, so it cannot have {key:?} ({why}); the keys of an \
                     action step: {}",
                    ACTION_KEYS.join(", ")
                ));
            }
            Step::Action {
                action,
                payload: object("payload")?,
            }
        }
    };
    let value = match &step {
        Step::Command { args, .. } => args,
        Step::Action { payload, .. } => payload,
    };
    for placeholder in placeholders(value) {
        let (name, path) = split(&placeholder);
        if name == "subject" || name == "other" {
            if path.is_some() {
                return Err(format!(
                    "step {n} uses {{{placeholder}}}, but {{{name}}} is an address and has no \
                     fields"
                ));
            }
            continue;
        }
        if !saved.iter().any(|s| s == name) {
            return Err(format!(
                "step {n} uses {{{placeholder}}}, but no earlier step saved a result as {name:?}; \
                 the names it can use: subject, other{} (a step saves its result with \
                 \"save\": NAME)",
                saved.iter().map(|s| format!(", {s}")).collect::<String>()
            ));
        }
    }
    Ok(step)
}

/// What a JSON value is, for an error message.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A saved result's name: letters, digits, `_` and `-`, starting with a
/// letter or `_`.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A placeholder's text between the braces: a name, then `.`-separated
/// keys or list indexes (`t.id`, `t.messages.0.body`).
fn is_placeholder(inner: &str) -> bool {
    let mut parts = inner.split('.');
    parts.next().is_some_and(is_name)
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// `(start, end, inner)` of every placeholder in `s`, `end` past the `}`.
fn spans(s: &str) -> Vec<(usize, usize, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find('{').map(|i| from + i) {
        let Some(close) = s[open + 1..].find('}').map(|i| open + 1 + i) else {
            break;
        };
        let inner = &s[open + 1..close];
        if is_placeholder(inner) {
            found.push((open, close + 1, inner));
            from = close + 1;
        } else {
            from = open + 1;
        }
    }
    found
}

fn split(placeholder: &str) -> (&str, Option<&str>) {
    match placeholder.split_once('.') {
        Some((name, path)) => (name, Some(path)),
        None => (placeholder, None),
    }
}

/// Every placeholder in the strings (and object keys) of `value`.
fn placeholders(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut visit = |s: &str| {
        found.extend(spans(s).into_iter().map(|(_, _, inner)| inner.to_string()));
    };
    walk(value, &mut visit);
    found
}

fn walk(value: &Value, visit: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        Value::Object(fields) => {
            for (key, v) in fields {
                visit(key);
                walk(v, visit);
            }
        }
        _ => {}
    }
}

/// The results earlier steps saved; `None` for a step that failed.
pub type Saved = BTreeMap<String, Option<Value>>;

/// `value` with every placeholder filled in. A string that is one
/// placeholder and nothing else becomes the value itself (`"{t.id}"` ->
/// `7`); inside longer text, a value is written as text.
pub fn fill(value: &Value, saved: &Saved) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => fill_string(s, saved)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, saved))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, v) in fields {
                out.insert(as_text(&fill_string(key, saved)?), fill(v, saved)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn fill_string(s: &str, saved: &Saved) -> Result<Value, String> {
    let spans = spans(s);
    if let [(0, end, inner)] = spans.as_slice()
        && *end == s.len()
    {
        return resolve(inner, saved);
    }
    let mut out = String::new();
    let mut at = 0;
    for (start, end, inner) in spans {
        out.push_str(&s[at..start]);
        out.push_str(&as_text(&resolve(inner, saved)?));
        at = end;
    }
    out.push_str(&s[at..]);
    Ok(Value::String(out))
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn resolve(placeholder: &str, saved: &Saved) -> Result<Value, String> {
    let (name, path) = split(placeholder);
    match name {
        "subject" => return Ok(Value::String(SUBJECT.into())),
        "other" => return Ok(Value::String(OTHER.into())),
        _ => {}
    }
    let result = match saved.get(name) {
        Some(Some(result)) => result,
        Some(None) => {
            return Err(format!(
                "{{{placeholder}}}: the step that saves {name} failed, so this one did not run"
            ));
        }
        None => {
            return Err(format!(
                "{{{placeholder}}}: no step saved a result as {name:?}; saved: {}",
                names(saved)
            ));
        }
    };
    let mut value = result;
    let mut walked = name.to_string();
    for key in path.into_iter().flat_map(|p| p.split('.')) {
        let next = match value {
            Value::Object(fields) => fields.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            let has = match value {
                Value::Object(fields) => format!(
                    "it has: {}",
                    fields.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                Value::Array(items) => format!("it is a list of {}", items.len()),
                other => format!("it is {}", kind(other)),
            };
            return Err(format!(
                "{{{placeholder}}}: {walked} has no {key:?} ({has})"
            ));
        };
        walked.push('.');
        walked.push_str(key);
        value = next;
    }
    Ok(value.clone())
}

fn names(saved: &Saved) -> String {
    if saved.is_empty() {
        "none".into()
    } else {
        saved.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_err(doc: Value) -> String {
        Seed::parse(&doc.to_string()).unwrap_err()
    }

    #[test]
    fn unknown_keys_are_named_with_the_keys_allowed() {
        let top = parse_err(json!({"seed": [], "plugins": ["tickets"]}));
        assert!(top.contains("unknown key \"plugins\""), "{top}");
        assert!(top.contains("allowed there: seed"), "{top}");
        let step = parse_err(json!({"seed": [{"command": "add", "plugins": "tickets"}]}));
        assert!(
            step.contains("step 1 has an unknown key \"plugins\""),
            "{step}"
        );
        assert!(step.contains("command, args, plugin, save"), "{step}");
        assert!(step.contains("action, payload"), "{step}");
    }

    #[test]
    fn a_step_does_one_thing_with_its_own_keys() {
        let both = parse_err(json!({"seed": [{"command": "a", "action": "b"}]}));
        assert!(both.contains("both"), "{both}");
        let neither = parse_err(json!({"seed": [{"args": {}}]}));
        assert!(neither.contains("neither"), "{neither}");
        let plugin = parse_err(json!({"seed": [{"action": "x.y", "plugin": "tickets"}]}));
        assert!(plugin.contains("cannot have \"plugin\""), "{plugin}");
        let save = parse_err(json!({"seed": [{"action": "x.y", "save": "t"}]}));
        assert!(save.contains("returns nothing to save"), "{save}");
        let payload = parse_err(json!({"seed": [{"command": "a", "payload": {}}]}));
        assert!(payload.contains("takes \"args\""), "{payload}");
        let args = parse_err(json!({"seed": [{"command": "a", "args": [1]}]}));
        assert!(args.contains("must be a JSON object"), "{args}");
    }

    #[test]
    fn a_placeholder_must_name_what_an_earlier_step_saved() {
        let doc = json!({"seed": [
            {"command": "create", "args": {"email": "{subject}"}, "save": "t"},
            {"command": "get", "args": {"id": "{u.id}"}},
        ]});
        let e = parse_err(doc);
        assert!(e.contains("step 2 uses {u.id}"), "{e}");
        assert!(e.contains("subject, other, t"), "{e}");
        // Saved by a later step is too late.
        let late = parse_err(json!({"seed": [
            {"command": "get", "args": {"id": "{t.id}"}},
            {"command": "create", "args": {}, "save": "t"},
        ]}));
        assert!(late.contains("step 1 uses {t.id}"), "{late}");
        let twice = parse_err(json!({"seed": [
            {"command": "a", "save": "t"}, {"command": "b", "save": "t"}]}));
        assert!(twice.contains("already"), "{twice}");
        // Braces that are no placeholder are text.
        Seed::parse(
            &json!({"seed": [{"command": "a", "args": {"t": "{} { x } {1}"}}]}).to_string(),
        )
        .unwrap();
    }

    #[test]
    fn placeholders_fill_values_and_text() {
        let mut saved = Saved::new();
        saved.insert(
            "t".into(),
            Some(json!({"id": 7, "customer": {"email": "a@b.c"}, "tags": ["x", "y"]})),
        );
        let filled = fill(
            &json!({
                "id": "{t.id}",
                "who": "{t.customer.email}",
                "tag": "{t.tags.1}",
                "text": "ticket {t.id} for {subject}",
                "all": "{t}",
                "{other}": 1,
            }),
            &saved,
        )
        .unwrap();
        assert_eq!(filled["id"], json!(7), "a whole placeholder keeps its type");
        assert_eq!(filled["who"], json!("a@b.c"));
        assert_eq!(filled["tag"], json!("y"));
        assert_eq!(filled["text"], json!(format!("ticket 7 for {SUBJECT}")));
        assert_eq!(filled["all"]["id"], json!(7));
        assert_eq!(filled[OTHER], json!(1));
        let missing = fill(&json!({"id": "{t.idd}"}), &saved).unwrap_err();
        assert!(missing.contains("t has no \"idd\" (it has: "), "{missing}");
        assert!(missing.contains("customer"), "{missing}");
        saved.insert("u".into(), None);
        let failed = fill(&json!("{u.id}"), &saved).unwrap_err();
        assert!(failed.contains("the step that saves u failed"), "{failed}");
    }
}
