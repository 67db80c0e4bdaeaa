//! `wasmdesk call` and `wasmdesk bridge`: run plugin commands, one from the
//! shell, or a stream of JSON requests from a PHP/CMS site.

use std::path::Path;

use super::args::CallArgs;
use super::{open_site, output};
use crate::error::Error;
use crate::site::Site;

/// `call PLUGIN.COMMAND JSON`: the result on stdout, each warning of a
/// failed action handler on stderr.
pub fn call(root: &Path, args: &CallArgs, json: bool) -> Result<(), Error> {
    let (plugin, command) = args.op.split_once('.').ok_or_else(|| {
        Error::BadRequest(format!(
            "{:?} is not of the form PLUGIN.COMMAND (e.g. tickets.create)",
            args.op
        ))
    })?;
    let mut site = open_site(root)?;
    let called = site.call(plugin, command, &args.args)?;
    // Recorded before anything is printed: a result the audit log
    // could not record is withheld, on every path.
    site.flush_audit()?;
    for warning in &called.warnings {
        output::to_stderr(format_args!(
            "wasmdesk: warning: {}\n",
            crate::text::single_line(warning)
        ));
    }
    let pretty = serde_json::to_string_pretty(&called.result).expect("a JSON value serializes");
    output::print(json, called.result, || pretty);
    Ok(())
}

/// `bridge`: answer JSON requests, one per line on stdin, until EOF.
pub fn bridge(site: &mut Site, caller: &str) -> Result<(), Error> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    crate::bridge::serve(site, caller, stdin, stdout)
        .map_err(|e| Error::io("the bridge lost its stdin or stdout", e))
}
