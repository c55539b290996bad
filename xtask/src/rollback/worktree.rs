//! The temporary `git worktree` a rollback rehearsal runs in, and its cleanup.
//!
//! [`Worktree::add`] checks REF out, detached, in a fresh folder under the system temp dir
//! (`mk-rollback-XXXXXX/worktree`); the current work tree, index and branch are never
//! touched. Dropping the guard — on success, on error, on panic — runs
//! `git worktree remove --force` and `git worktree prune` and deletes the folder.
//!
//! A killed process (Ctrl-C, SIGKILL) runs no destructor. [`sweep`] therefore runs at the
//! start of every rehearsal and removes every worktree of the repository whose path has an
//! `mk-rollback-` folder in it: the leftovers of an interrupted run. Rehearsals of one
//! repository therefore run one at a time.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;
use xshell::{Shell, cmd};

/// The prefix of every rehearsal folder.
pub const FOLDER_PREFIX: &str = "mk-rollback-";

/// A detached worktree that is removed when dropped.
#[derive(Debug)]
pub struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    removed: bool,
    // Declared last so it is dropped after `Drop::drop` has unregistered the worktree.
    folder: TempDir,
}

impl Worktree {
    /// `git worktree add --detach <temp>/worktree <commit>` for the repository at `repo`.
    ///
    /// # Errors
    /// When the folder cannot be created or git refuses.
    pub fn add(repo: &Path, commit: &str) -> Result<Self> {
        let folder = tempfile::Builder::new()
            .prefix(FOLDER_PREFIX)
            .tempdir()
            .context("cannot create a temporary folder for the rehearsal worktree")?;
        let path = folder.path().join("worktree");
        let sh = shell()?;
        let output = cmd!(sh, "git -C {repo} worktree add --detach {path} {commit}")
            .quiet()
            .ignore_status()
            .output()
            .context("cannot run git worktree add")?;
        if !output.status.success() {
            bail!(
                "git worktree add --detach {} {commit} failed: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(Self {
            repo: repo.to_path_buf(),
            path,
            removed: false,
            folder,
        })
    }

    /// The worktree's folder.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unregisters and deletes the worktree now (idempotent).
    ///
    /// # Errors
    /// When git cannot remove it; the folder itself is still deleted when the guard drops.
    pub fn remove(&mut self) -> Result<()> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        let result = remove_worktree(&self.repo, &self.path);
        prune(&self.repo);
        result
    }

    /// The temporary folder holding the worktree (scratch files may go next to it).
    #[must_use]
    pub fn scratch(&self) -> &Path {
        self.folder.path()
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        // Errors cannot propagate from a destructor; `sweep` catches what is left.
        let _ = self.remove();
    }
}

/// Removes every rehearsal worktree of `repo` left by an interrupted run (its path has a
/// folder named `mk-rollback-…`), then prunes stale entries; returns the paths removed.
///
/// # Errors
/// When git cannot list the worktrees.
pub fn sweep(repo: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let here = repo.canonicalize().ok();
    // The first entry is the main worktree: never a leftover, whatever its path.
    for path in list(repo)?.into_iter().skip(1) {
        let leftover = path.components().any(|part| {
            part.as_os_str()
                .to_string_lossy()
                .starts_with(FOLDER_PREFIX)
        });
        // Never the checkout this rehearsal runs from, even if it is itself a rehearsal.
        if !leftover || path.canonicalize().ok() == here {
            continue;
        }
        let _ = remove_worktree(repo, &path);
        let parent = path.parent().filter(|parent| {
            parent
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(FOLDER_PREFIX))
        });
        if let Some(parent) = parent {
            let _ = fs::remove_dir_all(parent);
        }
        removed.push(path);
    }
    prune(repo);
    Ok(removed)
}

/// The paths of every worktree of `repo` (the main one first), as git lists them.
///
/// # Errors
/// When git fails.
pub fn list(repo: &Path) -> Result<Vec<PathBuf>> {
    let sh = shell()?;
    let text = cmd!(sh, "git -C {repo} worktree list --porcelain")
        .quiet()
        .read()
        .context("cannot list git worktrees")?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("worktree "))
        .map(PathBuf::from)
        .collect())
}

fn remove_worktree(repo: &Path, path: &Path) -> Result<()> {
    let sh = shell()?;
    let output = cmd!(sh, "git -C {repo} worktree remove --force {path}")
        .quiet()
        .ignore_status()
        .output()
        .context("cannot run git worktree remove")?;
    if !output.status.success() && path.exists() {
        bail!(
            "git worktree remove --force {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn prune(repo: &Path) {
    if let Ok(sh) = shell() {
        let _ = cmd!(sh, "git -C {repo} worktree prune")
            .quiet()
            .ignore_stderr()
            .run();
    }
}

fn shell() -> Result<Shell> {
    Shell::new().context("cannot start a shell for git")
}
