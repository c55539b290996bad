//! Reading an add request: its payload fields and the shared [`RecordMetadata`] fields side by
//! side in one flat JSON object, refused on any unknown field.
//!
//! `#[serde(flatten)]` cannot do this (it does not combine with `deny_unknown_fields`, and it
//! changes serde's messages), so the two parts are read together here, with exactly the
//! behaviour and messages a derived `Deserialize` of one flat struct would have: keys are
//! taken in the order they come, a payload key's value is read into its field at once, a
//! metadata key is handed to [`RecordMetadata`]'s own derived reader, an unknown key is refused
//! naming every field of the request, missing payload fields are reported before missing
//! metadata fields, and a JSON array is read positionally (payload first, then metadata).
//!
//! The metadata's field names are never written out a second time: they are the ones its
//! derived `Deserialize` declares, captured once.

use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::de::value::StringDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, forward_to_deserialize_any};

use crate::request::RecordMetadata;

/// An add request: a payload of its own plus [`RecordMetadata`], one flat object on the wire.
pub(crate) trait FlatRequest: Sized {
    /// The request type's name, as serde's messages give it.
    const NAME: &'static str;
    /// The payload's field names, in declaration order (they come first on the wire).
    const FIELDS: &'static [&'static str];
    /// The payload fields read so far, each `None` until its value is read.
    type Fields: Default;
    /// The payload, every required field present.
    type Payload;

    /// Every field name of the request: [`FlatRequest::FIELDS`] then the metadata's, built
    /// once by [`with_metadata_fields`].
    fn all_fields() -> &'static [&'static str];

    /// Reads payload field `index` (of [`FlatRequest::FIELDS`]) through `reader`.
    ///
    /// # Errors
    /// The reader's error for a duplicate field or a value of the wrong shape.
    fn read_field<'de, R: FieldReader<'de>>(
        fields: &mut Self::Fields,
        index: usize,
        reader: &mut R,
    ) -> Result<(), R::Error>;

    /// The payload, or the index of the first required field that has no value.
    ///
    /// # Errors
    /// That index.
    fn finish(fields: Self::Fields) -> Result<Self::Payload, usize>;

    /// The request from its two parts.
    fn assemble(payload: Self::Payload, metadata: RecordMetadata) -> Self;
}

/// Reads one field's value: the next map value (refusing a field given twice), or the next
/// sequence element (leaving the field empty when the sequence has ended).
pub(crate) trait FieldReader<'de> {
    /// The format's error.
    type Error: de::Error;

    /// Reads the value of field `name` into `slot`.
    ///
    /// # Errors
    /// A duplicate field, or a value that is not a `T`.
    fn read<T: Deserialize<'de>>(
        &mut self,
        slot: &mut Option<T>,
        name: &'static str,
    ) -> Result<(), Self::Error>;
}

/// Deserializes `R` from one flat object (or a positional array).
///
/// # Errors
/// Exactly those of a derived `Deserialize` of the flat struct.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, R: FlatRequest>(
    deserializer: D,
) -> Result<R, D::Error> {
    deserializer.deserialize_struct(R::NAME, R::all_fields(), FlatVisitor(PhantomData))
}

/// `payload` followed by the metadata's field names (for [`FlatRequest::all_fields`]).
pub(crate) fn with_metadata_fields(payload: &[&'static str]) -> Vec<&'static str> {
    let mut all = payload.to_vec();
    all.extend_from_slice(metadata_fields());
    all
}

/// The field names [`RecordMetadata`]'s derived `Deserialize` declares, in declaration order.
fn metadata_fields() -> &'static [&'static str] {
    static FIELDS: OnceLock<&'static [&'static str]> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut capture = FieldNames(None);
        // The capture refuses every value, so this deserialization always fails: only the
        // field list handed over on the way matters.
        let _refused = RecordMetadata::deserialize(&mut capture);
        capture.0.unwrap_or_default()
    })
}

/// A deserializer that only records the field list a derived struct asks for.
struct FieldNames(Option<&'static [&'static str]>);

/// The error of [`FieldNames`]: it never provides a value.
#[derive(Debug)]
struct NoValue;

impl fmt::Display for NoValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names only")
    }
}

impl std::error::Error for NoValue {}

impl de::Error for NoValue {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Self
    }
}

impl<'de> Deserializer<'de> for &mut FieldNames {
    type Error = NoValue;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, NoValue> {
        Err(NoValue)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, NoValue> {
        self.0 = Some(fields);
        Err(NoValue)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

struct FlatVisitor<R>(PhantomData<R>);

impl<'de, R: FlatRequest> Visitor<'de> for FlatVisitor<R> {
    type Value = R;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", R::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<R, A::Error> {
        let mut fields = R::Fields::default();
        let mut payload = None;
        let metadata = RecordMetadata::deserialize(Routed(RoutedMap::<A, R> {
            map: &mut map,
            fields: &mut fields,
            payload: &mut payload,
        }))?;
        // The metadata reader only finishes at the end of the map, where the payload was
        // completed; the fields are still here otherwise.
        let payload = match payload {
            Some(payload) => payload,
            None => {
                R::finish(fields).map_err(|index| de::Error::missing_field(R::FIELDS[index]))?
            }
        };
        Ok(R::assemble(payload, metadata))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<R, A::Error> {
        let expected = format!("struct {} with {} elements", R::NAME, R::all_fields().len());
        let mut fields = R::Fields::default();
        let mut reader = SeqReader(&mut seq);
        for index in 0..R::FIELDS.len() {
            R::read_field(&mut fields, index, &mut reader)?;
        }
        let payload = R::finish(fields)
            .map_err(|index| de::Error::invalid_length(index, &expected.as_str()))?;
        let mut routed = RoutedSeq {
            seq: &mut seq,
            taken: 0,
            ended: false,
        };
        match RecordMetadata::deserialize(Routed(&mut routed)) {
            Ok(metadata) => Ok(R::assemble(payload, metadata)),
            // Past the end of the array the metadata reader only meets missing elements, so
            // its failure is the missing required field it asked for last.
            Err(_) if routed.ended => Err(de::Error::invalid_length(
                R::FIELDS.len() + routed.taken - 1,
                &expected.as_str(),
            )),
            Err(error) => Err(error),
        }
    }
}

/// Hands the metadata's derived reader a map or sequence access that the payload shares.
struct Routed<Access>(Access);

impl<'de, Access: RoutedAccess<'de>> Deserializer<'de> for Routed<Access> {
    type Error = Access::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.visit(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// A map or sequence access handed to a visitor.
trait RoutedAccess<'de> {
    type Error: de::Error;

    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error>;
}

/// The request's map as the metadata reader sees it: payload keys are read into the payload
/// on the way, unknown keys refused, and the end reported only once the payload is complete.
struct RoutedMap<'a, A, R: FlatRequest> {
    map: &'a mut A,
    fields: &'a mut R::Fields,
    payload: &'a mut Option<R::Payload>,
}

impl<'de, A: MapAccess<'de>, R: FlatRequest> RoutedAccess<'de> for RoutedMap<'_, A, R> {
    type Error = A::Error;

    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }
}

impl<'de, A: MapAccess<'de>, R: FlatRequest> MapAccess<'de> for RoutedMap<'_, A, R> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key::<String>()? else {
                let fields = std::mem::take(self.fields);
                let payload = R::finish(fields)
                    .map_err(|index| de::Error::missing_field(R::FIELDS[index]))?;
                *self.payload = Some(payload);
                return Ok(None);
            };
            if let Some(index) = R::FIELDS.iter().position(|field| *field == key) {
                R::read_field(self.fields, index, &mut MapReader(&mut *self.map))?;
            } else if metadata_fields().contains(&key.as_str()) {
                let key: StringDeserializer<A::Error> = key.into_deserializer();
                return seed.deserialize(key).map(Some);
            } else {
                return Err(de::Error::unknown_field(&key, R::all_fields()));
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// The rest of the request's array, after the payload's elements, as the metadata reader sees
/// it; counts the elements asked for and notes when the array ended.
struct RoutedSeq<'a, A> {
    seq: &'a mut A,
    taken: usize,
    ended: bool,
}

impl<'de, A: SeqAccess<'de>> RoutedAccess<'de> for &mut RoutedSeq<'_, A> {
    type Error = A::Error;

    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_seq(self)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for &mut RoutedSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.taken += 1;
        let element = self.seq.next_element_seed(seed)?;
        self.ended |= element.is_none();
        Ok(element)
    }
}

/// Reads payload fields from map values.
struct MapReader<'a, A>(&'a mut A);

impl<'de, A: MapAccess<'de>> FieldReader<'de> for MapReader<'_, A> {
    type Error = A::Error;

    fn read<T: Deserialize<'de>>(
        &mut self,
        slot: &mut Option<T>,
        name: &'static str,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(de::Error::duplicate_field(name));
        }
        *slot = Some(self.0.next_value()?);
        Ok(())
    }
}

/// Reads payload fields from sequence elements, in order.
struct SeqReader<'a, A>(&'a mut A);

impl<'de, A: SeqAccess<'de>> FieldReader<'de> for SeqReader<'_, A> {
    type Error = A::Error;

    fn read<T: Deserialize<'de>>(
        &mut self,
        slot: &mut Option<T>,
        _name: &'static str,
    ) -> Result<(), A::Error> {
        if let Some(value) = self.0.next_element()? {
            *slot = Some(value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::request::{AddConstraintRequest, AddSummaryRequest};

    fn summary() -> Value {
        json!({
            "record_type": "decision", "summary": "s", "writer": "w", "justification": "j",
            "source_uri": "file:///a", "truth_status": "observed", "authority": "authoritative",
        })
    }

    fn refusal(body: Value) -> String {
        serde_json::from_value::<AddSummaryRequest>(body)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    fn with(mut body: Value, key: &str, value: Value) -> Value {
        if let Some(object) = body.as_object_mut() {
            object.insert(key.to_owned(), value);
        }
        body
    }

    fn without(mut body: Value, key: &str) -> Value {
        if let Some(object) = body.as_object_mut() {
            object.remove(key);
        }
        body
    }

    #[test]
    fn a_flat_object_reads_both_parts_and_serializes_flat_again() {
        let request: Option<AddSummaryRequest> = serde_json::from_value(summary()).ok();
        let request = request.unwrap_or_else(|| panic!("{}", refusal(summary())));
        assert_eq!(request.summary, "s");
        assert_eq!(request.metadata.writer, "w");
        let back = serde_json::to_value(&request).unwrap_or_default();
        assert_eq!(back["writer"], "w");
        assert_eq!(back["evidence"], json!([]));
        assert!(back.get("metadata").is_none(), "{back}");
    }

    #[test]
    fn an_unknown_field_is_refused_naming_every_field_in_declaration_order() {
        let message = refusal(with(summary(), "extra", json!(1)));
        assert_eq!(
            message,
            "unknown field `extra`, expected one of `record_type`, `summary`, `memory_id`, \
             `version`, `writer`, `justification`, `source_uri`, `source_hash`, `evidence`, \
             `confidence`, `truth_status`, `authority`, `created_at`, `effective_at`, \
             `supersedes`, `contradicts`"
        );
        let constraint = serde_json::from_value::<AddConstraintRequest>(summary())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            constraint.starts_with("unknown field `record_type`, expected one of `actor`, "),
            "{constraint}"
        );
    }

    #[test]
    fn missing_payload_fields_are_reported_before_missing_metadata_fields() {
        let body = without(without(summary(), "summary"), "writer");
        assert_eq!(refusal(body), "missing field `summary`");
        assert_eq!(
            refusal(without(summary(), "writer")),
            "missing field `writer`"
        );
        assert_eq!(refusal(json!({})), "missing field `record_type`");
    }

    #[test]
    fn values_are_checked_in_the_order_their_keys_come() {
        // `authority` sorts before `summary`: its bad value is met first.
        let body = with(with(summary(), "summary", json!(5)), "authority", json!(5));
        assert!(refusal(body).starts_with("invalid type: integer `5`"));
        let text = r#"{"summary": 5, "record_type": "decision", "summary": "s"}"#;
        let message = serde_json::from_str::<AddSummaryRequest>(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            message,
            "invalid type: integer `5`, expected a string at line 1 column 13"
        );
        let text = r#"{"record_type": "decision", "writer": "w", "writer": "v"}"#;
        let message = serde_json::from_str::<AddSummaryRequest>(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(message, "duplicate field `writer` at line 1 column 51");
    }

    #[test]
    fn an_array_is_read_positionally_as_a_derived_struct_would_be() {
        let complete = json!([
            "decision",
            "s",
            null,
            null,
            "w",
            "j",
            "file:///a",
            null,
            [],
            null,
            "observed",
            "authoritative"
        ]);
        let request = serde_json::from_value::<AddSummaryRequest>(complete).ok();
        assert_eq!(request.map(|r| r.metadata.writer), Some("w".to_owned()));
        assert_eq!(
            refusal(json!(["decision"])),
            "invalid length 1, expected struct AddSummaryRequest with 16 elements"
        );
        // The optional `memory_id` and `version` may be left out at the end; `writer` not.
        assert_eq!(
            refusal(json!(["decision", "s"])),
            "invalid length 4, expected struct AddSummaryRequest with 16 elements"
        );
        assert_eq!(
            refusal(json!("text")),
            "invalid type: string \"text\", expected struct AddSummaryRequest"
        );
    }
}
