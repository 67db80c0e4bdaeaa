//! The plugin log: lines a plugin writes through the `log` import or prints,
//! kept per call and appended to `SITE/logs/PLUGIN.log` when the call ends.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

/// Most lines kept from one call; the rest are counted, not kept.
const MAX_LINES: usize = 1_000;
/// Longest line kept, in bytes.
const MAX_LINE: usize = 4_096;

#[derive(Debug, Default)]
pub struct CallLog {
    lines: Vec<(SystemTime, &'static str, String)>,
    dropped: usize,
}

impl CallLog {
    pub fn push(&mut self, level: &'static str, message: &str) {
        if self.lines.len() >= MAX_LINES {
            self.dropped += 1;
            return;
        }
        // One entry is one line: a newline or an escape sequence in what the
        // plugin wrote is kept visibly escaped, never interpreted.
        let message = crate::text::single_line(message);
        let mut end = message.len().min(MAX_LINE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        self.lines
            .push((SystemTime::now(), level, message[..end].to_string()));
    }

    pub fn push_stream(&mut self, stream: &'static str, line: &str) {
        self.push(stream, line);
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.dropped == 0
    }

    /// The last lines, for an error report.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let start = self.lines.len().saturating_sub(n);
        self.lines[start..]
            .iter()
            .map(|(_, level, m)| format!("{level}: {m}"))
            .collect()
    }

    /// Append to `dir/PLUGIN.log`. Logging must never fail a call, so an
    /// unwritable log is reported on stderr and otherwise ignored.
    pub fn append_to(&self, dir: &Path, plugin: &str, operation: &str) {
        if self.is_empty() {
            return;
        }
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{plugin}.log")))?;
            let mut out = String::new();
            for (at, level, message) in &self.lines {
                let at = humantime::format_rfc3339_millis(*at);
                let operation = crate::text::single_line(operation);
                out.push_str(&format!("{at} {level:<6} [{operation}] {message}\n"));
            }
            if self.dropped > 0 {
                let at = humantime::format_rfc3339_millis(SystemTime::now());
                out.push_str(&format!(
                    "{at} warn   [{operation}] {} more lines dropped\n",
                    self.dropped
                ));
            }
            file.write_all(out.as_bytes())
        })();
        if let Err(e) = result {
            // Never eprintln!: it panics when stderr is a closed pipe.
            let _ = writeln!(
                std::io::stderr(),
                "wasmdesk: warning: cannot write the log of plugin {plugin:?}: {e}"
            );
        }
    }
}
