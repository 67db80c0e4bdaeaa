//! `wasmdesk bridge`: JSON lines for PHP/CMS callers. One request per line
//! on stdin, one response per line on stdout, until EOF (docs/bridge.md).

mod protocol;

use std::io::{BufReader, Read, Write};

use serde_json::{Value, json};

pub use protocol::{PROTOCOL_VERSION, Request, Response};

use crate::audit::Actor;
use crate::error::Error;
use crate::privacy::requests::RequestKind;
use crate::privacy::{Scope, Subject};
use crate::registry::Status;
use crate::site::{CallOutput, Site};

/// Answer requests from `input` on `output` until EOF. A malformed line
/// gets a `bad_request` response; the bridge then goes on with the next.
/// `caller` names whoever a request without its own `caller` comes from.
///
/// An answer never leaves before its record: answers wait until the audit
/// entries of the calls they answer are written, which happens when no
/// more requests are waiting (requests sent together share one
/// transaction), or every [`HELD_ANSWERS`] answers. A failure to record
/// them is their answer.
pub fn serve(
    site: &mut Site,
    caller: &str,
    input: impl Read,
    mut output: impl Write,
) -> std::io::Result<()> {
    let mut input = BufReader::new(input);
    let max_line = protocol::max_line();
    let mut bytes = Vec::new();
    // Each answer, and whether it waits for its call's audit entry.
    let mut held: Vec<(Response, bool)> = Vec::new();
    loop {
        // Bytes, not a String: one invalid byte is an error for its line,
        // never the end of the bridge.
        let parsed = match protocol::read_line(&mut input, &mut bytes, max_line)? {
            None => break,
            Some(Err(error)) => Err((Value::Null, error)),
            Some(Ok(line)) => protocol::parse(&line).map_err(|e| (protocol::id_of(&line), e)),
        };
        let pending_before = site.pending_audit_entries();
        let response = match parsed {
            Ok(request) => {
                let id = request.id.clone();
                site.set_actor(Actor::bridge(request.caller.as_deref().unwrap_or(caller)));
                match handle(site, request) {
                    Ok(output) => Response::ok(id, output.result, output.warnings),
                    Err(error) => Response::error(id, &error),
                }
            }
            Err((id, error)) => Response::error(id, &error),
        };
        // A failed call keeps its own error; a successful one waits for
        // its record.
        let awaits_record = response.ok && site.pending_audit_entries() > pending_before;
        held.push((response, awaits_record));
        if input.buffer().is_empty() || held.len() >= HELD_ANSWERS {
            answer(site, &mut held, &mut output)?;
        }
    }
    answer(site, &mut held, &mut output)
}

/// Most answers held back to share one audit transaction.
const HELD_ANSWERS: usize = 64;

/// Write the pending audit entries, then the held answers. If the entries
/// cannot be written, the answers whose record was among them become the
/// error (a call that wrote keeps its answer: its entry was committed with
/// its writes).
fn answer(
    site: &mut Site,
    held: &mut Vec<(Response, bool)>,
    output: &mut impl Write,
) -> std::io::Result<()> {
    let recorded = site.flush_audit();
    for (mut response, pending) in held.drain(..) {
        if let (Err(error), true) = (&recorded, pending) {
            response = Response::error(response.id.clone(), error);
        }
        serde_json::to_writer(&mut *output, &response)?;
        output.write_all(b"\n")?;
    }
    output.flush()
}

fn subject_arg(args: &Value) -> Result<Subject, Error> {
    let email = args["email"]
        .as_str()
        .ok_or_else(|| Error::BadRequest("email is required".into()))?;
    let mut subject = Subject::new(email, args["name"].as_str())?;
    // `"identifiers": {"phone": "+44 ...", "street": "..."}`
    if let Some(map) = args["identifiers"].as_object() {
        for (kind, value) in map {
            let value = value
                .as_str()
                .ok_or_else(|| Error::BadRequest(format!("identifiers.{kind} must be a string")))?;
            subject.add_identifier(kind, value)?;
        }
    }
    Ok(subject)
}

/// Run one request against the site: a host op, a privacy op, or a
/// plugin's command (`PLUGIN.COMMAND`).
pub fn handle(site: &mut Site, request: Request) -> Result<CallOutput, Error> {
    let result = match request.op.as_str() {
        "site.info" => site_info(site)?,
        "plugin.list" => plugin_list(site)?,
        op => match privacy_op(site, op, &request.args)? {
            Some(result) => result,
            None => {
                let Some((plugin, command)) = op.split_once('.') else {
                    return Err(Error::UnknownOp(format!(
                        "unknown op {op:?}: use PLUGIN.COMMAND, site.info or plugin.list"
                    )));
                };
                return site.call(plugin, command, &request.args.to_string());
            }
        },
    };
    Ok(CallOutput {
        result,
        warnings: vec![],
    })
}

/// `site.info`: the protocol, the version, the site and its enabled plugins.
fn site_info(site: &mut Site) -> Result<Value, Error> {
    let enabled: Vec<String> = site
        .plugins()?
        .into_iter()
        .filter(|p| p.status == Status::Enabled)
        .map(|p| p.id)
        .collect();
    Ok(json!({
        "protocol": PROTOCOL_VERSION,
        "wasmdesk": env!("CARGO_PKG_VERSION"),
        "site": site.paths().root.display().to_string(),
        "plugins": enabled,
    }))
}

/// `plugin.list`: every plugin with its status and commands.
fn plugin_list(site: &mut Site) -> Result<Value, Error> {
    let plugins: Vec<Value> = site
        .plugins()?
        .iter()
        .map(|p| {
            let commands: Vec<&str> = p
                .manifest
                .as_ref()
                .map(|m| m.commands.iter().map(|c| c.name.as_str()).collect())
                .unwrap_or_default();
            json!({
                "id": p.id,
                "status": p.status,
                "version": p.manifest.as_ref().map(|m| m.version.clone()),
                "note": p.note,
                "commands": commands,
            })
        })
        .collect();
    Ok(json!(plugins))
}

/// A `privacy.*` op's result; `None` for any other op (it goes to a
/// plugin, and `privacy` is no plugin's id).
fn privacy_op(site: &mut Site, op: &str, args: &Value) -> Result<Option<Value>, Error> {
    Ok(Some(match op {
        "privacy.request" => {
            let subject = subject_arg(args)?;
            let kind = match args["kind"].as_str() {
                Some("export") => RequestKind::Export,
                Some("erase") => RequestKind::Erase,
                _ => {
                    return Err(Error::BadRequest(
                        "kind must be \"export\" or \"erase\"".into(),
                    ));
                }
            };
            json!(site.create_request(kind, &subject)?)
        }
        "privacy.confirm" => {
            let token = args["token"]
                .as_str()
                .ok_or_else(|| Error::BadRequest("token is required".into()))?;
            json!(site.confirm_request(token)?)
        }
        "privacy.requests" => {
            json!(site.requests(args["overdue"].as_bool().unwrap_or(false))?)
        }
        "privacy.run" => {
            let id = args["id"]
                .as_i64()
                .ok_or_else(|| Error::BadRequest("id is required (an integer)".into()))?;
            json!(site.run_request(id, None)?)
        }
        "privacy.export" => {
            let subject = subject_arg(args)?;
            let out = args["out"]
                .as_str()
                .map(std::path::PathBuf::from)
                .ok_or_else(|| {
                    Error::BadRequest("out (where to write the zip) is required".into())
                })?;
            json!(site.export_subject(&subject, &out)?)
        }
        "privacy.export-page" => {
            let subject = subject_arg(args)?;
            json!(site.export_page(&subject, args["cursor"].as_str())?)
        }
        "privacy.erase-page" => {
            let subject = subject_arg(args)?;
            json!(site.erase_page(&subject, args["cursor"].as_str())?)
        }
        "privacy.erase" => {
            let subject = subject_arg(args)?;
            let dry_run = args["dry_run"].as_bool().unwrap_or(false);
            let full_scan = args["full_scan"].as_bool().unwrap_or(false);
            let quick = args["quick"].as_bool().unwrap_or(false);
            // As the CLI: everything by default; a preview searches no rows
            // unless asked.
            let scope = if quick || (dry_run && !full_scan) {
                Scope::Subject
            } else {
                Scope::Full
            };
            json!(site.erase_subject(&subject, dry_run, scope)?)
        }
        _ => return Ok(None),
    }))
}
