// Reads a Parquet file written by `bfc export --format parquet` with DuckDB
// (the @duckdb/node-api npm package) and the Arrow store files it came
// from with apache-arrow, two implementations independent of bfc's Go
// libraries, and prints every value of both as JSON:
//
//   node duckdb.mjs EXPORT.parquet OBJECT.arrow...
//   {"parquet": {"columns": [...], "types": [...], "rows": [[...]], "kv": {...}},
//    "arrow": [{"metadata": {...}, "columns": [...], "rows": [[...]]}, ...]}
//
// Integers are printed as decimal strings (they may exceed 2^53), doubles
// as JSON numbers (the shortest text that reads back to the same double),
// vectors as arrays of numbers.
import { readFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";

const [parquetPath, ...arrowPaths] = process.argv.slice(2);
const quote = (s) => "'" + s.replaceAll("'", "''") + "'";

const db = await DuckDBInstance.create(":memory:");
const conn = await db.connect();
const data = await conn.runAndReadAll(`SELECT * FROM read_parquet(${quote(parquetPath)})`);
const kvRows = await conn.runAndReadAll(
  `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${quote(parquetPath)})`);
const parquet = {
  columns: data.columnNames(),
  types: data.columnTypes().map(String),
  rows: data.getRowsJson(),
  kv: Object.fromEntries(kvRows.getRowObjectsJson().map((r) => [r.key, r.value])),
};

const plain = (v) => {
  if (typeof v === "bigint") return v.toString();
  if (v && typeof v === "object" && "toArray" in v) return Array.from(v.toArray(), Number);
  return v;
};
const arrow = arrowPaths.map((p) => {
  const t = tableFromIPC(readFileSync(p));
  const columns = t.schema.fields.map((f) => f.name);
  const rows = [];
  for (let i = 0; i < t.numRows; i++) {
    const r = t.get(i);
    rows.push(columns.map((c) => plain(r[c])));
  }
  return { metadata: Object.fromEntries(t.schema.metadata), columns, rows };
});
console.log(JSON.stringify({ parquet, arrow }));
