//! Column-wise result values as they travel: fixed-width values packed into one byte string, text as one
//! string plus end offsets, NULL rows listed apart. Decoding a batch costs a few allocations per column, not
//! one per value.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// A fixed-width value that packs into little-endian bytes.
pub trait Packed: Copy + Default + PartialEq + std::fmt::Debug {
    const WIDTH: usize;
    fn write(self, out: &mut Vec<u8>);
    fn read(bytes: &[u8]) -> Self;
}

macro_rules! packed {
    ($($t:ty),*) => {$(
        impl Packed for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("chunk of WIDTH bytes"))
            }
        }
    )*};
}
packed!(i32, i64, u32, f64);

/// Values of `T` packed as bytes on the wire.
#[derive(Clone, Debug, Default, PartialEq)]
struct PackedVec<T: Packed>(Vec<T>);

impl<T: Packed> Serialize for PackedVec<T> {
    #[cfg(target_endian = "little")]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // SAFETY: `Packed` is implemented only for primitive integers and floats: no padding, every bit pattern
        // initialized, and on a little-endian target their memory is exactly their little-endian encoding.
        let bytes = unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.0.len() * T::WIDTH) };
        serializer.serialize_bytes(bytes)
    }

    #[cfg(not(target_endian = "little"))]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.0.len() * T::WIDTH);
        for value in &self.0 {
            value.write(&mut bytes);
        }
        serializer.serialize_bytes(&bytes)
    }
}

/// The values `bytes` packs (a whole number of `T::WIDTH`-byte values), copied at once: a broker decodes every
/// column of every batch through here.
#[cfg(target_endian = "little")]
fn unpack<T: Packed>(bytes: &[u8]) -> Vec<T> {
    let len = bytes.len() / T::WIDTH;
    let mut values = Vec::<T>::with_capacity(len);
    // SAFETY: `values` has room for `len` values, which is exactly `bytes.len()` bytes, and the two buffers are
    // distinct. `Packed` is implemented only for primitive integers and floats: every bit pattern is a valid value,
    // and on a little-endian target a value's memory is its little-endian encoding, so after the copy the first
    // `len` values are initialized with what `T::read` would have returned for each chunk.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), values.as_mut_ptr().cast::<u8>(), len * T::WIDTH);
        values.set_len(len);
    }
    values
}

#[cfg(not(target_endian = "little"))]
fn unpack<T: Packed>(bytes: &[u8]) -> Vec<T> {
    bytes.chunks_exact(T::WIDTH).map(T::read).collect()
}

impl<'de, T: Packed> Deserialize<'de> for PackedVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes<T>(std::marker::PhantomData<T>);
        impl<T: Packed> Visitor<'_> for Bytes<T> {
            type Value = PackedVec<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a byte string of {}-byte values", T::WIDTH)
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
                if !bytes.len().is_multiple_of(T::WIDTH) {
                    return Err(E::invalid_length(bytes.len(), &self));
                }
                Ok(PackedVec(unpack(bytes)))
            }
        }
        deserializer.deserialize_bytes(Bytes(std::marker::PhantomData))
    }
}

/// A column of fixed-width values; NULL rows hold `T::default()` and are listed in `nulls`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NumColumn<T: Packed> {
    values: PackedVec<T>,
    /// Row indexes that are NULL, ascending.
    nulls: PackedVec<u32>,
}

impl<T: Packed> NumColumn<T> {
    /// An empty column with room for `rows` values, `nulls` of them NULL, before it grows.
    pub fn with_capacity(rows: usize, nulls: usize) -> Self {
        NumColumn { values: PackedVec(Vec::with_capacity(rows)), nulls: PackedVec(Vec::with_capacity(nulls)) }
    }

    /// How many NULL rows it holds.
    pub fn null_count(&self) -> usize {
        self.nulls.0.len()
    }

    pub fn len(&self) -> usize {
        self.values.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.0.is_empty()
    }

    pub fn push(&mut self, value: Option<T>) {
        match value {
            Some(v) => self.values.0.push(v),
            None => {
                self.nulls.0.push(self.values.0.len() as u32);
                self.values.0.push(T::default());
            }
        }
    }

    /// Appends non-NULL values in bulk.
    pub fn extend_values(&mut self, values: impl IntoIterator<Item = T>) {
        self.values.0.extend(values);
    }

    pub fn get(&self, row: usize) -> Option<T> {
        if self.is_null(row) { None } else { self.values.0.get(row).copied() }
    }

    pub fn is_null(&self, row: usize) -> bool {
        self.nulls.0.binary_search(&(row as u32)).is_ok()
    }

    /// Appends rows `[start, start + len)` of `other`.
    pub fn extend_range(&mut self, other: &NumColumn<T>, start: usize, len: usize) {
        let base = self.values.0.len() as u32;
        self.values.0.extend_from_slice(&other.values.0[start..start + len]);
        let first = other.nulls.0.partition_point(|&n| (n as usize) < start);
        for &n in other.nulls.0[first..].iter().take_while(|&&n| (n as usize) < start + len) {
            self.nulls.0.push(base + n - start as u32);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<T>> + '_ {
        (0..self.len()).map(|row| self.get(row))
    }
}

impl<T: Packed> FromIterator<Option<T>> for NumColumn<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Self {
        let mut column = NumColumn::default();
        for value in iter {
            column.push(value);
        }
        column
    }
}

/// A column of text: one string holding every value, end offsets, and the NULL rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TextColumn {
    data: String,
    ends: PackedVec<u32>,
    nulls: PackedVec<u32>,
}

impl TextColumn {
    /// An empty column with room for `rows` values of `bytes` bytes in all, `nulls` of them NULL, before it grows.
    pub fn with_capacity(rows: usize, bytes: usize, nulls: usize) -> Self {
        TextColumn {
            data: String::with_capacity(bytes),
            ends: PackedVec(Vec::with_capacity(rows)),
            nulls: PackedVec(Vec::with_capacity(nulls)),
        }
    }

    /// How many NULL rows it holds.
    pub fn null_count(&self) -> usize {
        self.nulls.0.len()
    }

    /// The bytes of all its values together.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// The bytes its values can take before it grows.
    pub fn byte_capacity(&self) -> usize {
        self.data.capacity()
    }

    pub fn len(&self) -> usize {
        self.ends.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.0.is_empty()
    }

    pub fn push(&mut self, value: Option<&str>) {
        if let Some(v) = value {
            self.data.push_str(v);
        } else {
            self.nulls.0.push(self.ends.0.len() as u32);
        }
        self.ends.0.push(self.data.len() as u32);
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        if row >= self.len() || self.is_null(row) {
            return None;
        }
        let start = if row == 0 { 0 } else { self.ends.0[row - 1] as usize };
        self.data.get(start..self.ends.0[row] as usize)
    }

    pub fn is_null(&self, row: usize) -> bool {
        self.nulls.0.binary_search(&(row as u32)).is_ok()
    }

    /// Appends rows `[start, start + len)` of `other`.
    pub fn extend_range(&mut self, other: &TextColumn, start: usize, len: usize) {
        for row in start..start + len {
            self.push(other.get(row));
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|row| self.get(row))
    }

    /// True when the ends are ascending and within the data, on UTF-8 boundaries; a decoded column from an
    /// untrusted peer is checked with this before use.
    pub fn is_well_formed(&self) -> bool {
        let mut previous = 0usize;
        self.ends.0.iter().all(|&end| {
            let end = end as usize;
            let ok = end >= previous && end <= self.data.len() && self.data.is_char_boundary(end);
            previous = end;
            ok
        }) && self.nulls.0.windows(2).all(|w| w[0] < w[1])
            && self.nulls.0.last().is_none_or(|&n| (n as usize) < self.len())
    }
}

impl<'a> FromIterator<Option<&'a str>> for TextColumn {
    fn from_iter<I: IntoIterator<Item = Option<&'a str>>>(iter: I) -> Self {
        let mut column = TextColumn::default();
        for value in iter {
            column.push(value);
        }
        column
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_columns_keep_null_and_empty_apart_and_slice() {
        let column: TextColumn = [Some("a"), None, Some(""), Some("héllo")].into_iter().collect();
        assert_eq!(column.iter().collect::<Vec<_>>(), [Some("a"), None, Some(""), Some("héllo")]);
        let mut slice = TextColumn::default();
        slice.extend_range(&column, 1, 3);
        assert_eq!(slice.iter().collect::<Vec<_>>(), [None, Some(""), Some("héllo")]);
        assert!(slice.is_well_formed());
    }

    #[test]
    fn number_columns_slice_with_their_nulls() {
        let column: NumColumn<i64> = [Some(1), None, Some(3), None, Some(5)].into_iter().collect();
        let mut slice = NumColumn::default();
        slice.extend_range(&column, 1, 3);
        assert_eq!(slice.iter().collect::<Vec<_>>(), [None, Some(3), None]);
        assert_eq!(column.get(4), Some(5));
        assert_eq!(column.get(9), None);
    }
}
