//! The planner's view of one schema snapshot: every table and column with its words (split and stemmed), what
//! a column is good for (a date, an amount of money, a price, a quantity, a place, a label, a key), each table's
//! key and label, the many-to-one joins (declared foreign keys, and `<table>_id` columns inferred by name), and an
//! index from alias phrases to tables and columns.
//!
//! Built once per question in well under a millisecond for hundreds of tables; it holds no I/O and no state.

use std::collections::{HashMap, HashSet, VecDeque};

use polystoreiq_protocol::types::{Engine, LogicalType, SchemaSnapshot};

use super::lexicon::{edit_distance, split_identifier, stem, synonyms, typo_budget};

/// A column as (table index, column index).
pub type ColId = (usize, usize);

/// A table as the planner reads it.
#[derive(Clone, Debug)]
pub struct ModelTable {
    pub name: String,
    /// Stems of the table's name (`invoice_lines` → `invoice`, `line`).
    pub words: Vec<String>,
    pub columns: Vec<ModelColumn>,
    /// The column that identifies a row, when there is exactly one.
    pub key: Option<usize>,
    /// The columns a person reads a row by (`name`, `title`, or `first_name` and `last_name`).
    pub label: Vec<usize>,
}

/// A column as the planner reads it: its name, its words (split and stemmed) and what it is good for.
#[derive(Clone, Debug)]
pub struct ModelColumn {
    pub name: String,
    pub words: Vec<String>,
    pub role: ColumnRole,
}

/// What a column holds, as far as its name and type tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnRole {
    pub key: bool,
    pub date: bool,
    pub numeric: bool,
    pub text: bool,
    pub money: bool,
    pub price: bool,
    pub quantity: bool,
    pub duration: bool,
    pub size: bool,
    pub place: bool,
}

/// A many-to-one join: each row of `from`'s table has at most one row of `to`'s table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinEdge {
    pub from: ColId,
    pub to: ColId,
    /// A declared foreign key, or inferred from the column's name.
    pub declared: bool,
}

/// What an alias phrase of the schema names: a table, or a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaHit {
    Table(usize),
    /// A column; `exact` when the phrase is the column's whole name, not a shortened form of it.
    Column(ColId, bool),
}

/// The planner's index of one schema snapshot (not a language model: see `crate::llm` for those).
pub struct SchemaModel {
    pub tables: Vec<ModelTable>,
    pub edges: Vec<JoinEdge>,
    index: HashMap<String, Vec<SchemaHit>>,
    by_name: HashMap<String, usize>,
    /// Per table, its many-to-one joins (declared first, then by column), and the tables that join to it.
    out: Vec<Vec<JoinEdge>>,
    into: Vec<Vec<usize>>,
    /// One-word alias keys, for typo matching.
    single_words: Vec<String>,
    max_phrase: usize,
}

const MONEY: &[&str] = &[
    "amount", "total", "revenu", "revenue", "sal", "sale", "subtotal", "spend", "income", "payment", "paid",
    "turnover", "gross", "net",
];
const PRICE: &[&str] = &["price", "pric", "cost", "fee", "rat", "rate"];
const QUANTITY: &[&str] = &["quantity", "qty", "units", "unit_count"];
const DURATION: &[&str] =
    &["millisecond", "milliseconds", "second", "minut", "minute", "duration", "length", "runtim", "ms"];
const SIZE: &[&str] = &["byt", "byte", "size", "siz", "weight"];
const PLACE: &[&str] =
    &["country", "city", "stat", "state", "region", "provinc", "county", "town", "territory", "location"];
const LABEL: &[&str] = &["name", "nam", "title", "titl", "label", "labl"];

impl SchemaModel {
    pub fn new(schema: &SchemaSnapshot, engine: Engine) -> SchemaModel {
        let mongo = engine == Engine::Mongodb;
        let mut tables: Vec<ModelTable> = schema
            .tables
            .iter()
            .map(|t| {
                let last_segment = t.name.rsplit('.').next().unwrap_or(&t.name);
                let words: Vec<String> = split_identifier(last_segment).iter().map(|w| stem(w)).collect();
                let columns: Vec<ModelColumn> = t
                    .columns
                    .iter()
                    .filter(|c| !c.name.is_empty())
                    .map(|c| {
                        let words: Vec<String> = split_identifier(&c.name).iter().map(|w| stem(w)).collect();
                        let logical = mongo_logical(c.logical, c.sample.as_ref().map(|s| s.types.as_slice()));
                        ModelColumn { role: column_role(&c.name, &words, logical), name: c.name.clone(), words }
                    })
                    .collect();
                ModelTable { name: t.name.clone(), words, columns, key: None, label: Vec::new() }
            })
            .collect();
        for (ti, t) in schema.tables.iter().enumerate() {
            let table = &mut tables[ti];
            let position = |name: &str| table.columns.iter().position(|c| c.name == name);
            let declared = match t.primary_key.as_slice() {
                [one] => position(one),
                _ => None,
            };
            let own = |table: &ModelTable| {
                let mut id_words = table.words.clone();
                id_words.push("id".into());
                table.columns.iter().position(|c| c.words == id_words)
            };
            // On MongoDB `_id` is the declared key, but a `<table>_id` field, where there is one, says more.
            let key = if mongo && declared.is_some_and(|k| table.columns[k].name == "_id") {
                own(table).or(declared)
            } else {
                declared.or_else(|| own(table)).or_else(|| position("id"))
            };
            table.key = key;
            if let Some(k) = key {
                table.columns[k].role.key = true;
                table.columns[k].role.money = false;
                table.columns[k].role.numeric = false;
            }
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            table.label = label_columns(table, &names);
        }
        let mut model = SchemaModel {
            by_name: tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect(),
            out: Vec::new(),
            into: Vec::new(),
            tables,
            edges: Vec::new(),
            index: HashMap::new(),
            single_words: Vec::new(),
            max_phrase: 1,
        };
        model.edges = model.find_edges(schema);
        model.out = vec![Vec::new(); model.tables.len()];
        model.into = vec![Vec::new(); model.tables.len()];
        for edge in &model.edges {
            model.out[edge.from.0].push(*edge);
            if !model.into[edge.to.0].contains(&edge.from.0) {
                model.into[edge.to.0].push(edge.from.0);
            }
        }
        for out in &mut model.out {
            out.sort_by_key(|e| (!e.declared, e.from.1));
        }
        for edge in &model.edges {
            let (t, c) = edge.from;
            let column = &mut model.tables[t].columns[c];
            column.role.key = true;
            column.role.numeric = false;
            column.role.money = false;
        }
        model.build_index();
        model
    }

    pub fn column(&self, (t, c): ColId) -> &ModelColumn {
        &self.tables[t].columns[c]
    }

    /// `table.column`, for messages.
    pub fn qualified(&self, (t, c): ColId) -> String {
        format!("{}.{}", self.tables[t].name, self.tables[t].columns[c].name)
    }

    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn column_id(&self, table: &str, column: &str) -> Option<ColId> {
        let t = self.table_index(table)?;
        let c = self.tables[t].columns.iter().position(|c| c.name == column)?;
        Some((t, c))
    }

    /// Declared single-column foreign keys, then `<table>_id` columns whose prefix names a table.
    fn find_edges(&self, schema: &SchemaSnapshot) -> Vec<JoinEdge> {
        let mut edges = Vec::new();
        let mut seen = HashSet::new();
        for (ti, t) in schema.tables.iter().enumerate() {
            for fk in &t.foreign_keys {
                let ([from], [to]) = (fk.columns.as_slice(), fk.ref_columns.as_slice()) else { continue };
                let (Some(from), Some(to)) = (self.column_id(&t.name, from), self.column_id(&fk.ref_table, to)) else {
                    continue;
                };
                if from.0 == ti && seen.insert(from) {
                    edges.push(JoinEdge { from, to, declared: true });
                }
            }
        }
        for (ti, table) in self.tables.iter().enumerate() {
            for (ci, column) in table.columns.iter().enumerate() {
                if seen.contains(&(ti, ci))
                    || column.words.len() < 2
                    || column.words.last().map(String::as_str) != Some("id")
                {
                    continue;
                }
                let prefix = &column.words[..column.words.len() - 1];
                if prefix == table.words.as_slice() {
                    continue; // the table's own id
                }
                let Some(target) = self.tables.iter().position(|t| t.words.as_slice() == prefix) else { continue };
                let target_table = &self.tables[target];
                let to = target_table
                    .columns
                    .iter()
                    .position(|c| c.name == column.name)
                    .or(target_table.key)
                    .or_else(|| target_table.columns.iter().position(|c| c.name == "id"));
                if let Some(to) = to {
                    seen.insert((ti, ci));
                    edges.push(JoinEdge { from: (ti, ci), to: (target, to), declared: false });
                }
            }
        }
        edges
    }

    fn build_index(&mut self) {
        let mut index: HashMap<String, Vec<SchemaHit>> = HashMap::new();
        let mut add = |phrase: &[String], hit: SchemaHit| {
            if phrase.is_empty() {
                return;
            }
            let entry = index.entry(phrase.join(" ")).or_default();
            if !entry.contains(&hit) {
                entry.push(hit);
            }
        };
        for (ti, table) in self.tables.iter().enumerate() {
            add(&table.words, SchemaHit::Table(ti));
            for (ci, column) in table.columns.iter().enumerate() {
                if column.name == "_id" {
                    continue;
                }
                let words = &column.words;
                add(words, SchemaHit::Column((ti, ci), true));
                if column.role.key {
                    // A reference is also named without its `id`: `support_rep_id` is the "support rep".
                    if words.len() > 1 && words.last().is_some_and(|w| w == "id") && Some(ci) != table.key {
                        add(&words[..words.len() - 1], SchemaHit::Column((ti, ci), false));
                    }
                    continue;
                }
                // A date named for its event is also the event: `signup_date` is "signup", `hire_date` "hire".
                if words.len() > 1
                    && column.role.date
                    && matches!(
                        words[words.len() - 1].as_str(),
                        "dat" | "date" | "time" | "at" | "on" | "timestamp" | "day"
                    )
                {
                    add(&words[..words.len() - 1], SchemaHit::Column((ti, ci), false));
                }
                // Without the table's own name in front: orders.order_date is also "date", invoice.invoice_date too.
                if words.len() > table.words.len() && words.starts_with(&table.words) {
                    add(&words[table.words.len()..], SchemaHit::Column((ti, ci), false));
                }
                // The last word of a longer name: unit_price is a "price", billing_country a "country".
                if words.len() > 1 {
                    add(&words[words.len() - 1..], SchemaHit::Column((ti, ci), false));
                }
            }
        }
        self.max_phrase = index.keys().map(|k| k.split(' ').count()).max().unwrap_or(1);
        self.single_words = index.keys().filter(|k| !k.contains(' ')).cloned().collect();
        self.single_words.sort();
        self.index = index;
    }

    /// The longest phrase of `stems` from its start that names something, with how many words it took. Tries each
    /// word as itself, then its synonyms (one word at a time).
    pub fn lookup(&self, stems: &[&str]) -> Option<(usize, Vec<SchemaHit>)> {
        let longest = stems.len().min(self.max_phrase);
        for n in (1..=longest).rev() {
            let phrase = stems[..n].join(" ");
            if let Some(hits) = self.index.get(&phrase) {
                return Some((n, hits.clone()));
            }
        }
        // Synonyms: only for the first word, as a one-word phrase or followed by the rest of a phrase.
        for synonym in synonyms(stems[0]) {
            for n in (1..=longest).rev() {
                let mut phrase = vec![*synonym];
                phrase.extend_from_slice(&stems[1..n]);
                if let Some(hits) = self.index.get(&phrase.join(" ")) {
                    return Some((n, hits.clone()));
                }
            }
        }
        None
    }

    /// A word the index does not hold, matched within its typo budget to exactly one alias word.
    pub fn fuzzy(&self, word: &str) -> Option<(String, Vec<SchemaHit>)> {
        let budget = typo_budget(word);
        if budget == 0 {
            return None;
        }
        let stemmed = stem(word);
        let mut best: Option<(usize, &String)> = None;
        let mut tie = false;
        for candidate in &self.single_words {
            let d = edit_distance(&stemmed, candidate, budget).min(edit_distance(word, candidate, budget));
            if d > budget || candidate.len() < 4 {
                continue;
            }
            match best {
                Some((bd, _)) if d > bd => {}
                Some((bd, _)) if d == bd => tie = true,
                _ => {
                    best = Some((d, candidate));
                    tie = false;
                }
            }
        }
        let (_, alias) = best.filter(|_| !tie)?;
        Some((alias.clone(), self.index.get(alias)?.clone()))
    }

    /// Column names that look like `word`, for a decline's suggestions.
    pub fn near_columns(&self, word: &str, limit: usize) -> Vec<String> {
        let stemmed = stem(word);
        let mut scored: Vec<(usize, String)> = Vec::new();
        for (ti, table) in self.tables.iter().enumerate() {
            for (ci, column) in table.columns.iter().enumerate() {
                if column.name == "_id" {
                    continue;
                }
                let d = column
                    .words
                    .iter()
                    .map(|w| {
                        let head: String = stemmed.chars().take(3).collect();
                        if stemmed.chars().count() >= 3 && w.starts_with(&head) {
                            1
                        } else {
                            edit_distance(&stemmed, w, 3)
                        }
                    })
                    .min()
                    .unwrap_or(9);
                if d <= 2 {
                    scored.push((d, self.qualified((ti, ci))));
                }
            }
        }
        scored.sort();
        scored.into_iter().take(limit).map(|(_, name)| name).collect()
    }

    /// `t` and every table that reaches it along many-to-one joins, nearest first.
    pub fn reaching(&self, t: usize) -> Vec<usize> {
        let mut seen = vec![t];
        let mut queue = VecDeque::from([t]);
        while let Some(u) = queue.pop_front() {
            for &from in &self.into[u] {
                if !seen.contains(&from) {
                    seen.push(from);
                    queue.push_back(from);
                }
            }
        }
        seen
    }

    /// Many-to-one join paths from `from` to every table it reaches: `paths[t]` is the list of edges, or `None`
    /// when `t` cannot be reached. Breadth first, so each path is a shortest; among equally short paths the first
    /// found (declared keys before inferred ones, then schema order) wins, and `ambiguous[t]` says there was
    /// another of the same length through a different column.
    pub fn paths_from(&self, from: usize) -> JoinPaths {
        let n = self.tables.len();
        let mut paths: Vec<Option<Vec<JoinEdge>>> = vec![None; n];
        let mut ambiguous = vec![false; n];
        paths[from] = Some(Vec::new());
        let mut queue = VecDeque::from([from]);
        let mut depth = vec![usize::MAX; n];
        depth[from] = 0;
        while let Some(t) = queue.pop_front() {
            for edge in &self.out[t] {
                let target = edge.to.0;
                if target == from {
                    continue;
                }
                let d = depth[t] + 1;
                if depth[target] == usize::MAX {
                    depth[target] = d;
                    let mut path = paths[t].clone().unwrap_or_default();
                    path.push(*edge);
                    paths[target] = Some(path);
                    queue.push_back(target);
                } else if depth[target] == d {
                    ambiguous[target] = true;
                }
            }
        }
        JoinPaths { paths, ambiguous }
    }
}

/// The shortest many-to-one join paths from one table, see [`SchemaModel::paths_from`].
pub struct JoinPaths {
    pub paths: Vec<Option<Vec<JoinEdge>>>,
    pub ambiguous: Vec<bool>,
}

/// MongoDB reports a field's types from a sample; a field mostly holding dates is a date even when the
/// snapshot's logical type says otherwise.
fn mongo_logical(logical: LogicalType, types: Option<&[polystoreiq_protocol::types::TypeCount]>) -> LogicalType {
    let Some(first) = types.and_then(|t| t.iter().find(|t| t.type_name != "null")) else { return logical };
    match first.type_name.as_str() {
        "date" => LogicalType::TimestampTz,
        "decimal" | "decimal128" => LogicalType::Decimal,
        "double" => LogicalType::Float,
        "int" | "long" => LogicalType::Int,
        "string" => LogicalType::Text,
        _ => logical,
    }
}

fn column_role(name: &str, words: &[String], logical: LogicalType) -> ColumnRole {
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let numeric = matches!(logical, LogicalType::Int | LogicalType::Float | LogicalType::Decimal);
    let text = logical == LogicalType::Text;
    let key = name.eq_ignore_ascii_case("id") || words.last().is_some_and(|w| w == "id") || name == "_id";
    let numeric = numeric && !key;
    ColumnRole {
        key,
        date: matches!(logical, LogicalType::Date | LogicalType::Timestamp | LogicalType::TimestampTz),
        numeric,
        text,
        money: numeric && has(MONEY),
        price: numeric && has(PRICE),
        quantity: numeric && has(QUANTITY),
        duration: numeric && has(DURATION),
        size: numeric && has(SIZE),
        place: text && has(PLACE),
    }
}

fn label_columns(table: &ModelTable, names: &[&str]) -> Vec<usize> {
    let text = |i: &usize| table.columns[*i].role.text;
    // `name`, `title`, `<table>_name`.
    // A name first (`name`, `<table>_name`, `label`), then a person's first and last name, then a title (an
    // album's title names it; an employee's title is a job, which the names above win over).
    let labelled = |allowed: &[&str]| -> Option<usize> {
        (0..names.len()).filter(text).find(|&i| {
            let words = &table.columns[i].words;
            let last = words.last().map(String::as_str).unwrap_or_default();
            allowed.contains(&last)
                && (words.len() == 1 || (words.len() == table.words.len() + 1 && words.starts_with(&table.words)))
        })
    };
    if let Some(i) = labelled(&["name", "nam", "label", "labl"]) {
        return vec![i];
    }
    let first =
        names.iter().position(|n| matches!(n.to_lowercase().replace('_', "").as_str(), "firstname" | "givenname"));
    let last = names
        .iter()
        .position(|n| matches!(n.to_lowercase().replace('_', "").as_str(), "lastname" | "surname" | "familyname"));
    if let (Some(f), Some(l)) = (first, last) {
        return vec![f, l];
    }
    if let Some(i) = labelled(&["title", "titl"]) {
        return vec![i];
    }
    let named: Vec<usize> = (0..names.len())
        .filter(text)
        .filter(|&i| table.columns[i].words.last().is_some_and(|w| LABEL.contains(&w.as_str())))
        .collect();
    named.into_iter().take(1).collect()
}

/// Tables and columns of the model, for a decline's suggestions: `customers (name, city, country)`.
pub fn outline(model: &SchemaModel, tables: &[usize], max_columns: usize) -> String {
    tables
        .iter()
        .map(|&t| {
            let table = &model.tables[t];
            let columns: Vec<&str> = table
                .columns
                .iter()
                .filter(|c| c.name != "_id" && !c.role.key)
                .map(|c| c.name.as_str())
                .take(max_columns)
                .collect();
            format!("{} ({})", table.name, columns.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use polystoreiq_protocol::types::{ColumnInfo, TableInfo, TableKind};

    fn column(name: &str, logical: LogicalType) -> ColumnInfo {
        ColumnInfo { name: name.into(), db_type: String::new(), logical, nullable: true, comment: None, sample: None }
    }

    fn demo() -> SchemaSnapshot {
        use LogicalType::*;
        let t = |name: &str, cols: &[(&str, LogicalType)]| {
            TableInfo::new(name.into(), TableKind::Table, None, cols.iter().map(|(n, l)| column(n, *l)).collect())
        };
        SchemaSnapshot {
            tables: vec![
                t("customers", &[("customer_id", Int), ("name", Text), ("country", Text), ("signup_date", Date)]),
                t("products", &[("product_id", Int), ("name", Text), ("unit_price", Decimal)]),
                t(
                    "orders",
                    &[
                        ("order_id", Int),
                        ("customer_id", Int),
                        ("product_id", Int),
                        ("order_date", Date),
                        ("amount", Decimal),
                    ],
                ),
            ],
            fetched_at_ms: 0,
            cache: None,
        }
    }

    #[test]
    fn keys_labels_and_inferred_joins() {
        let model = SchemaModel::new(&demo(), Engine::Duckdb);
        assert_eq!(model.tables[0].key, Some(0));
        assert_eq!(model.tables[0].label, vec![1]);
        assert_eq!(model.edges.len(), 2);
        assert!(model.edges.iter().all(|e| e.from.0 == 2 && !e.declared));
        let reach = model.paths_from(2);
        assert_eq!(reach.paths[0].as_ref().map(Vec::len), Some(1));
        assert!(model.paths_from(0).paths[2].is_none(), "customers do not reach orders many-to-one");
        let orders = &model.tables[2];
        assert!(orders.columns[4].role.money && !orders.columns[1].role.numeric);
    }

    #[test]
    fn aliases_find_tables_and_columns_by_phrase_synonym_and_typo() {
        let model = SchemaModel::new(&demo(), Engine::Postgres);
        assert_eq!(model.lookup(&["customer"]).unwrap().1[0], SchemaHit::Table(0));
        assert_eq!(model.lookup(&["unit", "pric"]).unwrap(), (2, vec![SchemaHit::Column((1, 2), true)]));
        assert_eq!(model.lookup(&["client"]).unwrap().1[0], SchemaHit::Table(0));
        assert_eq!(model.lookup(&["order", "dat"]).unwrap().0, 2);
        assert_eq!(model.fuzzy("custmers").unwrap().1[0], SchemaHit::Table(0));
        assert!(model.fuzzy("weather").is_none());
    }
}
