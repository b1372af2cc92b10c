// node ajv.cjs TOOLS SCHEMA FILE...
//
// Checks each YAML file against the JSON Schema with ajv (draft 2020-12,
// strict, every error, formats from ajv-formats), the packages installed in
// TOOLS/node_modules by make tools-npm. Prints one JSON line per file:
// {"file": F, "valid": true|false, "errors": [{"path", "keyword", "message"}]}.
// Exits 2 when the schema itself does not compile.
"use strict";
const fs = require("fs");
const path = require("path");

const [tools, schemaFile, ...files] = process.argv.slice(2);
const need = (m) => require(path.join(tools, "node_modules", m));
const Ajv2020 = need("ajv/dist/2020").default;
const addFormats = need("ajv-formats").default;
const YAML = need("yaml");

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
addFormats(ajv);
let validate;
try {
  validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
} catch (e) {
  console.error("the schema does not compile: " + e.message);
  process.exit(2);
}
for (const file of files) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const valid = validate(doc);
  const errors = valid ? [] : validate.errors.map((e) => ({ path: e.instancePath, keyword: e.keyword, message: e.message }));
  console.log(JSON.stringify({ file, valid, errors }));
}
