// The lifecycle table shared by host, guest and fakes: which operations each status allows, and the error a refused
// one raises.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { can, mustBeAbleTo, ProcessStatus } from "./process-status.js";

type Op = Parameters<typeof can>[1];
const ops: Op[] = ["start", "kill", "pause", "resume", "exec", "spawnExec", "delete", "update"];

// Written out in full so that a change to the table in process-status.ts has to be made here too, on purpose.
const expected: Record<ProcessStatus, Op[]> = {
  [ProcessStatus.Created]: ["start", "kill", "exec", "delete", "update"],
  [ProcessStatus.Running]: ["kill", "pause", "exec", "spawnExec", "update"],
  [ProcessStatus.Paused]: ["kill", "resume", "update"],
  [ProcessStatus.Stopped]: ["delete"],
};

describe("can", () => {
  for (const status of Object.values(ProcessStatus)) {
    test(`${status} allows exactly ${expected[status].join(", ")}`, () => {
      const allowed = ops.filter((op) => can(status, op));
      assert.deepEqual(allowed, expected[status]);
    });
  }

  test("an operation the table does not know is refused", () => {
    assert.equal(can(ProcessStatus.Running, "migrate" as Op), false);
  });
});

describe("mustBeAbleTo", () => {
  test("throws FailedPrecondition naming the object, the operation and the status", () => {
    assert.throws(
      () => mustBeAbleTo(ProcessStatus.Running, "delete", "container c1"),
      (err: unknown) =>
        err instanceof HakoError &&
        err.code === Code.FailedPrecondition &&
        err.message === "cannot delete container c1: it is running",
    );
  });

  test("every refusal in the table throws, every allowed pair does not", () => {
    for (const status of Object.values(ProcessStatus)) {
      for (const op of ops) {
        const run = () => mustBeAbleTo(status, op, "x");
        if (expected[status].includes(op)) assert.doesNotThrow(run, `${op} from ${status}`);
        else assert.throws(run, { code: Code.FailedPrecondition }, `${op} from ${status}`);
      }
    }
  });
});
