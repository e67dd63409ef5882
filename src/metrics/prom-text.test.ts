// Unit specs for Prometheus text handling: adding a label, merging families from several sources.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addLabel, mergeExpositions } from "./prom-text.js";

test("adds a label to samples with and without labels, leaving comments alone", () => {
  const text = '# HELP m help\n# TYPE m gauge\nm 1\nm{a="x}y",b="q\\"z"} 2\n';
  assert.equal(
    addLabel(text, "sandbox_id", "s1"),
    '# HELP m help\n# TYPE m gauge\nm{sandbox_id="s1"} 1\nm{sandbox_id="s1",a="x}y",b="q\\"z"} 2\n',
  );
  assert.equal(addLabel("m{} 3", "k", 'v"'), 'm{k="v\\""} 3');
});

test("merging keeps one HELP and TYPE per family and every sample", () => {
  const a =
    '# HELP c_total calls\n# TYPE c_total counter\nc_total{s="a"} 1\n# TYPE h histogram\nh_bucket{le="1",s="a"} 1\nh_sum{s="a"} 0.5\nh_count{s="a"} 1\n';
  const b = '# HELP c_total calls\n# TYPE c_total counter\nc_total{s="b"} 2\nloose 7\n';
  const merged = mergeExpositions([a, b]);
  assert.equal(merged.match(/# TYPE c_total/g)?.length, 1);
  assert.equal(merged.match(/# HELP c_total/g)?.length, 1);
  const lines = merged.trim().split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "# HELP c_total calls",
    "# TYPE c_total counter",
    'c_total{s="a"} 1',
    'c_total{s="b"} 2',
  ]);
  assert.ok(lines.includes('h_sum{s="a"} 0.5'));
  assert.ok(lines.includes("loose 7"));
  assert.equal(mergeExpositions(["", "\n"]), "");
});
