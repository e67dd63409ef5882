// Unit specs for the logger: logrus-shaped JSON lines, child fields, level filtering, and errors logged whole (cause
// chain, fields, stack).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "./errors.js";
import { createLogger, type Fields, isoTime, memorySink } from "./log.js";

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
  const err = entry?.err as Fields;
  assert.deepEqual(Object.keys(err), ["message", "stack"]);
  assert.equal(err.message, "x");
  assert.match(String(err.stack), /^Error: x\n\s+at /);
  assert.match(String(entry?.time), /^\d{4}-\d\d-\d\dT/);
});

test("an error keeps its code, fields, stack and cause chain, under err", () => {
  const sink = memorySink();
  const log = createLogger({ level: "info", sink });
  const root = Object.assign(new Error("EBUSY: target is busy"), { code: "EBUSY" });
  const mid = new HakoError(Code.Internal, "unmounting /run/x", { cause: root, fields: { path: "/run/x", n: 2n } });
  log.error("delete failed", { err: new HakoError(Code.Unavailable, "deleting c1", { cause: mid }) });
  const err = sink.entries()[0]?.err as Fields;
  assert.equal(err.message, "deleting c1");
  assert.equal(err.code, Code.Unavailable);
  assert.match(String(err.stack), /HakoError/);
  const cause = err.cause as Fields;
  assert.deepEqual([cause.message, cause.code], ["unmounting /run/x", Code.Internal]);
  assert.deepEqual(cause.fields, { path: "/run/x", n: "2" });
  const rootCause = cause.cause as Fields;
  assert.deepEqual([rootCause.message, rootCause.code], ["EBUSY: target is busy", "EBUSY"]);
  assert.equal(rootCause.cause, undefined);
});

test("a cause chain that loops stops at a bounded depth", () => {
  const sink = memorySink();
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  Object.assign(a, { cause: b });
  createLogger({ level: "info", sink }).error("loop", { err: a });
  let depth = 0;
  for (let e = sink.entries()[0]?.err as Fields | string; typeof e === "object"; e = e.cause as Fields) depth++;
  assert.equal(depth, 9);
});

test("isoTime writes what Date's toISOString writes, without it", () => {
  const samples = [0, 951_782_400_000, 951_868_799_999, 1_709_164_800_123, 4_102_444_799_999, 253_402_300_799_999];
  for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 253_402_300_799_999));
  for (const ms of samples) assert.equal(isoTime(ms), new Date(ms).toISOString(), `at ${ms}`);
});
