//! UTC timestamps. Every instant in a record, query or package is RFC 3339 with a `Z` offset
//! (MKR-018); any other offset is refused rather than converted, so what was written is what
//! is read back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::ValidationError;

/// An instant in UTC, rendered as RFC 3339 with a `Z` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current instant, truncated to whole microseconds so it survives every round trip.
    #[must_use]
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        let micros = now.microsecond();
        Self(now.replace_nanosecond(micros * 1_000).unwrap_or(now))
    }

    /// Builds a timestamp from an instant that is already UTC.
    ///
    /// # Errors
    /// [`ValidationError::NonUtcTimestamp`] when the offset is not zero.
    pub fn from_offset_date_time(value: OffsetDateTime) -> Result<Self, ValidationError> {
        if value.offset() == UtcOffset::UTC {
            Ok(Self(value))
        } else {
            Err(ValidationError::NonUtcTimestamp {
                value: value.format(&Rfc3339).unwrap_or_default(),
            })
        }
    }

    /// Builds a timestamp from whole seconds since the Unix epoch.
    ///
    /// # Errors
    /// [`ValidationError::InvalidTimestamp`] when the value is out of range.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, ValidationError> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(Self)
            .map_err(|_| ValidationError::InvalidTimestamp {
                value: seconds.to_string(),
            })
    }

    /// Builds a timestamp from nanoseconds since the Unix epoch (the inverse of
    /// [`Self::unix_nanos`]).
    ///
    /// # Errors
    /// [`ValidationError::InvalidTimestamp`] when the value is out of range.
    pub fn from_unix_nanos(nanos: i128) -> Result<Self, ValidationError> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map(Self)
            .map_err(|_| ValidationError::InvalidTimestamp {
                value: nanos.to_string(),
            })
    }

    /// The underlying instant.
    #[must_use]
    pub const fn as_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// Nanoseconds since the Unix epoch: a key that orders by instant, never by text.
    #[must_use]
    pub fn unix_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A UTC instant always formats as RFC 3339; the fallback keeps `Display` total.
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{}", self.0.unix_timestamp()),
        }
    }
}

/// The shape of the text [`Timestamp::from_str`] accepts, as a JSON Schema (ECMA-262) pattern:
/// an RFC 3339 date-time (`T`, `t` or a space between date and time) with the `Z` offset only,
/// each field within its range (a day the month does not have is still refused by the parser).
/// The OpenAPI document states it for every timestamp a request carries.
pub const UTC_TIMESTAMP_PATTERN: &str = concat!(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
    r"[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?[Zz]$"
);

impl FromStr for Timestamp {
    type Err = ValidationError;

    /// Parses RFC 3339 and accepts only the `Z` offset (not `+00:00`, not local offsets).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed =
            OffsetDateTime::parse(s, &Rfc3339).map_err(|_| ValidationError::InvalidTimestamp {
                value: s.to_owned(),
            })?;
        if !s.ends_with('Z') && !s.ends_with('z') {
            return Err(ValidationError::NonUtcTimestamp {
                value: s.to_owned(),
            });
        }
        Self::from_offset_date_time(parsed)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_z_and_round_trips() {
        let ts: Timestamp = "2026-01-02T03:04:05.123Z".parse().unwrap();
        assert_eq!(ts.to_string(), "2026-01-02T03:04:05.123Z");
    }

    #[test]
    fn refuses_non_utc_offsets() {
        for text in ["2026-01-02T03:04:05+02:00", "2026-01-02T03:04:05+00:00"] {
            assert!(matches!(
                text.parse::<Timestamp>(),
                Err(ValidationError::NonUtcTimestamp { .. })
            ));
        }
    }

    #[test]
    fn refuses_garbage() {
        assert!(matches!(
            "yesterday".parse::<Timestamp>(),
            Err(ValidationError::InvalidTimestamp { .. })
        ));
    }
}
