// Reads one bfc store object with the apache-arrow JavaScript
// implementation and prints, as JSON: the schema's metadata, the column
// names and types, the row count and the first row.
import { readFileSync } from "node:fs";
import { tableFromIPC } from "apache-arrow";

const table = tableFromIPC(readFileSync(process.argv[2]));
const meta = Object.fromEntries(table.schema.metadata);
const first = table.numRows > 0 ? table.get(0).toJSON() : null;
for (const k of Object.keys(first ?? {})) {
  const v = first[k];
  if (typeof v === "bigint") first[k] = Number(v);
  else if (v && typeof v === "object" && "toArray" in v) first[k] = Array.from(v.toArray(), Number);
}
console.log(JSON.stringify({
  metadata: meta,
  fields: table.schema.fields.map((f) => ({ name: f.name, type: String(f.type) })),
  rows: table.numRows,
  first,
}));
