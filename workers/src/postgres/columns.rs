//! Which PostgreSQL types this connector reads, and how a result column is described: its logical type, or the
//! cast to use when no decoder here reads its type.

use polystoreiq_protocol::types::{LogicalType, ResultColumn};
use polystoreiq_protocol::worker::WorkerError;
use tokio_postgres::types::{Kind, Type};

pub(super) fn logical_from_name(name: &str) -> LogicalType {
    match name {
        "boolean" => LogicalType::Bool,
        "smallint" | "integer" | "bigint" | "oid" => LogicalType::Int,
        "real" | "double precision" => LogicalType::Float,
        "numeric" => LogicalType::Decimal,
        "date" => LogicalType::Date,
        "timestamp without time zone" => LogicalType::Timestamp,
        "timestamp with time zone" => LogicalType::TimestampTz,
        "uuid" => LogicalType::Uuid,
        "json" | "jsonb" => LogicalType::Json,
        "bytea" => LogicalType::Bytes,
        "text" | "character varying" | "character" | "name" => LogicalType::Text,
        _ => LogicalType::Other,
    }
}

/// A type with domains looked through: a domain's values travel as its base type's.
pub(super) fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty,
    }
}

/// The result column of a statement's column; a type no decoder here reads is refused before any row runs,
/// with the cast that shows it.
pub(super) fn result_column(column: &tokio_postgres::Column) -> Result<ResultColumn, WorkerError> {
    let (name, ty) = (column.name(), column.type_());
    if !readable(ty) {
        let hint = match base(ty).name() {
            "money" => cast_hint(name, "numeric"),
            // PostGIS: its text cast is hex EWKB; ST_AsText is what a person reads.
            "geometry" | "geography" => format!("ST_AsText({})", cast_hint(name, "").trim_end_matches("::")),
            _ => cast_hint(name, "text"),
        };
        return Err(WorkerError::Query(format!(
            "column {name} has type {}, which PolyStoreIQ cannot show; cast it in the query, e.g. {hint}",
            ty.name()
        )));
    }
    Ok(ResultColumn { name: name.to_owned(), db_type: ty.name().to_owned(), logical: logical(ty) })
}

/// `name::target`, the name quoted where SQL needs it.
pub(super) fn cast_hint(name: &str, target: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match name {
        "?column?" => format!("(expression)::{target}"),
        _ if plain => format!("{name}::{target}"),
        _ => format!("\"{}\"::{target}", name.replace('"', "\"\"")),
    }
}

/// The logical type of a result column. Arrays travel as JSON text; ranges, network addresses, bit strings and
/// geometry as PostgreSQL's own text (`Other`).
fn logical(ty: &Type) -> LogicalType {
    let ty = base(ty);
    match ty.kind() {
        Kind::Enum(_) => return LogicalType::Text,
        Kind::Array(_) => return LogicalType::Json,
        Kind::Range(_) | Kind::Multirange(_) => return LogicalType::Other,
        _ => {}
    }
    match *ty {
        Type::BOOL => LogicalType::Bool,
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::XID | Type::CID | Type::XID8 => LogicalType::Int,
        Type::FLOAT4 | Type::FLOAT8 => LogicalType::Float,
        Type::NUMERIC => LogicalType::Decimal,
        Type::DATE => LogicalType::Date,
        Type::TIMESTAMP => LogicalType::Timestamp,
        Type::TIMESTAMPTZ => LogicalType::TimestampTz,
        Type::TIME | Type::TIMETZ => LogicalType::Time,
        Type::INTERVAL => LogicalType::Interval,
        Type::UUID => LogicalType::Uuid,
        Type::JSON | Type::JSONB => LogicalType::Json,
        Type::BYTEA => LogicalType::Bytes,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR | Type::XML => {
            LogicalType::Text
        }
        _ if ty.name() == "citext" => LogicalType::Text,
        _ => LogicalType::Other,
    }
}

/// Whether values of `ty` can be decoded here: every type with a logical type of its own, and the types shown
/// as PostgreSQL's text. Composite types, `money` (its text depends on the server's locale), the `reg*` object
/// identifiers (their text is a name the binary value does not carry) and extension types are not.
fn readable(ty: &Type) -> bool {
    let ty = base(ty);
    match ty.kind() {
        Kind::Enum(_) => true,
        Kind::Array(element) | Kind::Range(element) | Kind::Multirange(element) => readable(element),
        Kind::Simple | Kind::Pseudo => {
            logical(ty) != LogicalType::Other
                || matches!(
                    *ty,
                    Type::JSONPATH
                        | Type::INET
                        | Type::CIDR
                        | Type::MACADDR
                        | Type::MACADDR8
                        | Type::BIT
                        | Type::VARBIT
                        | Type::TID
                        | Type::PG_LSN
                        | Type::POINT
                        | Type::LINE
                        | Type::LSEG
                        | Type::BOX
                        | Type::PATH
                        | Type::POLYGON
                        | Type::CIRCLE
                )
        }
        _ => false,
    }
}
