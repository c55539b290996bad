//! Identifier newtypes. A memory version id and a memory id are both ULIDs, but they name
//! different things, so the type system keeps them apart (lineage targets version ids only).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::ValidationError;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(Ulid);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// A fresh, time-ordered identifier.
            #[must_use]
            pub fn generate() -> Self {
                Self(Ulid::new())
            }

            /// Wraps an existing ULID.
            #[must_use]
            pub const fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }

            /// The underlying ULID.
            #[must_use]
            pub const fn ulid(self) -> Ulid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            /// Parses a ULID in its canonical spelling only: 26 upper-case Crockford base32
            /// characters that print back as the same text. Aliases the decoder would accept
            /// (lower case, a first character above `7` that overflows 128 bits and wraps,
            /// surrounding whitespace) are refused, so an id never names a different record
            /// than the one written.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_canonical(s).map(Self).ok_or_else(|| ValidationError::InvalidUlid {
                    field: $field,
                    value: crate::error::bounded_echo(s),
                })
            }
        }
    };
}

/// The canonical ULID spelling [`MemoryId`] and [`MemoryVersionId`] accept, as a JSON Schema
/// (ECMA-262) pattern: 26 upper-case Crockford base32 characters, the first `0` to `7`. The
/// OpenAPI document states it for every id field, so it and the parser below say one thing.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";

/// The ULID `text` spells, when `text` is that ULID's canonical spelling.
fn parse_canonical(text: &str) -> Option<Ulid> {
    let ulid = Ulid::from_string(text).ok()?;
    (ulid.to_string() == text).then_some(ulid)
}

ulid_id!(
    /// Identifies one stored version of a memory (MKR-019, MKR-028). Unique across the store.
    MemoryVersionId,
    "memory_version_id"
);

ulid_id!(
    /// Groups the versions of one memory. `(memory_id, version)` is unique (MKR-030).
    MemoryId,
    "memory_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_spellings_parse() {
        let id = MemoryId::generate();
        assert_eq!(id.to_string().parse::<MemoryId>(), Ok(id));
        for alias in [
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "GZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "01m8qfbv8a9aa9ay0jbhpm35f5",
            " 01M8QFBV8A9AA9AY0JBHPM35F5",
        ] {
            assert!(alias.parse::<MemoryId>().is_err(), "{alias}");
        }
    }
}
