//! The user docs render as written: no section left empty, no table split
//! in two by a blank line (its second half would show as plain text).

use std::path::Path;

/// What is wrong with one Markdown page, one line per problem.
fn problems(page: &str) -> Vec<String> {
    let lines: Vec<&str> = page.lines().collect();
    let mut found = Vec::new();
    let mut in_code = false;
    // (line number, level) of the heading whose section has no text yet.
    let mut open_heading: Option<(usize, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
            open_heading = None;
            continue;
        }
        if in_code || line.trim().is_empty() {
            continue;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if level > 0 && line[level..].starts_with(' ') {
            if let Some((at, open)) = open_heading
                && level <= open
            {
                found.push(format!(
                    "line {}: {:?} has nothing under it",
                    at + 1,
                    lines[at]
                ));
            }
            open_heading = Some((i, level));
            continue;
        }
        open_heading = None;
        let starts_table = line.starts_with('|') && (i == 0 || !lines[i - 1].starts_with('|'));
        let separator = lines
            .get(i + 1)
            .is_some_and(|next| next.starts_with('|') && next.chars().all(|c| "|-: ".contains(c)));
        if starts_table && !separator {
            found.push(format!(
                "line {}: a table row without a header (a blank line splits a table?): {line:?}",
                i + 1
            ));
        }
    }
    if let Some((at, _)) = open_heading {
        found.push(format!(
            "line {}: {:?} has nothing under it",
            at + 1,
            lines[at]
        ));
    }
    found
}

#[test]
fn no_docs_page_has_an_empty_section_or_a_split_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ lies in the workspace");
    let mut pages: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.push(root.join("README.md"));
    pages.sort();
    let mut all = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for problem in problems(&text) {
            all.push(format!("{}: {problem}", page.display()));
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_check_finds_an_empty_heading_and_a_split_table() {
    let page =
        "# Title\n\n## Empty\n\n## Full\n\nText.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n";
    assert_eq!(
        problems(page),
        [
            "line 3: \"## Empty\" has nothing under it",
            "line 13: a table row without a header (a blank line splits a table?): \"| 3 | 4 |\""
        ]
    );
}
