// Specs for args.ts: runc's flag grammar as conmon, containerd's runc shim and people write it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { containerId, type FlagDef, list, parseArgs, str } from "./args.js";

const defs: FlagDef[] = [
  { names: ["bundle", "b"], kind: "string" },
  { names: ["detach", "d"], kind: "bool" },
  { names: ["env", "e"], kind: "list" },
];

test("long, short, one-dash and inline forms; flags after the positional too", () => {
  const a = parseArgs(["--bundle", "/b", "id1", "-d", "-e=A=1", "-env", "B=2"], defs);
  assert.equal(str(a, "bundle"), "/b");
  assert.equal(a.flags.get("detach"), true);
  assert.deepEqual(list(a, "env"), ["A=1", "B=2"]);
  assert.deepEqual(a.positional, ["id1"]);
  assert.equal(parseArgs(["--detach=false", "x"], defs).flags.get("detach"), false);
});

test("flagsEndAfter: everything after the n-th positional is positional (exec's command, the verb)", () => {
  const a = parseArgs(["-d", "id1", "sh", "-c", "echo -d"], defs, { flagsEndAfter: 1 });
  assert.deepEqual(a.positional, ["id1", "sh", "-c", "echo -d"]);
  assert.equal(a.flags.get("detach"), true);
  assert.deepEqual(parseArgs(["--", "-x"], defs).positional, ["-x"]);
});

test("an unknown flag is refused in Go's words; a missing value is named", () => {
  assert.throws(
    () => parseArgs(["--no-such", "id"], defs),
    (e: unknown) =>
      e instanceof HakoError && e.code === Code.InvalidArgument && /not defined: -no-such/.test(e.message),
  );
  assert.throws(() => parseArgs(["--bundle"], defs), /needs an argument: -bundle/);
  assert.throws(() => parseArgs(["--detach=maybe"], defs), /invalid boolean/);
});

test("containerId wants exactly one valid id", () => {
  assert.equal(containerId(parseArgs(["abc_1.x-y"], defs), "state"), "abc_1.x-y");
  assert.throws(() => containerId(parseArgs([], defs), "state"), /exactly 1 argument/);
  assert.throws(() => containerId(parseArgs(["a", "b"], defs), "state"), /exactly 1 argument/);
  assert.throws(() => containerId(parseArgs(["../x"], defs), "state"), /invalid container id/);
});
