//! One column of a Parquet table: what it is called and holds ([`Col`]),
//! the values of the row group being filled ([`ColBuf`]), and how both
//! become Parquet (schema type, leaf columns written with their levels).
//!
//! Columns are declared once, in [`super::tables`], each with the getter
//! that reads it from an event and the JSON Lines field it mirrors, so the
//! schema, the writer and the test that compares Parquet with JSON Lines
//! can never disagree about a column.

use crate::event::Timestamp;
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::Result;
use parquet::file::writer::SerializedRowGroupWriter;
use parquet::schema::types::{Type, TypePtr};
use std::sync::Arc;

/// What a column holds, as Parquet types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text (`BYTE_ARRAY` annotated `STRING`), dictionary-encoded off.
    Str,
    /// UTF-8 from a small set of values (direction, rule id, protocol):
    /// dictionary-encoded, which is what makes them cheap to filter on.
    Enum,
    I64,
    I32,
    F64,
    Bool,
    /// `INT64` annotated `TIMESTAMP(NANOS, UTC)`.
    Ts,
    /// Payload bytes (`BYTE_ARRAY`), cut to `--payload`.
    Bin,
    /// Payload text (a text message), cut to `--payload` on a character boundary.
    Text,
    /// `LIST<STRING>` (never null: empty when there is nothing).
    StrList,
    /// `LIST<INT64>` (never null): packet numbers.
    IntList,
    /// `LIST<STRUCT<name STRING, value STRING>>`: headers, in order.
    Pairs,
}

impl Kind {
    /// Holds payload bytes: `--payload` applies, no dictionary, no statistics.
    pub fn is_payload(self) -> bool {
        matches!(self, Kind::Bin | Kind::Text)
    }
}

/// A value read from an event for one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Str(&'a str),
    String(String),
    Int(i64),
    F64(f64),
    Bool(bool),
    Ts(Timestamp),
    Bytes(&'a [u8]),
    List(&'a [String]),
    OwnedList(Vec<String>),
    Pairs(&'a [(String, String)]),
    Ints(&'a [u64]),
}

/// What a getter sees beside the event: the facts of the row that are
/// not in the event itself.
#[derive(Debug, Default)]
pub struct Ctx {
    /// The input file the rows come from (the `capture` column).
    pub capture: String,
    /// `connections`: the Community ID of the row's flow.
    pub community_id: String,
    /// `connections`: what the connection's opening record said (whether
    /// its SYN was seen, how client and server were told apart).
    pub open: Option<(bool, &'static str)>,
    /// `decoded`: which application message of the message.
    pub item: usize,
    /// How much of each payload is kept (`--payload`).
    pub payload: crate::output::payload::PayloadLimit,
}

/// Reads a column's value from an event of type `E`.
pub type Getter<E> = for<'a> fn(&'a E, &'a Ctx) -> Val<'a>;

/// One column: name, type, nullability, the JSON Lines field it mirrors
/// (a path into the record, `.` between keys; empty when it has none), and
/// its getter.
pub struct Col<E: 'static> {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub json: &'static str,
    pub get: Getter<E>,
}

/// A required column.
pub const fn req<E>(name: &'static str, kind: Kind, json: &'static str, get: Getter<E>) -> Col<E> {
    Col {
        name,
        kind,
        nullable: false,
        json,
        get,
    }
}

/// A nullable column.
pub const fn opt<E>(name: &'static str, kind: Kind, json: &'static str, get: Getter<E>) -> Col<E> {
    Col {
        name,
        kind,
        nullable: true,
        json,
        get,
    }
}

impl<E> Clone for Col<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Col<E> {}

impl<E> Col<E> {
    /// The column's Parquet type.
    pub fn parquet_type(&self) -> Result<TypePtr> {
        let rep = if self.nullable {
            Repetition::OPTIONAL
        } else {
            Repetition::REQUIRED
        };
        let string = |name: &str, rep| {
            Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                .with_repetition(rep)
                .with_logical_type(Some(LogicalType::String))
                .build()
                .map(Arc::new)
        };
        let prim = |physical, logical: Option<LogicalType>| {
            Type::primitive_type_builder(self.name, physical)
                .with_repetition(rep)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        };
        // The three-level LIST of the Parquet format's LogicalTypes.md.
        let list = |element: TypePtr| -> Result<TypePtr> {
            let repeated = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![element])
                .build()?;
            Type::group_type_builder(self.name)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(repeated)])
                .build()
                .map(Arc::new)
        };
        match self.kind {
            Kind::Str | Kind::Enum | Kind::Text => string(self.name, rep),
            Kind::I64 => prim(Physical::INT64, None),
            Kind::I32 => prim(Physical::INT32, None),
            Kind::F64 => prim(Physical::DOUBLE, None),
            Kind::Bool => prim(Physical::BOOLEAN, None),
            Kind::Ts => prim(
                Physical::INT64,
                Some(LogicalType::timestamp(true, TimeUnit::NANOS)),
            ),
            Kind::Bin => prim(Physical::BYTE_ARRAY, None),
            Kind::StrList => list(string("element", Repetition::REQUIRED)?),
            Kind::IntList => list(Arc::new(
                Type::primitive_type_builder("element", Physical::INT64)
                    .with_repetition(Repetition::REQUIRED)
                    .build()?,
            )),
            Kind::Pairs => {
                let element = Type::group_type_builder("element")
                    .with_repetition(Repetition::REQUIRED)
                    .with_fields(vec![
                        string("name", Repetition::REQUIRED)?,
                        string("value", Repetition::REQUIRED)?,
                    ])
                    .build()?;
                list(Arc::new(element))
            }
        }
    }

    /// The dotted paths of the column's leaves (what
    /// `WriterProperties` settings name).
    pub fn leaf_paths(&self) -> Vec<Vec<String>> {
        let p = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect();
        match self.kind {
            Kind::StrList | Kind::IntList => vec![p(&[self.name, "list", "element"])],
            Kind::Pairs => vec![
                p(&[self.name, "list", "element", "name"]),
                p(&[self.name, "list", "element", "value"]),
            ],
            _ => vec![p(&[self.name])],
        }
    }
}

/// The row group's next leaf column.
fn leaf<'b, W: std::io::Write + Send>(
    rg: &'b mut SerializedRowGroupWriter<'_, W>,
) -> Result<parquet::file::writer::SerializedColumnWriter<'b>> {
    rg.next_column()?.ok_or_else(|| {
        parquet::errors::ParquetError::General("the schema has fewer columns than the table".into())
    })
}

/// A column's values.
#[derive(Debug)]
enum Data {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Bytes(Vec<ByteArray>),
    /// Names and values of `Pairs`.
    Pairs(Vec<ByteArray>, Vec<ByteArray>),
}

/// The values of one column in the row group being filled, with their
/// definition and repetition levels.
#[derive(Debug)]
pub struct ColBuf {
    kind: Kind,
    nullable: bool,
    data: Data,
    def: Vec<i16>,
    rep: Vec<i16>,
    /// Bytes held (values and levels), for the row group's size.
    pub bytes: usize,
}

fn bytes(b: &[u8]) -> ByteArray {
    ByteArray::from(b.to_vec())
}

impl ColBuf {
    pub fn new<E>(col: &Col<E>) -> Self {
        let data = match col.kind {
            Kind::I32 => Data::I32(Vec::new()),
            Kind::I64 | Kind::Ts | Kind::IntList => Data::I64(Vec::new()),
            Kind::F64 => Data::F64(Vec::new()),
            Kind::Bool => Data::Bool(Vec::new()),
            Kind::Pairs => Data::Pairs(Vec::new(), Vec::new()),
            Kind::Str | Kind::Enum | Kind::Text | Kind::Bin | Kind::StrList => Data::Bytes(Vec::new()),
        };
        ColBuf {
            kind: col.kind,
            nullable: col.nullable,
            data,
            def: Vec::new(),
            rep: Vec::new(),
            bytes: 0,
        }
    }

    /// Appends one row's value. A value of the wrong kind for the column
    /// (a getter's mistake, which the tests would show) is written as null
    /// or the type's zero: never a panic on data.
    pub fn push(&mut self, v: Val<'_>) {
        if matches!(self.kind, Kind::StrList | Kind::Pairs | Kind::IntList) {
            return self.push_list(v);
        }
        if matches!(v, Val::Null) {
            if self.nullable {
                self.def.push(0);
                self.bytes += 2;
                return;
            }
            return self.push_zero();
        }
        if self.nullable {
            self.def.push(1);
            self.bytes += 2;
        }
        match (&mut self.data, v) {
            (Data::I64(d), Val::Int(n)) => d.push(n),
            (Data::I64(d), Val::Ts(t)) => d.push(
                t.secs
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(t.nanos)),
            ),
            (Data::I32(d), Val::Int(n)) => d.push(i32::try_from(n).unwrap_or(i32::MAX)),
            (Data::F64(d), Val::F64(x)) => d.push(x),
            (Data::Bool(d), Val::Bool(b)) => d.push(b),
            (Data::Bytes(d), Val::Str(s)) => {
                self.bytes += s.len();
                d.push(bytes(s.as_bytes()));
            }
            (Data::Bytes(d), Val::String(s)) => {
                self.bytes += s.len();
                d.push(ByteArray::from(s.into_bytes()));
            }
            (Data::Bytes(d), Val::Bytes(b)) => {
                self.bytes += b.len();
                d.push(bytes(b));
            }
            _ => {
                // Undo the definition level and write the zero instead.
                if self.nullable {
                    self.def.pop();
                    self.def.push(0);
                    return;
                }
                return self.push_zero();
            }
        }
        self.bytes += 8;
    }

    fn push_zero(&mut self) {
        match &mut self.data {
            Data::I32(d) => d.push(0),
            Data::I64(d) => d.push(0),
            Data::F64(d) => d.push(0.0),
            Data::Bool(d) => d.push(false),
            Data::Bytes(d) => d.push(ByteArray::from(Vec::new())),
            Data::Pairs(..) => {}
        }
        self.bytes += 8;
    }

    /// A list: definition level 0 and no value when empty; else one level
    /// per element, repetition 0 on the first (a new row) and 1 after.
    fn push_list(&mut self, v: Val<'_>) {
        let start = self.def.len();
        match (&mut self.data, v) {
            (Data::Bytes(d), Val::List(items)) => {
                for s in items {
                    self.bytes += s.len();
                    d.push(bytes(s.as_bytes()));
                    self.def.push(1);
                }
            }
            (Data::Bytes(d), Val::OwnedList(items)) => {
                for s in items {
                    self.bytes += s.len();
                    d.push(ByteArray::from(s.into_bytes()));
                    self.def.push(1);
                }
            }
            (Data::I64(d), Val::Ints(items)) => {
                for n in items {
                    d.push(i64::try_from(*n).unwrap_or(i64::MAX));
                    self.def.push(1);
                }
            }
            (Data::Pairs(names, values), Val::Pairs(items)) => {
                for (n, v) in items {
                    self.bytes += n.len() + v.len();
                    names.push(bytes(n.as_bytes()));
                    values.push(bytes(v.as_bytes()));
                    self.def.push(1);
                }
            }
            _ => {}
        }
        let added = self.def.len() - start;
        if added == 0 {
            self.def.push(0);
            self.rep.push(0);
        } else {
            self.rep.push(0);
            self.rep.extend(std::iter::repeat_n(1, added - 1));
        }
        self.bytes += 4 * added.max(1) + 8 * added;
    }

    /// Writes the row group's values of this column (its one leaf, or both
    /// leaves of `Pairs`) into `rg`, and empties the buffer.
    pub fn write<W: std::io::Write + Send>(
        &mut self,
        rg: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<()> {
        let list = matches!(self.kind, Kind::StrList | Kind::Pairs | Kind::IntList);
        let def = (self.nullable || list).then_some(self.def.as_slice());
        let rep = list.then_some(self.rep.as_slice());
        match &self.data {
            Data::I32(d) => {
                let mut c = leaf(rg)?;
                c.typed::<Int32Type>().write_batch(d, def, rep)?;
                c.close()?;
            }
            Data::I64(d) => {
                let mut c = leaf(rg)?;
                c.typed::<Int64Type>().write_batch(d, def, rep)?;
                c.close()?;
            }
            Data::F64(d) => {
                let mut c = leaf(rg)?;
                c.typed::<DoubleType>().write_batch(d, def, rep)?;
                c.close()?;
            }
            Data::Bool(d) => {
                let mut c = leaf(rg)?;
                c.typed::<BoolType>().write_batch(d, def, rep)?;
                c.close()?;
            }
            Data::Bytes(d) => {
                let mut c = leaf(rg)?;
                c.typed::<ByteArrayType>().write_batch(d, def, rep)?;
                c.close()?;
            }
            Data::Pairs(names, values) => {
                for d in [names, values] {
                    let mut c = leaf(rg)?;
                    c.typed::<ByteArrayType>().write_batch(d, def, rep)?;
                    c.close()?;
                }
            }
        }
        self.clear();
        Ok(())
    }

    fn clear(&mut self) {
        match &mut self.data {
            Data::I32(d) => d.clear(),
            Data::I64(d) => d.clear(),
            Data::F64(d) => d.clear(),
            Data::Bool(d) => d.clear(),
            Data::Bytes(d) => d.clear(),
            Data::Pairs(n, v) => {
                n.clear();
                v.clear();
            }
        }
        self.def.clear();
        self.rep.clear();
        self.bytes = 0;
    }
}
