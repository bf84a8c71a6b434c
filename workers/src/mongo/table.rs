//! Documents laid out as rows: columns fixed by the first batch (fields in the order they first appear, nested
//! documents flattened into dotted names), later documents routed into them, and rows gathered into batches.

use std::collections::HashMap;

use crate::Emit;
use crate::batch::Batcher;
use mongodb::bson::{Bson, Document};
use polystoreiq_protocol::types::{LogicalType, ResultColumn};
use polystoreiq_protocol::worker::WorkerError;

use super::MAX_FIELD_DEPTH;
use super::decode::{logical_for, push_value, type_name};

/// A result column and the BSON type(s) it was typed from.
pub(super) struct Column {
    pub(super) name: String,
    pub(super) db_type: String,
    pub(super) logical: LogicalType,
}

impl Column {
    /// Types a column from its values in the first batch (`None` = field missing).
    pub(super) fn infer<'v>(name: String, values: impl Iterator<Item = Option<&'v Bson>>) -> Column {
        let mut seen: Vec<&'static str> = Vec::new();
        for value in values.flatten() {
            let t = type_name(value);
            if t != "null" && !seen.contains(&t) {
                seen.push(t);
            }
        }
        let numeric = |t: &&str| matches!(*t, "int" | "long" | "double");
        let (db_type, logical) = match seen.as_slice() {
            [] => ("null".to_owned(), LogicalType::Text),
            [one] => ((*one).to_owned(), logical_for(one)),
            many if many.iter().all(numeric) && many.contains(&"double") => ("double".to_owned(), LogicalType::Float),
            many if many.iter().all(numeric) => ("long".to_owned(), LogicalType::Int),
            many => (many.join("|"), LogicalType::Text),
        };
        Column { name, db_type, logical }
    }
}

/// How the fields of a result's documents map to columns, learnt from the first batch. Nested documents are
/// flattened into dotted columns (`address.city`) down to the depth the schema's field inference reaches, so a
/// result names fields as the schema does; arrays, and documents deeper down, stay one column of JSON text.
#[derive(Default)]
pub(super) struct Shape {
    /// Field names in the order they first appear, each with its node.
    fields: Vec<(String, Field)>,
    index: HashMap<String, usize>,
}

#[derive(Default)]
struct Field {
    /// This path holds values that are not flattened documents (scalars, arrays, `{}`, documents too deep).
    values: bool,
    /// This path holds null (or undefined). Shown in a column of its own only where no document was flattened.
    nulls: bool,
    /// The column of those values, once numbered.
    column: Option<usize>,
    /// The fields of the documents flattened at this path.
    nested: Option<Box<Shape>>,
}

/// Past this many columns, a nested document not yet flattened stays one JSON column.
const MAX_RESULT_COLUMNS: usize = 1000;

impl Shape {
    fn field(&mut self, key: &str) -> &mut Field {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                self.fields.push((key.to_owned(), Field::default()));
                self.index.insert(key.to_owned(), self.fields.len() - 1);
                self.fields.len() - 1
            }
        };
        &mut self.fields[i].1
    }

    /// Adds the fields of one first-batch document; `leaves` counts the columns so far.
    pub(super) fn learn(&mut self, doc: &Document, depth: usize, leaves: &mut usize) {
        for (key, value) in doc {
            let field = self.field(key);
            match value {
                Bson::Document(inner)
                    if !inner.is_empty()
                        && depth + 1 < MAX_FIELD_DEPTH
                        && (field.nested.is_some() || *leaves < MAX_RESULT_COLUMNS) =>
                {
                    field.nested.get_or_insert_default().learn(inner, depth + 1, leaves);
                }
                Bson::Null | Bson::Undefined => field.nulls = true,
                _ => {
                    *leaves += usize::from(!field.values);
                    field.values = true;
                }
            }
        }
    }

    /// Numbers the columns depth first (a path's own column before its nested ones) and names them.
    pub(super) fn number(&mut self, prefix: &str, names: &mut Vec<String>) {
        for (key, field) in &mut self.fields {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if field.values || (field.nulls && field.nested.is_none()) {
                field.column = Some(names.len());
                names.push(path.clone());
            }
            if let Some(nested) = &mut field.nested {
                nested.number(&path, names);
            }
        }
    }

    /// Puts a document's values into their columns; counts values with no column in `dropped`.
    pub(super) fn route<'d>(&self, doc: &'d Document, row: &mut [Option<&'d Bson>], dropped: &mut u64) {
        for (key, value) in doc {
            let Some(field) = self.index.get(key.as_str()).map(|&i| &self.fields[i].1) else {
                *dropped += 1;
                continue;
            };
            match (value, &field.nested, field.column) {
                (Bson::Document(inner), Some(nested), _) if !inner.is_empty() => nested.route(inner, row, dropped),
                (_, _, Some(i)) => row[i] = Some(value),
                // Null, or an empty document, where only flattened documents were seen: nothing to show.
                (Bson::Null | Bson::Undefined | Bson::Document(_), Some(_), None) => {}
                (_, _, None) => *dropped += 1,
            }
        }
    }
}

/// Rows being gathered into the next batch.
pub(super) struct Table {
    columns: Vec<Column>,
    /// Where a document's fields go (empty for `distinct`, whose rows are built by the caller).
    pub(super) shape: Shape,
    batch: Batcher,
    pub(super) total: u64,
    /// Values of fields that are not columns.
    pub(super) dropped: u64,
}

impl Table {
    /// An empty table of `columns`, sent `batch_rows` rows at a time.
    pub(super) fn new(columns: Vec<Column>, batch_rows: usize) -> Table {
        let batch = Batcher::new(columns.iter().map(|c| c.logical), batch_rows);
        Table { columns, shape: Shape::default(), batch, total: 0, dropped: 0 }
    }

    pub(super) fn result_columns(&self) -> Vec<ResultColumn> {
        self.columns
            .iter()
            .map(|c| ResultColumn { name: c.name.clone(), db_type: c.db_type.clone(), logical: c.logical })
            .collect()
    }

    pub(super) fn push_document(&mut self, doc: &Document, emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        let mut row: Vec<Option<&Bson>> = vec![None; self.columns.len()];
        self.shape.route(doc, &mut row, &mut self.dropped);
        self.push_row(&row, emit)
    }

    pub(super) fn push_row(&mut self, row: &[Option<&Bson>], emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        for ((column, out), value) in self.columns.iter().zip(self.batch.columns()).zip(row) {
            push_value(out, column, *value, self.total)?;
        }
        self.total += 1;
        self.batch.added(1, emit)
    }

    pub(super) fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        self.batch.finish(emit)
    }
}
