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
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Ulid);

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

            /// Parses a 26-character Crockford base32 ULID.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_string(s.trim()).map(Self).map_err(|_| ValidationError::InvalidUlid {
                    field: $field,
                    value: s.to_owned(),
                })
            }
        }
    };
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
