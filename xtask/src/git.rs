//! The few git questions governance asks, each about the repository at a given root.
//!
//! Every call runs `git -C <root> …` through xshell, quietly. A root that is not the top of a
//! git checkout (a test's temporary tree, an unpacked source archive) answers
//! [`is_checkout`] with `false`, and callers skip what needs history, saying so.

use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

fn shell() -> Result<Shell> {
    Shell::new().context("cannot start a shell for git")
}

/// Whether `root` is the top folder of a git work tree.
#[must_use]
pub fn is_checkout(root: &Path) -> bool {
    let Ok(sh) = shell() else { return false };
    let Ok(top) = cmd!(sh, "git -C {root} rev-parse --show-toplevel")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return false;
    };
    match (Path::new(&top).canonicalize(), root.canonicalize()) {
        (Ok(top), Ok(root)) => top == root,
        _ => false,
    }
}

/// Whether the checkout at `root` is a shallow clone (part of its history is missing).
///
/// # Errors
/// When git cannot answer.
pub fn is_shallow(root: &Path) -> Result<bool> {
    let sh = shell()?;
    let answer = cmd!(sh, "git -C {root} rev-parse --is-shallow-repository")
        .quiet()
        .read()
        .context("git cannot tell whether the clone is shallow")?;
    Ok(answer.trim() == "true")
}

/// Whether `rev` names a commit present in the repository.
#[must_use]
pub fn has_commit(root: &Path, rev: &str) -> bool {
    let Ok(sh) = shell() else { return false };
    let object = format!("{rev}^{{commit}}");
    cmd!(sh, "git -C {root} cat-file -e {object}")
        .quiet()
        .ignore_stderr()
        .run()
        .is_ok()
}

/// Whether commit `ancestor` is an ancestor of (or equal to) `descendant`.
///
/// # Errors
/// When git fails for another reason than "not an ancestor".
pub fn is_ancestor(root: &Path, ancestor: &str, descendant: &str) -> Result<bool> {
    let sh = shell()?;
    let output = cmd!(
        sh,
        "git -C {root} merge-base --is-ancestor {ancestor} {descendant}"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("cannot run git merge-base")?;
    match output.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!(
            "git merge-base --is-ancestor {ancestor} {descendant} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// The committer time of `rev`, in Unix seconds.
///
/// # Errors
/// When the commit is unknown.
pub fn commit_time(root: &Path, rev: &str) -> Result<i64> {
    let sh = shell()?;
    let text = cmd!(sh, "git -C {root} show -s --format=%ct {rev}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("git does not know commit {rev}"))?;
    text.trim()
        .parse()
        .with_context(|| format!("git printed an unreadable commit time for {rev}: {text}"))
}

/// The full commit id `rev` resolves to.
///
/// # Errors
/// When `rev` does not name a commit.
pub fn resolve(root: &Path, rev: &str) -> Result<String> {
    let sh = shell()?;
    let object = format!("{rev}^{{commit}}");
    cmd!(sh, "git -C {root} rev-parse --verify --quiet {object}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("`{rev}` does not name a commit of this repository"))
}

/// Every file under `dir` at commit `rev`, repo-relative.
///
/// # Errors
/// When git cannot list the tree.
pub fn files_at(root: &Path, rev: &str, dir: &str) -> Result<Vec<String>> {
    let sh = shell()?;
    let text = cmd!(sh, "git -C {root} ls-tree -r --name-only {rev} -- {dir}")
        .quiet()
        .read()
        .with_context(|| format!("cannot list {dir} at {rev}"))?;
    Ok(text
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The content of `path` at commit `rev`, or `None` when it did not exist there.
///
/// # Errors
/// When git fails otherwise or the content is not UTF-8.
pub fn file_at(root: &Path, rev: &str, path: &str) -> Result<Option<String>> {
    if !files_at(root, rev, path)?
        .iter()
        .any(|listed| listed == path)
    {
        return Ok(None);
    }
    show(root, rev, path).map(Some)
}

/// The content of `path` at commit `rev`, which must exist there.
///
/// # Errors
/// When git cannot show it or the content is not UTF-8.
pub fn show(root: &Path, rev: &str, path: &str) -> Result<String> {
    let sh = shell()?;
    let object = format!("{rev}:{path}");
    let output = cmd!(sh, "git -C {root} show {object}")
        .quiet()
        .output()
        .with_context(|| format!("cannot read {path} at {rev}"))?;
    String::from_utf8(output.stdout).with_context(|| format!("{path} at {rev} is not UTF-8"))
}

/// The newest release tag (`vX.Y.Z`, by version order), if any.
///
/// # Errors
/// When git cannot list tags.
pub fn newest_release_tag(root: &Path) -> Result<Option<String>> {
    let sh = shell()?;
    let text = cmd!(sh, "git -C {root} tag --list v* --sort=-v:refname")
        .quiet()
        .read()
        .context("cannot list git tags")?;
    Ok(text
        .lines()
        .map(str::trim)
        .find(|tag| is_release_tag(tag))
        .map(str::to_owned))
}

/// Whether `tag` is `v` followed by three dot-separated numbers without leading zeros.
#[must_use]
pub fn is_release_tag(tag: &str) -> bool {
    let Some(version) = tag.strip_prefix('v') else {
        return false;
    };
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.bytes().all(|byte| byte.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_tags_are_vxyz() {
        for good in ["v0.1.0", "v1.20.3", "v10.0.0"] {
            assert!(is_release_tag(good), "{good}");
        }
        for bad in [
            "0.1.0",
            "v0.1",
            "v0.1.0-rc1",
            "v01.0.0",
            "v0..1",
            "va.b.c",
            "V1.0.0",
        ] {
            assert!(!is_release_tag(bad), "{bad}");
        }
    }
}
