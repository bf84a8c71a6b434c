//! PostgreSQL's binary wire values into the protocol's columns: numbers, dates and timestamps as such, and every
//! other type as the text PostgreSQL itself prints (arrays as JSON). A malformed value is refused, never misread.

use polystoreiq_protocol::types::ColumnValues;
use polystoreiq_protocol::worker::WorkerError;
use tokio_postgres::types::{FromSql, Kind, Type};

use super::columns::{base, cast_hint};
use crate::batch::push_nulls;
use crate::hex;
use polystoreiq_protocol::civil::civil_from_days;

/// Any value, as its binary wire bytes.
pub(super) struct Raw<'a>(pub(super) &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Appends one binary value (`None` for NULL) to its column.
pub(super) fn push_value(
    column: &mut ColumnValues,
    ty: &Type,
    raw: Option<&[u8]>,
    name: &str,
) -> Result<(), WorkerError> {
    let Some(raw) = raw else {
        push_nulls(column, 1);
        return Ok(());
    };
    let ty = base(ty);
    let bad = || {
        WorkerError::Query(format!(
            "column {name}: a {} value PolyStoreIQ could not read; cast it in the query, e.g. {}",
            ty.name(),
            cast_hint(name, "text")
        ))
    };
    // infinity, or a day a timestamp since 1970 in microseconds cannot hold: no place on the calendar.
    let off_calendar = || {
        WorkerError::Query(format!(
            "column {name} holds {} infinity or a date out of range, which is no calendar day; select it as text, \
             e.g. {}",
            ty.name(),
            cast_hint(name, "text")
        ))
    };
    match column {
        ColumnValues::Bool(out) => out.push(Some(bool_value(raw).ok_or_else(bad)?)),
        ColumnValues::Int(out) => out.push(Some(int_value(ty, raw).ok_or_else(bad)?)),
        ColumnValues::Float(out) => out.push(Some(float_value(raw).ok_or_else(bad)?)),
        ColumnValues::Date(out) => {
            let days = Reader(raw).whole(Reader::i32).ok_or_else(bad)?;
            let days =
                Some(days).filter(|d| *d != i32::MAX && *d != i32::MIN).and_then(|d| d.checked_add(PG_EPOCH_DAYS));
            out.push(Some(days.ok_or_else(off_calendar)?));
        }
        ColumnValues::Timestamp(out) => {
            let micros = Reader(raw).whole(Reader::i64).ok_or_else(bad)?;
            let micros =
                Some(micros).filter(|m| *m != i64::MAX && *m != i64::MIN).and_then(|m| m.checked_add(PG_EPOCH_MICROS));
            out.push(Some(micros.ok_or_else(off_calendar)?));
        }
        ColumnValues::Bytes(out) => out.push(Some(raw.to_vec())),
        // Plain text is pushed straight from the wire bytes, with no string of its own in between.
        ColumnValues::Text(out) if matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME) => {
            out.push(Some(std::str::from_utf8(raw).map_err(|_| bad())?));
        }
        ColumnValues::Text(out) => out.push(Some(&text_value(ty, raw).ok_or_else(bad)?)),
    }
    Ok(())
}

/// Big-endian reads from a value's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|b| b[0])
    }

    fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }

    fn f64(&mut self) -> Option<f64> {
        self.array().map(f64::from_be_bytes)
    }

    /// A length-prefixed value (`None` inside for a NULL, length -1).
    fn value(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 { Some(None) } else { self.take(len as usize).map(Some) }
    }

    /// Reads with `read` and insists that nothing is left over.
    fn whole<T>(mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let value = read(&mut self)?;
        self.0.is_empty().then_some(value)
    }
}

fn bool_value(raw: &[u8]) -> Option<bool> {
    match raw {
        [0] => Some(false),
        [1] => Some(true),
        _ => None,
    }
}

fn int_value(ty: &Type, raw: &[u8]) -> Option<i64> {
    let r = Reader(raw);
    match (raw.len(), ty) {
        (2, _) => r.whole(Reader::i16).map(i64::from),
        (4, _) if matches!(*ty, Type::OID | Type::XID | Type::CID) => r.whole(Reader::u32).map(i64::from),
        (4, _) => r.whole(Reader::i32).map(i64::from),
        (8, _) if *ty == Type::XID8 => r.whole(Reader::u64).and_then(|v| i64::try_from(v).ok()),
        (8, _) => r.whole(Reader::i64),
        _ => None,
    }
}

/// A float4 goes through its shortest decimal form, so `real` 1.1 stays 1.1 rather than 1.100000023841858.
fn float_value(raw: &[u8]) -> Option<f64> {
    match raw.len() {
        4 => {
            let f = f32::from_be_bytes(raw.try_into().ok()?);
            if f.is_finite() { f.to_string().parse().ok() } else { Some(f64::from(f)) }
        }
        8 => Some(f64::from_be_bytes(raw.try_into().ok()?)),
        _ => None,
    }
}

fn utf8(raw: &[u8]) -> Option<String> {
    String::from_utf8(raw.to_vec()).ok()
}

/// The text of a value carried as text, exactly as PostgreSQL prints it with `TimeZone = 'UTC'`,
/// `DateStyle = 'ISO'` and `IntervalStyle = 'iso_8601'`; arrays become JSON. `None` for a malformed value.
fn text_value(ty: &Type, raw: &[u8]) -> Option<String> {
    let ty = base(ty);
    match ty.kind() {
        Kind::Enum(_) => return utf8(raw),
        Kind::Array(element) => {
            let mut out = String::new();
            array_json(element, raw, &mut out)?;
            return Some(out);
        }
        Kind::Range(element) => return range_text(element, raw),
        Kind::Multirange(element) => {
            let mut r = Reader(raw);
            let count = r.u32()?;
            let mut ranges = Vec::new();
            for _ in 0..count {
                ranges.push(range_text(element, r.value()??)?);
            }
            return r.0.is_empty().then(|| format!("{{{}}}", ranges.join(",")));
        }
        _ => {}
    }
    Some(match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML | Type::JSON => utf8(raw)?,
        _ if ty.name() == "citext" => utf8(raw)?,
        // jsonb and jsonpath: a format version (1), then the text.
        Type::JSONB | Type::JSONPATH => match raw.split_first()? {
            (1, text) => utf8(text)?,
            _ => return None,
        },
        // "char": one byte; PostgreSQL escapes one that is not ASCII as \ooo.
        Type::CHAR => match raw {
            [] | [0] => String::new(),
            [b] if b.is_ascii() => char::from(*b).to_string(),
            [b] => format!("\\{b:03o}"),
            _ => return None,
        },
        Type::BOOL => if bool_value(raw)? { "t" } else { "f" }.to_owned(),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::XID | Type::CID | Type::XID8 => {
            int_value(ty, raw)?.to_string()
        }
        Type::FLOAT4 | Type::FLOAT8 => float_text(float_value(raw)?),
        Type::NUMERIC => numeric_text(raw)?,
        Type::UUID if raw.len() == 16 => hex::uuid(raw.try_into().ok()?),
        Type::BYTEA => format!("\\x{}", hex::lower(raw)),
        Type::DATE => date_text(Reader(raw).whole(Reader::i32)?),
        Type::TIMESTAMP => timestamp_text(Reader(raw).whole(Reader::i64)?, false),
        Type::TIMESTAMPTZ => timestamp_text(Reader(raw).whole(Reader::i64)?, true),
        Type::TIME => clock_text(Reader(raw).whole(Reader::i64)?),
        Type::TIMETZ => {
            let (micros, zone) = Reader(raw).whole(|r| Some((r.i64()?, r.i32()?)))?;
            format!("{}{}", clock_text(micros), zone_text(zone))
        }
        Type::INTERVAL => {
            let (micros, days, months) = Reader(raw).whole(|r| Some((r.i64()?, r.i32()?, r.i32()?)))?;
            interval_text(micros, days, months)
        }
        Type::INET | Type::CIDR => inet_text(raw)?,
        Type::MACADDR | Type::MACADDR8 if raw.len() == 6 || raw.len() == 8 => {
            raw.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
        }
        Type::BIT | Type::VARBIT => {
            let mut r = Reader(raw);
            let bits = usize::try_from(r.i32()?).ok()?;
            let bytes = r.0;
            if bytes.len() != bits.div_ceil(8) {
                return None;
            }
            (0..bits).map(|i| if bytes[i / 8] & (0x80 >> (i % 8)) != 0 { '1' } else { '0' }).collect()
        }
        Type::TID => {
            let (block, offset) = Reader(raw).whole(|r| Some((r.u32()?, r.u16()?)))?;
            format!("({block},{offset})")
        }
        Type::PG_LSN => {
            let lsn = Reader(raw).whole(Reader::u64)?;
            format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
        }
        Type::POINT | Type::LINE | Type::LSEG | Type::BOX | Type::PATH | Type::POLYGON | Type::CIRCLE => {
            geometry_text(ty, raw)?
        }
        _ => return None,
    })
}

/// A binary array as JSON: nested arrays for each dimension (lower bounds other than 1 are not kept), elements
/// as JSON values (`json_element`).
fn array_json(element: &Type, raw: &[u8], out: &mut String) -> Option<()> {
    let mut r = Reader(raw);
    let (ndim, _has_nulls, _element_oid) = (r.i32()?, r.i32()?, r.u32()?);
    if ndim == 0 {
        out.push_str("[]");
        return r.0.is_empty().then_some(());
    }
    if !(1..=6).contains(&ndim) {
        return None;
    }
    let mut dims = Vec::new();
    for _ in 0..ndim {
        let (len, _lower_bound) = (r.i32()?, r.i32()?);
        dims.push(usize::try_from(len).ok()?);
    }
    array_level(element, &dims, &mut r, out)?;
    r.0.is_empty().then_some(())
}

fn array_level(element: &Type, dims: &[usize], r: &mut Reader<'_>, out: &mut String) -> Option<()> {
    let (&len, inner) = dims.split_first()?;
    out.push('[');
    for i in 0..len {
        if i > 0 {
            out.push(',');
        }
        if inner.is_empty() {
            match r.value()? {
                None => out.push_str("null"),
                Some(value) => json_element(element, value, out)?,
            }
        } else {
            array_level(element, inner, r, out)?;
        }
    }
    out.push(']');
    Some(())
}

/// One array element as JSON: booleans and integers as JSON literals, finite floats as numbers, JSON as
/// itself, and everything else (exact decimals included) as a string of its PostgreSQL text.
fn json_element(ty: &Type, raw: &[u8], out: &mut String) -> Option<()> {
    let ty = base(ty);
    if let Kind::Array(element) = ty.kind() {
        return array_json(element, raw, out);
    }
    match *ty {
        Type::BOOL => out.push_str(if bool_value(raw)? { "true" } else { "false" }),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::XID | Type::CID | Type::XID8 => {
            out.push_str(&int_value(ty, raw)?.to_string());
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            let f = float_value(raw)?;
            match serde_json::Number::from_f64(f) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.push_str(&serde_json::Value::String(float_text(f)).to_string()),
            }
        }
        // PostgreSQL has checked it is JSON.
        Type::JSON | Type::JSONB => out.push_str(&text_value(ty, raw)?),
        _ => out.push_str(&serde_json::Value::String(text_value(ty, raw)?).to_string()),
    }
    Some(())
}

/// A binary range as PostgreSQL prints it: `empty`, or `[lower,upper)` with the bounds' text, quoted where
/// needed; an infinite bound is left empty.
fn range_text(element: &Type, raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        return r.0.is_empty().then(|| "empty".to_owned());
    }
    let mut bound = |infinite: bool| -> Option<String> {
        if infinite {
            return Some(String::new());
        }
        let len = usize::try_from(r.i32()?).ok()?;
        Some(range_bound(&text_value(element, r.take(len)?)?))
    };
    let lower = bound(flags & 0x08 != 0)?;
    let upper = bound(flags & 0x10 != 0)?;
    let open = if flags & 0x02 != 0 { '[' } else { '(' };
    let close = if flags & 0x04 != 0 { ']' } else { ')' };
    r.0.is_empty().then(|| format!("{open}{lower},{upper}{close}"))
}

/// A range bound quoted as PostgreSQL's `range_bound_escape` does.
fn range_bound(text: &str) -> String {
    let special = |c: char| matches!(c, '"' | '\\' | '(' | ')' | '[' | ']' | ',') || c.is_ascii_whitespace();
    if !text.is_empty() && !text.contains(special) {
        return text.to_owned();
    }
    let mut out = String::from('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A float as PostgreSQL prints it: the shortest exact digits, in exponent form below 1e-4 and from 1e15.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if f == 0.0 || (-4..15).contains(&exponent) {
        f.to_string()
    } else {
        format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs())
    }
}

/// `YYYY-MM-DD` and whether the year is BC (PostgreSQL has no year 0: 1 BC is year 0 of the proleptic calendar).
fn day_text(days_since_1970: i64) -> (String, bool) {
    let (y, m, d) = civil_from_days(days_since_1970);
    if y <= 0 { (format!("{:04}-{m:02}-{d:02}", 1 - y), true) } else { (format!("{y:04}-{m:02}-{d:02}"), false) }
}

fn date_text(days_since_2000: i32) -> String {
    match days_since_2000 {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        days => {
            let (day, bc) = day_text(i64::from(days) + i64::from(PG_EPOCH_DAYS));
            if bc { format!("{day} BC") } else { day }
        }
    }
}

fn timestamp_text(micros_since_2000: i64, utc: bool) -> String {
    match micros_since_2000 {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        micros => {
            let days = micros.div_euclid(MICROS_PER_DAY) + i64::from(PG_EPOCH_DAYS);
            let (day, bc) = day_text(days);
            let zone = if utc { "+00" } else { "" };
            let era = if bc { " BC" } else { "" };
            format!("{day} {}{zone}{era}", clock_text(micros.rem_euclid(MICROS_PER_DAY)))
        }
    }
}

/// `HH:MM:SS[.fraction]`, the fraction without trailing zeros.
fn clock_text(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    let mut out = format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    push_fraction(&mut out, micros % 1_000_000);
    out
}

fn push_fraction(out: &mut String, micros: i64) {
    if micros != 0 {
        out.push('.');
        out.push_str(format!("{:06}", micros.unsigned_abs()).trim_end_matches('0'));
    }
}

/// A time zone offset (PostgreSQL keeps seconds west of UTC) as `+HH[:MM[:SS]]` east of UTC.
fn zone_text(seconds_west: i32) -> String {
    let total = seconds_west.unsigned_abs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let sign = if seconds_west <= 0 { '+' } else { '-' };
    match (m, s) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// An interval in ISO 8601 (`P1Y2M3DT4H5M6.5S`), exactly as PostgreSQL's `IntervalStyle = 'iso_8601'`: each
/// field keeps its own sign, as PostgreSQL's intervals do.
fn interval_text(micros: i64, days: i32, months: i32) -> String {
    if (micros, days, months) == (i64::MAX, i32::MAX, i32::MAX) {
        return "infinity".into();
    }
    if (micros, days, months) == (i64::MIN, i32::MIN, i32::MIN) {
        return "-infinity".into();
    }
    let (years, months) = (months / 12, months % 12);
    let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
    if (years, months, days, hours, minutes, seconds, fraction) == (0, 0, 0, 0, 0, 0, 0) {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let part = |value: i64, unit: char, out: &mut String| {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    };
    part(i64::from(years), 'Y', &mut out);
    part(i64::from(months), 'M', &mut out);
    part(i64::from(days), 'D', &mut out);
    if (hours, minutes, seconds, fraction) != (0, 0, 0, 0) {
        out.push('T');
    }
    part(hours, 'H', &mut out);
    part(minutes, 'M', &mut out);
    if seconds != 0 || fraction != 0 {
        if seconds < 0 || fraction < 0 {
            out.push('-');
        }
        out.push_str(&seconds.unsigned_abs().to_string());
        push_fraction(&mut out, fraction);
        out.push('S');
    }
    out
}

/// `inet` and `cidr`: the address, and `/bits` for a cidr or an inet that is not a single host.
fn inet_text(raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let (family, bits, is_cidr, len) = (r.u8()?, r.u8()?, r.u8()?, r.u8()?);
    let address = r.take(usize::from(len))?;
    if !r.0.is_empty() {
        return None;
    }
    let (text, max) = match (family, address.len()) {
        (2, 4) => (std::net::Ipv4Addr::from(<[u8; 4]>::try_from(address).ok()?).to_string(), 32),
        (3, 16) => (std::net::Ipv6Addr::from(<[u8; 16]>::try_from(address).ok()?).to_string(), 128),
        _ => return None,
    };
    Some(if is_cidr != 0 || bits != max { format!("{text}/{bits}") } else { text })
}

/// The built-in geometric types as PostgreSQL prints them.
fn geometry_text(ty: &Type, raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let point = |r: &mut Reader<'_>| Some(format!("({},{})", float_text(r.f64()?), float_text(r.f64()?)));
    let points = |r: &mut Reader<'_>, n: usize| (0..n).map(|_| point(r)).collect::<Option<Vec<_>>>();
    let text = match *ty {
        Type::POINT => point(&mut r)?,
        Type::LINE => format!("{{{},{},{}}}", float_text(r.f64()?), float_text(r.f64()?), float_text(r.f64()?)),
        Type::LSEG => format!("[{}]", points(&mut r, 2)?.join(",")),
        Type::BOX => points(&mut r, 2)?.join(","),
        Type::PATH => {
            let closed = r.u8()? != 0;
            let n = usize::try_from(r.i32()?).ok()?;
            let joined = points(&mut r, n)?.join(",");
            if closed { format!("({joined})") } else { format!("[{joined}]") }
        }
        Type::POLYGON => {
            let n = usize::try_from(r.i32()?).ok()?;
            format!("({})", points(&mut r, n)?.join(","))
        }
        Type::CIRCLE => {
            let center = point(&mut r)?;
            format!("<{center},{}>", float_text(r.f64()?))
        }
        _ => return None,
    };
    r.0.is_empty().then_some(text)
}

/// PostgreSQL's binary NUMERIC (base-10000 digits) as an exact decimal string.
fn numeric_text(raw: &[u8]) -> Option<String> {
    let word = |i: usize| raw.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (ndigits, weight, sign, dscale) = (word(0)? as usize, word(2)? as i16, word(4)?, word(6)? as usize);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| word(8 + 2 * i)).collect::<Option<_>>()?;
    let mut int_part = String::new();
    for i in 0..=weight.max(-1) {
        let d = digits.get(i as usize).copied().unwrap_or(0);
        if int_part.is_empty() { int_part.push_str(&d.to_string()) } else { int_part.push_str(&format!("{d:04}")) }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut frac = String::new();
    let mut position = weight as i32 + 1;
    while frac.len() < dscale {
        let d = if position < 0 { 0 } else { digits.get(position as usize).copied().unwrap_or(0) };
        frac.push_str(&format!("{d:04}"));
        position += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if dscale > 0 { format!("{sign}{int_part}.{frac}") } else { format!("{sign}{int_part}") })
}

#[cfg(test)]
mod tests {
    use super::numeric_text;

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].into_iter().chain(digits.iter().copied()) {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn binary_numerics_become_exact_decimal_strings() {
        assert_eq!(numeric_text(&numeric(2, 0, 0, 2, &[12, 3400])).unwrap(), "12.34");
        assert_eq!(numeric_text(&numeric(1, 1, 0x4000, 0, &[5])).unwrap(), "-50000");
        assert_eq!(numeric_text(&numeric(1, -1, 0, 4, &[5])).unwrap(), "0.0005");
        assert_eq!(numeric_text(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_text(&numeric(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(), "12345.678");
        assert_eq!(numeric_text(&numeric(2, 1, 0, 0, &[1, 2])).unwrap(), "10002");
        assert_eq!(numeric_text(&numeric(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
    }

    #[test]
    fn values_carried_as_text_read_as_postgresql_prints_them() {
        use super::{float_text, interval_text, range_bound, text_value, zone_text};
        use tokio_postgres::types::Type;
        assert_eq!(interval_text(0, 0, 0), "PT0S");
        assert_eq!(interval_text(4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000, 3, 14), "P1Y2M3DT4H5M6.5S");
        assert_eq!(interval_text(-(4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000), 3, -14), "P-1Y-2M3DT-4H-5M-6.5S");
        assert_eq!(interval_text(-1, 0, 0), "PT-0.000001S");
        assert_eq!(zone_text(-19_800), "+05:30");
        assert_eq!(zone_text(28_800), "-08");
        assert_eq!(zone_text(57_599), "-15:59:59");
        assert_eq!(float_text(1e20), "1e+20");
        assert_eq!(float_text(-1e-5), "-1e-05");
        assert_eq!(float_text(0.0001), "0.0001");
        assert_eq!(float_text(123_456_789_012_345.0), "123456789012345");
        assert_eq!(float_text(1e15), "1e+15");
        assert_eq!(float_text(-0.0), "-0");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(range_bound("2024-01-01 00:00:00+00"), "\"2024-01-01 00:00:00+00\"");
        assert_eq!(range_bound("a\"b"), "\"a\"\"b\"");
        assert_eq!(range_bound("5"), "5");
        // Malformed values are refused, not misread.
        assert_eq!(text_value(&Type::UUID, &[0; 15]), None);
        assert_eq!(text_value(&Type::INT4_ARRAY, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2]), None);
        assert_eq!(text_value(&Type::JSONB, b"2{}"), None);
        assert_eq!(text_value(&Type::INTERVAL, &[0; 15]), None);
    }
}
