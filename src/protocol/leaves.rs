//! The leaves of a decoded message, in declaration order, as numbers, without allocating.
//!
//! A message's serde serialisation walks its fields in a fixed order; this serializer numbers
//! the leaves the way [`super::fields::fields`] lists them (arrays expanded, an enum one leaf)
//! and hands each numeric leaf to a callback. Index builds and whole-flight plots read every
//! field of millions of frames this way, at a fraction of the cost of building JSON values.

use serde::ser::{self, Serialize};

use super::MavMessage;

/// Calls `on(leaf, value)` for every numeric leaf of `message` (flags as their bits, booleans
/// as 0/1); text and enum leaves are counted but not reported. Returns the number of leaves.
pub fn visit_numbers(message: &MavMessage, on: &mut impl FnMut(usize, f64)) -> usize {
    let mut visitor = Leaves {
        next: 0,
        depth: 0,
        in_message: false,
        on,
    };
    // A message that cannot be serialised (none in the dialect) simply has no leaves.
    let _ = message.serialize(&mut visitor);
    visitor.next
}

struct Leaves<'a, F> {
    next: usize,
    /// Nesting of maps and tagged enums: everything inside one is a single leaf.
    depth: usize,
    /// The message's own struct has been entered (its fields are the leaves).
    in_message: bool,
    on: &'a mut F,
}

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot visit")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Self
    }
}

impl<F: FnMut(usize, f64)> Leaves<'_, F> {
    fn number(&mut self, value: f64) -> Result<(), Never> {
        if self.depth == 0 {
            (self.on)(self.next, value);
            self.next += 1;
        }
        Ok(())
    }

    fn other(&mut self) -> Result<(), Never> {
        if self.depth == 0 {
            self.next += 1;
        }
        Ok(())
    }

    /// Enters a map or struct-like enum: it counts as one (non-numeric) leaf.
    fn open_opaque(&mut self) {
        if self.depth == 0 {
            self.next += 1;
        }
        self.depth += 1;
    }
}

macro_rules! numbers {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, value: $ty) -> Result<(), Never> {
            self.number(value as f64)
        })*
    };
}

impl<'b, 'a, F: FnMut(usize, f64)> ser::Serializer for &'b mut Leaves<'a, F> {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Opaque<'b, 'a, F>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Opaque<'b, 'a, F>;

    numbers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_f32: f32, serialize_f64: f64);

    fn serialize_bool(self, value: bool) -> Result<(), Never> {
        self.number(f64::from(u8::from(value)))
    }
    fn serialize_char(self, _: char) -> Result<(), Never> {
        self.other()
    }
    fn serialize_str(self, _: &str) -> Result<(), Never> {
        self.other()
    }
    fn serialize_bytes(self, bytes: &[u8]) -> Result<(), Never> {
        for &byte in bytes {
            self.number(f64::from(byte))?;
        }
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Never> {
        self.other()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        self.other()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        self.other()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Never> {
        self.other()
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        // The message enum itself: its fields are the leaves.
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Opaque<'b, 'a, F>, Never> {
        self.open_opaque();
        Ok(Opaque(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        if self.in_message {
            // A struct inside a field (an internally tagged enum's variant): one leaf.
            self.open_opaque();
        } else {
            self.in_message = true;
        }
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Opaque<'b, 'a, F>, Never> {
        self.open_opaque();
        Ok(Opaque(self))
    }
    fn is_human_readable(&self) -> bool {
        // Flags then serialise as their bits, which plot.
        false
    }
}

/// Sequences and tuples: each element in turn (an array's elements are leaves of their own).
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {
        $(impl<F: FnMut(usize, f64)> ser::$trait for &mut Leaves<'_, F> {
            type Ok = ();
            type Error = Never;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Never> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        })*
    };
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<F: FnMut(usize, f64)> ser::SerializeStruct for &mut Leaves<'_, F> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        if self.depth == 0 && name == "type" {
            // The message's tag (its name), not one of its fields.
            return Ok(());
        }
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        if self.depth > 0 {
            self.depth -= 1;
        }
        Ok(())
    }
}

/// A map or struct variant: one leaf whatever it holds.
struct Opaque<'b, 'a, F>(&'b mut Leaves<'a, F>);

impl<F: FnMut(usize, f64)> ser::SerializeMap for Opaque<'_, '_, F> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, _: &T) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, _: &T) -> Result<(), Never> {
        Ok(())
    }
    fn end(self) -> Result<(), Never> {
        self.0.depth -= 1;
        Ok(())
    }
}

impl<F: FnMut(usize, f64)> ser::SerializeStructVariant for Opaque<'_, '_, F> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Never> {
        Ok(())
    }
    fn end(self) -> Result<(), Never> {
        self.0.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::fields::{fields, FieldValue};
    use mavlink::Message as _;

    /// Every message of the dialect: the leaves line up with the named fields, and every
    /// numeric field has the same value both ways.
    #[test]
    fn leaves_match_named_fields_for_every_message() {
        let mut checked = 0;
        for id in 0..=u16::MAX as u32 {
            let Some(message) = MavMessage::default_message_from_id(id) else {
                continue;
            };
            let named = fields(&message);
            let mut numbers = Vec::new();
            let count = visit_numbers(&message, &mut |leaf, value| numbers.push((leaf, value)));
            assert_eq!(count, named.len(), "{}", message.message_name());
            for (leaf, value) in numbers {
                if let FieldValue::Number(expected) = named[leaf].1 {
                    assert_eq!(
                        value,
                        expected,
                        "{}.{}",
                        message.message_name(),
                        named[leaf].0
                    );
                }
            }
            checked += 1;
        }
        assert!(checked > 200, "only {checked} message types");
    }
}
