// Numeric option parsers: what `hako logs --tail-bytes`, `hako exec -t` and `hako monitor --scrape-timeout` accept.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { nonNegativeInteger, positiveInteger } from "./option-values.js";

test("whole numbers are accepted; signs, fractions, words and empty values are refused", () => {
  assert.equal(nonNegativeInteger("0"), 0);
  assert.equal(nonNegativeInteger("4096"), 4096);
  assert.equal(positiveInteger("30000"), 30000);
  for (const bad of ["", "abc", "-5", "+5", "1.5", "1e3", " 7", "99999999999999999999"]) {
    assert.throws(() => nonNegativeInteger(bad), InvalidArgumentError, bad);
  }
  assert.throws(() => positiveInteger("0"), InvalidArgumentError);
});
