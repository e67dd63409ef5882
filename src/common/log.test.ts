// Unit specs for the logger: logrus-shaped JSON lines, child fields, level filtering.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, memorySink } from "./log.js";

test("logger writes logrus-shaped JSON with child fields and filters by level", () => {
  const sink = memorySink();
  const log = createLogger({ level: "info", sink }).child({ subsystem: "qmp", sandbox: "s1" });
  log.debug("hidden");
  log.warn("slow start", { ms: 12, err: new Error("x") });
  const [entry] = sink.entries();
  assert.equal(sink.lines.length, 1);
  assert.equal(entry?.level, "warning");
  assert.equal(entry?.msg, "slow start");
  assert.equal(entry?.subsystem, "qmp");
  assert.equal(entry?.sandbox, "s1");
  assert.deepEqual(entry?.err, { message: "x" });
  assert.match(String(entry?.time), /^\d{4}-\d\d-\d\dT/);
});
