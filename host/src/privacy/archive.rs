//! The export archive (GDPR Art. 15 and 20): a zip with `export.json`
//! (machine-readable, schema in docs/privacy.md), `index.html` (the same,
//! for a person) and the files under `files/`.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use zip::write::SimpleFileOptions;

/// Everything exported about one subject.
#[derive(Debug, Serialize)]
pub struct Export {
    pub format: &'static str,
    pub version: u32,
    pub generated_at_ms: i64,
    pub subject: String,
    pub plugins: Vec<PluginExport>,
}

#[derive(Debug, Serialize)]
pub struct PluginExport {
    pub id: String,
    pub version: String,
    pub groups: Vec<Group>,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub id: String,
    pub label: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub id: String,
    pub data: Vec<Field>,
    /// Paths of the item's files inside the archive.
    pub files: Vec<String>,
    #[serde(skip)]
    pub contents: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A file name that cannot leave its folder or hide in the archive.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        "file".to_string()
    } else {
        cleaned
    }
}

/// The path of a file inside the archive.
pub fn file_path(plugin: &str, group: &str, item: &str, name: &str) -> String {
    format!(
        "files/{}/{}/{}/{}",
        safe_name(plugin),
        safe_name(group),
        safe_name(item),
        safe_name(name)
    )
}

/// Write the archive to `out` (through a temporary file, so a failed
/// export leaves no half-written archive).
pub fn write(export: &Export, out: &Path) -> std::io::Result<u64> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut zip = zip::ZipWriter::new(tmp.reopen()?);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let io = |e: zip::result::ZipError| std::io::Error::other(e);
    zip.start_file("export.json", options).map_err(io)?;
    zip.write_all(
        serde_json::to_string_pretty(export)
            .expect("an export serializes")
            .as_bytes(),
    )?;
    zip.start_file("index.html", options).map_err(io)?;
    zip.write_all(html(export).as_bytes())?;
    let mut files = 0;
    for plugin in &export.plugins {
        for group in &plugin.groups {
            for item in &group.items {
                for (path, content) in &item.contents {
                    zip.start_file(path, options).map_err(io)?;
                    zip.write_all(content)?;
                    files += 1;
                }
            }
        }
    }
    zip.finish().map_err(io)?;
    tmp.persist(out).map_err(|e| e.error)?;
    Ok(files)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(export: &Export) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your data: {subject}</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse;margin-bottom:1em}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}th{{width:12em}}</style></head><body>\
         <h1>Personal data about {subject}</h1><p>Exported on {at} (ms since 1970). The same data, machine-readable, is in export.json.</p>",
        subject = escape(&export.subject),
        at = export.generated_at_ms
    );
    if export.plugins.iter().all(|p| p.groups.is_empty()) {
        out.push_str("<p>No personal data about this person was found.</p>");
    }
    for plugin in &export.plugins {
        for group in &plugin.groups {
            out.push_str(&format!("<h2>{}</h2>", escape(&group.label)));
            for item in &group.items {
                out.push_str("<table>");
                for field in &item.data {
                    out.push_str(&format!(
                        "<tr><th>{}</th><td>{}</td></tr>",
                        escape(&field.name),
                        escape(&field.value)
                    ));
                }
                for path in &item.files {
                    out.push_str(&format!(
                        "<tr><th>File</th><td><a href=\"{0}\">{0}</a></td></tr>",
                        escape(path)
                    ));
                }
                out.push_str("</table>");
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}
