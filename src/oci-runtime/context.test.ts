// Specs for context.ts: the text form of log lines (runc's logrus text format) and the log-format check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseArgs } from "./args.js";
import { contextFrom, GLOBAL_FLAGS, textLine } from "./context.js";

test("a JSON log line becomes key=value text, quoting what needs it", () => {
  const line = textLine('{"level":"error","msg":"container x does not exist","code":5}\n');
  assert.equal(line, 'level=error msg="container x does not exist" code=5\n');
});

test("an unknown --log-format is refused; defaults apply", () => {
  assert.throws(() => contextFrom(parseArgs(["--log-format", "xml"], GLOBAL_FLAGS)), /invalid log-format: xml/);
  const ctx = contextFrom(parseArgs(["--root", "/tmp/r"], GLOBAL_FLAGS));
  assert.equal(ctx.root, "/tmp/r");
  assert.equal(ctx.logFormat, "text");
  ctx.close();
});
