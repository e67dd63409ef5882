// Unit specs for bench/json.ts: how the results file lays arrays out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatJson } from "./json.js";

test("scalar arrays go on one line when they fit, the rest stays expanded", () => {
  const long = Array.from({ length: 40 }, (_, i) => 1000 + i);
  const text = formatJson({ a: { samples: [1, 2, 3], names: ["x", "y"], objects: [{ k: 1 }], long, empty: [] } });
  assert.match(text, /^ {4}"samples": \[1, 2, 3\],$/m);
  assert.match(text, /^ {4}"names": \["x", "y"\],$/m);
  assert.match(text, /^ {4}"objects": \[\n {6}\{/m);
  assert.match(text, /^ {4}"long": \[\n {6}1000,$/m);
  assert.deepEqual(JSON.parse(text), {
    a: { samples: [1, 2, 3], names: ["x", "y"], objects: [{ k: 1 }], long, empty: [] },
  });
});
