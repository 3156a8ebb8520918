//! The project's design documents live in `docs/`, and the repository cites nothing else: no
//! file cites the original brief (a file outside the repository), every `docs/<page>.md` a
//! file cites exists, and so does every section it quotes (`docs/<page>.md, "Section"` names a
//! heading of that page). The pages' own links resolve, and the index (`docs/README.md`) links
//! every page. Only reads files: no hardware model is built or run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The brief's file name, spelled so that this file does not cite it.
const BRIEF: &str = concat!("DESIGN", ".md");
/// Where the brief lived, outside the repository.
const OUTSIDE: &str = concat!("/work", "/shared/");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// Whether the rule covers the file at `rel` (a path relative to the repository root): Rust,
/// Markdown, shell, Python and C++ files, Makefiles, and Verilog under `formal/`.
fn covered(rel: &Path) -> bool {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = rel.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "rs" | "md" | "sh" | "py" | "cpp" | "h")
        || name == "Makefile"
        || (rel.starts_with("formal") && matches!(ext, "v" | "sv"))
}

/// Every covered file under `dir`, as paths relative to `root`. Build outputs (`target/`,
/// `out/` at the root) and the git directory are not the repository's files.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .expect("inside the root")
            .to_path_buf();
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if matches!(name, ".git" | "target" | "node_modules") || rel == Path::new("out") {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out);
        } else if covered(&rel) {
            out.push(rel);
        }
    }
}

/// The headings of a Markdown page (outside fenced code blocks), without their `#`s.
fn headings(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = vec![];
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(line.trim_start_matches('#').trim().to_string());
        }
    }
    out
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A section name quoted right after a citation (`, "Name"`), which may wrap onto the next
/// lines of a comment: each line break, with the next line's indentation and comment marker,
/// reads as one space. `None` if no quote follows; `Err` if it is not closed within 4 lines.
fn quoted_section(rest: &str) -> Option<Result<String, ()>> {
    let body = rest.strip_prefix(", \"")?;
    let mut name = String::new();
    for (n, line) in body.lines().take(4).enumerate() {
        let line = if n == 0 {
            line
        } else {
            let t = line.trim_start();
            let t = ["//!", "///", "//", "#", "*"]
                .iter()
                .find_map(|m| t.strip_prefix(m))
                .unwrap_or(t);
            name.push(' ');
            t.trim_start()
        };
        if let Some(end) = line.find('"') {
            name.push_str(&line[..end]);
            return Some(Ok(name));
        }
        name.push_str(line.trim_end());
    }
    Some(Err(()))
}

/// What is wrong with the citations in `text` (the contents of `file`), given every docs
/// page and its headings: citations of the brief or of its directory, of a page that does not
/// exist, or of a section the page does not have.
fn citation_errors(file: &str, text: &str, pages: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut errors = vec![];
    for needle in [BRIEF, OUTSIDE] {
        for (i, _) in text.match_indices(needle) {
            errors.push(format!(
                "{file}:{}: cites {needle}, which is outside the repository: cite docs/ instead",
                line_of(text, i)
            ));
        }
    }
    for (i, _) in text.match_indices("docs/") {
        // `mydocs/`, or part of a URL: not a citation of this repository's docs.
        if text[..i].chars().next_back().is_some_and(is_name_char) {
            continue;
        }
        let token_start = text[..i]
            .rfind(|c: char| c.is_whitespace() || "(<`\"'[".contains(c))
            .map_or(0, |p| p + 1);
        if text[token_start..i].contains("://") {
            continue;
        }
        let after = &text[i + "docs/".len()..];
        let name_len = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let Some(rest) = after[name_len..].strip_prefix(".md") else {
            continue;
        };
        if name.is_empty() || rest.starts_with(is_name_char) {
            continue;
        }
        let line = line_of(text, i);
        let Some(page_headings) = pages.get(name) else {
            errors.push(format!(
                "{file}:{line}: cites docs/{name}.md, which does not exist"
            ));
            continue;
        };
        match quoted_section(rest) {
            Some(Err(())) => errors.push(format!(
                "{file}:{line}: the section quoted after docs/{name}.md is not closed"
            )),
            Some(Ok(section)) if !page_headings.contains(&section) => errors.push(format!(
                "{file}:{line}: cites section \"{section}\" of docs/{name}.md, which has no \
                 such heading"
            )),
            _ => {}
        }
    }
    errors
}

/// Relative link targets (`](target)`) in a Markdown text that are not URLs or anchors, with
/// their line numbers; the anchor part is dropped.
fn relative_links(text: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = &rest[..end];
        if target.is_empty()
            || target.starts_with('#')
            || target.contains("://")
            || target.starts_with("mailto:")
        {
            continue;
        }
        let path = target.split('#').next().unwrap_or(target);
        out.push((line_of(text, i), path.to_string()));
    }
    out
}

/// Every page in `docs/` and its headings, by page name (`iommu` for `docs/iommu.md`).
fn docs_pages(root: &Path) -> BTreeMap<String, Vec<String>> {
    let dir = root.join("docs");
    let mut pages = BTreeMap::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some("md") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = fs::read_to_string(&path).expect("docs page");
            pages.insert(name, headings(&text));
        }
    }
    pages
}

#[test]
fn no_file_cites_the_brief_or_a_docs_page_or_section_that_does_not_exist() {
    let root = repo_root();
    let pages = docs_pages(&root);
    assert!(pages.contains_key("README"), "docs/README.md is missing");
    let mut files = vec![];
    walk(&root, &root, &mut files);
    assert!(
        files.iter().any(|f| f == Path::new("rtl/src/iommu/mod.rs")),
        "the walk missed the sources"
    );
    let mut errors = vec![];
    for rel in &files {
        let bytes = fs::read(root.join(rel)).expect("readable file");
        let text = String::from_utf8_lossy(&bytes);
        errors.extend(citation_errors(&rel.display().to_string(), &text, &pages));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn docs_links_resolve_and_the_index_links_every_page() {
    let root = repo_root();
    let pages = docs_pages(&root);
    let mut errors = vec![];
    let mut texts = vec![(PathBuf::from("README.md"), root.join("README.md"))];
    for name in pages.keys() {
        let rel = PathBuf::from(format!("docs/{name}.md"));
        texts.push((rel.clone(), root.join(rel)));
    }
    for (rel, path) in &texts {
        let text = fs::read_to_string(path).expect("Markdown file");
        let dir = path.parent().expect("a directory");
        for (line, target) in relative_links(&text) {
            if !dir.join(&target).exists() {
                errors.push(format!(
                    "{}:{line}: links to {target}, which does not exist",
                    rel.display()
                ));
            }
        }
    }
    let index = fs::read_to_string(root.join("docs/README.md")).expect("docs/README.md");
    let linked: Vec<String> = relative_links(&index).into_iter().map(|(_, t)| t).collect();
    for name in pages.keys().filter(|n| *n != "README") {
        if !linked.iter().any(|t| *t == format!("{name}.md")) {
            errors.push(format!("docs/README.md does not link docs/{name}.md"));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_checker_finds_bad_citations_and_accepts_good_ones() {
    let pages: BTreeMap<String, Vec<String>> = [(
        "iommu".to_string(),
        vec![
            "The IOMMU".to_string(),
            "Changing the tables under DMA".to_string(),
        ],
    )]
    .into_iter()
    .collect();
    let check = |text: &str| citation_errors("f.rs", text, &pages);

    assert!(check("//! The IOMMU (docs/iommu.md): ...").is_empty());
    assert!(check("//! (docs/iommu.md, \"Changing the tables under DMA\")").is_empty());
    assert!(
        check("//! see docs/iommu.md, \"Changing the tables\n//! under DMA\"), and more")
            .is_empty(),
        "a section name wrapped onto the next comment line"
    );
    assert!(
        check("//! * (docs/iommu.md, \"Changing the\n//!   tables under DMA\")").is_empty(),
        "wrapped inside an indented list item"
    );
    assert!(check("see https://example.org/docs/nothing.md and mydocs/x.md").is_empty());
    assert!(check("docs/ and docs/<page>.md are not citations").is_empty());

    let brief = check(&format!("//! The IOMMU ({BRIEF} §3)"));
    assert_eq!(brief.len(), 1, "{brief:?}");
    assert_eq!(check(&format!("see {OUTSIDE}notes")).len(), 1);
    let missing = check("//! (docs/nic.md)");
    assert!(
        missing[0].contains("docs/nic.md, which does not exist"),
        "{missing:?}"
    );
    let section = check("//! (docs/iommu.md, \"Changing tables\")");
    assert!(section[0].contains("no such heading"), "{section:?}");
    let open = check("//! (docs/iommu.md, \"never closed");
    assert!(open[0].contains("not closed"), "{open:?}");
    assert_eq!(
        check("line 1\nline 2 docs/nic.md")[0],
        "f.rs:2: cites docs/nic.md, which does not exist"
    );
}
