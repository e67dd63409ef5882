// Specs for signals.ts: the signal forms runc's kill accepts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSignal } from "./signals.js";

test("numbers and names, with or without SIG, any case", () => {
  assert.equal(parseSignal("9"), 9);
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("sigterm"), 15);
  assert.equal(parseSignal("SIGUSR1"), 10);
});

test("unknown signals are refused", () => {
  assert.throws(() => parseSignal("NOPE"), /unknown signal "NOPE"/);
  assert.throws(() => parseSignal("0"), /unknown signal/);
  assert.throws(() => parseSignal("99"), /unknown signal/);
});
