//! The reproducible release build of the binaries.
//!
//! `cargo build --release --locked` of each binary, in a target folder of its own, with
//! everything that would put the checkout's place, its user or the time into the bytes taken
//! out: `--remap-path-prefix` maps the workspace root, cargo's home (registry sources) and the
//! target folder to fixed names, given through `CARGO_ENCODED_RUSTFLAGS` to this child build
//! only (any `RUSTFLAGS`, `CARGO_BUILD_RUSTFLAGS` and `CARGO_PROFILE_*` of the caller are
//! removed from its environment, so the caller's own builds are untouched and cannot leak in);
//! `SOURCE_DATE_EPOCH` is set from the commit. Same commit, same toolchain: same bytes, from
//! any checkout path.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The product binaries a release ships: (package, binary).
pub const PRODUCT_BINARIES: [(&str, &str); 2] = [
    ("memory-kernel-cli", "mk"),
    ("memory-kernel-service", "memory-kernel-service"),
];

/// The cargo profile of a release build.
pub const PROFILE: &str = "release";
/// What the workspace root is remapped to.
pub const REMAPPED_WORKSPACE: &str = "/memorykernel";
/// What cargo's home is remapped to.
pub const REMAPPED_CARGO_HOME: &str = "/cargo";
/// What the target folder is remapped to.
pub const REMAPPED_TARGET: &str = "/target";

/// One binary to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinarySpec {
    /// Its package.
    pub package: String,
    /// Its name.
    pub bin: String,
}

impl BinarySpec {
    /// The product binaries ([`PRODUCT_BINARIES`]).
    #[must_use]
    pub fn product() -> Vec<Self> {
        PRODUCT_BINARIES
            .iter()
            .map(|(package, bin)| Self {
                package: (*package).to_owned(),
                bin: (*bin).to_owned(),
            })
            .collect()
    }

    /// The file name on this platform (`mk`, `mk.exe`).
    #[must_use]
    pub fn file_name(&self) -> String {
        format!("{}{}", self.bin, std::env::consts::EXE_SUFFIX)
    }
}

/// Where and how to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// The workspace root.
    pub root: PathBuf,
    /// The build's own target folder.
    pub target_dir: PathBuf,
    /// Cargo's home (registry sources live under it).
    pub cargo_home: PathBuf,
    /// `SOURCE_DATE_EPOCH`.
    pub source_date_epoch: u64,
    /// Pass `--quiet` to cargo.
    pub quiet: bool,
}

/// Cargo's home: `$CARGO_HOME`, else `.cargo` in the user's home folder.
///
/// # Errors
/// When neither `CARGO_HOME` nor a home folder variable is set.
pub fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|v| !v.is_empty())
        .context("neither CARGO_HOME nor HOME is set: cannot tell where cargo's home is")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

impl BuildSettings {
    /// The (local folder, remapped name, placeholder) triples, most general first: rustc
    /// applies the last matching `--remap-path-prefix`, so the target folder (often inside the
    /// workspace) comes last. A folder whose canonical path differs from the given one (a
    /// symlink in it) is mapped under both spellings.
    fn remaps(&self) -> Vec<(PathBuf, &'static str, &'static str)> {
        let mut remaps = Vec::new();
        for (path, to, placeholder) in [
            (&self.cargo_home, REMAPPED_CARGO_HOME, "<cargo-home>"),
            (&self.root, REMAPPED_WORKSPACE, "<workspace>"),
            (&self.target_dir, REMAPPED_TARGET, "<target-dir>"),
        ] {
            remaps.push((path.clone(), to, placeholder));
            if let Ok(canonical) = path.canonicalize()
                && canonical != *path
            {
                remaps.push((canonical, to, placeholder));
            }
        }
        remaps
    }

    /// The rustflags given to the build (absolute local paths).
    #[must_use]
    pub fn rustflags(&self) -> Vec<OsString> {
        self.remaps()
            .into_iter()
            .map(|(from, to, _)| {
                let mut flag = OsString::from("--remap-path-prefix=");
                flag.push(from.as_os_str());
                flag.push("=");
                flag.push(to);
                flag
            })
            .collect()
    }

    /// The rustflags as recorded in the provenance: local folders as placeholders, so the
    /// record does not depend on where the checkout was.
    #[must_use]
    pub fn recorded_rustflags(&self) -> Vec<String> {
        let mut flags: Vec<String> = self
            .remaps()
            .into_iter()
            .map(|(_, to, placeholder)| format!("--remap-path-prefix={placeholder}={to}"))
            .collect();
        flags.dedup();
        flags
    }

    /// `CARGO_ENCODED_RUSTFLAGS`: the flags joined by 0x1f.
    fn encoded_rustflags(&self) -> OsString {
        let mut encoded = OsString::new();
        for (index, flag) in self.rustflags().iter().enumerate() {
            if index > 0 {
                encoded.push("\u{1f}");
            }
            encoded.push(flag);
        }
        encoded
    }
}

/// Builds `binaries` and returns each one's path in the target folder, in order.
///
/// # Errors
/// When cargo fails (a stale `Cargo.lock` under `--locked`, a compile error) or a binary is
/// not where cargo puts it.
pub fn build(settings: &BuildSettings, binaries: &[BinarySpec]) -> Result<Vec<PathBuf>> {
    if binaries.is_empty() {
        bail!("no binary to build");
    }
    let sh = Shell::new().context("cannot start a shell for cargo")?;
    sh.change_dir(&settings.root);
    let cargo = crate::cargo_program();
    let target_dir = &settings.target_dir;
    let mut args: Vec<OsString> = Vec::new();
    for binary in binaries {
        args.extend(["--package".into(), binary.package.clone().into()]);
    }
    for binary in binaries {
        args.extend(["--bin".into(), binary.bin.clone().into()]);
    }
    if settings.quiet {
        args.push("--quiet".into());
    }
    let mut command = cmd!(
        sh,
        "{cargo} build --release --locked --target-dir {target_dir} {args...}"
    )
    .env("CARGO_ENCODED_RUSTFLAGS", settings.encoded_rustflags())
    .env("SOURCE_DATE_EPOCH", settings.source_date_epoch.to_string())
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_BUILD_RUSTFLAGS")
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CARGO_PROFILE_") {
            command = command.env_remove(name);
        }
    }
    command
        .run()
        .context("the release build failed (see cargo's output above)")?;
    binaries
        .iter()
        .map(|binary| {
            let path = target_dir.join(PROFILE).join(binary.file_name());
            if path.is_file() {
                Ok(path)
            } else {
                bail!(
                    "cargo built {} but {} is missing",
                    binary.bin,
                    path.display()
                )
            }
        })
        .collect()
}

/// `rustc -vV`, run in `root` (so a `rust-toolchain.toml` there applies), and its `host:`.
///
/// # Errors
/// When rustc cannot be run or prints no host line.
pub fn rustc_version_verbose(root: &Path) -> Result<(String, String)> {
    let sh = Shell::new().context("cannot start a shell")?;
    sh.change_dir(root);
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let text = cmd!(sh, "{rustc} -vV")
        .quiet()
        .read()
        .context("cannot run `rustc -vV`")?;
    let host = text
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .context("`rustc -vV` printed no host line")?
        .trim()
        .to_owned();
    Ok((format!("{}\n", text.trim_end()), host))
}

/// `cargo -V`, run in `root`.
///
/// # Errors
/// When cargo cannot be run.
pub fn cargo_version(root: &Path) -> Result<String> {
    let sh = Shell::new().context("cannot start a shell")?;
    sh.change_dir(root);
    let cargo = crate::cargo_program();
    cmd!(sh, "{cargo} -V")
        .quiet()
        .read()
        .map(|text| text.trim().to_owned())
        .context("cannot run `cargo -V`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaps_put_the_target_folder_last_and_record_no_local_path() {
        let settings = BuildSettings {
            root: PathBuf::from("/nonexistent/checkout"),
            target_dir: PathBuf::from("/nonexistent/checkout/target/dist"),
            cargo_home: PathBuf::from("/nonexistent/home/.cargo"),
            source_date_epoch: 0,
            quiet: true,
        };
        let flags: Vec<String> = settings
            .rustflags()
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            flags,
            [
                "--remap-path-prefix=/nonexistent/home/.cargo=/cargo",
                "--remap-path-prefix=/nonexistent/checkout=/memorykernel",
                "--remap-path-prefix=/nonexistent/checkout/target/dist=/target",
            ]
        );
        let recorded = settings.recorded_rustflags().join(" ");
        assert!(!recorded.contains("/nonexistent"), "{recorded}");
        assert_eq!(
            settings
                .encoded_rustflags()
                .to_string_lossy()
                .matches('\u{1f}')
                .count(),
            2
        );
    }
}
