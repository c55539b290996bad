//! Generated blocks inside hand-written documents.
//!
//! A block is the text between a line `<!-- generated:NAME -->` and the next line
//! `<!-- /generated -->`; both markers sit on lines of their own (surrounding whitespace is
//! allowed). `cargo xtask codegen` rewrites only the bodies, so the prose around them stays
//! hand-written. Blocks do not nest, a name appears once per document, and every opening
//! marker has its closing one: anything else is an error naming the line.

use anyhow::{Result, bail};

const OPEN_PREFIX: &str = "<!-- generated:";
const OPEN_SUFFIX: &str = " -->";
const CLOSE: &str = "<!-- /generated -->";

/// One block found in a document: its name and the byte range of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    name: String,
    /// Byte offset of the first body line (just after the opening marker's newline).
    body_start: usize,
    /// Byte offset of the closing marker's line.
    body_end: usize,
}

/// The names of the blocks in `text`, in document order.
///
/// # Errors
/// When a marker is malformed, unbalanced, nested or a name is repeated.
pub fn block_names(text: &str) -> Result<Vec<String>> {
    Ok(blocks(text)?.into_iter().map(|block| block.name).collect())
}

/// The body of block `name` (LF line endings, as stored).
///
/// # Errors
/// When the block is missing or the markers are broken.
pub fn block_body<'t>(text: &'t str, name: &str) -> Result<&'t str> {
    let block = find(text, name)?;
    Ok(&text[block.body_start..block.body_end])
}

/// `text` with the body of block `name` replaced by `body` (a final newline is added when
/// `body` lacks one). Everything outside the block is kept byte for byte.
///
/// # Errors
/// When the block is missing or the markers are broken.
pub fn replace_block(text: &str, name: &str, body: &str) -> Result<String> {
    let block = find(text, name)?;
    let mut out = String::with_capacity(text.len() + body.len());
    out.push_str(&text[..block.body_start]);
    out.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&text[block.body_end..]);
    Ok(out)
}

fn find(text: &str, name: &str) -> Result<Block> {
    let all = blocks(text)?;
    match all.into_iter().find(|block| block.name == name) {
        Some(block) => Ok(block),
        None => bail!(
            "no generated block `{name}`: add the lines `{OPEN_PREFIX}{name}{OPEN_SUFFIX}` and \
             `{CLOSE}` where it belongs, then run `cargo xtask codegen`"
        ),
    }
}

/// Parses every marker line of `text`.
fn blocks(text: &str) -> Result<Vec<Block>> {
    let mut found: Vec<Block> = Vec::new();
    // (name, line number, body start) of the block being read.
    let mut open: Option<(String, usize, usize)> = None;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed == CLOSE {
            match open.take() {
                Some((name, _, body_start)) => found.push(Block {
                    name,
                    body_start,
                    body_end: line_start,
                }),
                None => bail!(
                    "line {number}: `{CLOSE}` without an opening `{OPEN_PREFIX}NAME{OPEN_SUFFIX}`"
                ),
            }
        } else if let Some(rest) = trimmed.strip_prefix(OPEN_PREFIX) {
            let Some(name) = rest.strip_suffix(OPEN_SUFFIX) else {
                bail!(
                    "line {number}: malformed marker `{trimmed}` (expected `{OPEN_PREFIX}NAME{OPEN_SUFFIX}`)"
                );
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                bail!("line {number}: a generated block needs a one-word name: `{trimmed}`");
            }
            if let Some((outer, outer_line, _)) = &open {
                bail!(
                    "line {number}: block `{name}` opens inside block `{outer}` (opened on line \
                     {outer_line}, never closed): add `{CLOSE}` before it"
                );
            }
            if found.iter().any(|block| block.name == name) {
                bail!("line {number}: block `{name}` appears twice; keep one");
            }
            open = Some((name.to_owned(), number, offset));
        }
    }
    if let Some((name, line, _)) = open {
        bail!("line {line}: block `{name}` is never closed: add `{CLOSE}` after its body");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# T\n\n<!-- generated:a -->\nold\n<!-- /generated -->\ntail\n";

    #[test]
    fn replaces_only_the_body() {
        let out = replace_block(DOC, "a", "new\nlines").unwrap();
        assert_eq!(
            out,
            "# T\n\n<!-- generated:a -->\nnew\nlines\n<!-- /generated -->\ntail\n"
        );
        assert_eq!(block_body(&out, "a").unwrap(), "new\nlines\n");
        assert_eq!(block_names(&out).unwrap(), ["a"]);
    }

    #[test]
    fn broken_markers_are_errors() {
        let cases = [
            ("<!-- generated:a -->\nx\n", "never closed"),
            ("x\n<!-- /generated -->\n", "without an opening"),
            (
                "<!-- generated:a -->\n<!-- generated:b -->\n<!-- /generated -->\n",
                "opens inside block `a`",
            ),
            (
                "<!-- generated:a -->\n<!-- /generated -->\n<!-- generated:a -->\n<!-- /generated -->\n",
                "appears twice",
            ),
            (
                "<!-- generated:a b -->\n<!-- /generated -->\n",
                "one-word name",
            ),
            ("<!-- generated:a ->\n", "malformed marker"),
        ];
        for (text, expected) in cases {
            let error = block_names(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        let error = replace_block(DOC, "b", "x").unwrap_err().to_string();
        assert!(error.contains("no generated block `b`"), "{error}");
    }
}
