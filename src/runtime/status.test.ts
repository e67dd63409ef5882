// The lifecycle table: which operations each status allows, and the error a refused one raises.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { can, mustBeAbleTo, Status } from "./status.js";

type Op = Parameters<typeof can>[1];
const ops: Op[] = ["start", "kill", "pause", "resume", "exec", "delete", "update"];

// Written out in full so that a change to the table in status.ts has to be made here too, on purpose.
const expected: Record<Status, Op[]> = {
  [Status.Created]: ["start", "kill", "exec", "delete", "update"],
  [Status.Running]: ["kill", "pause", "exec", "update"],
  [Status.Paused]: ["kill", "resume", "update"],
  [Status.Stopped]: ["delete"],
};

describe("can", () => {
  for (const status of Object.values(Status)) {
    test(`${status} allows exactly ${expected[status].join(", ")}`, () => {
      const allowed = ops.filter((op) => can(status, op));
      assert.deepEqual(allowed, expected[status]);
    });
  }

  test("an operation the table does not know is refused", () => {
    assert.equal(can(Status.Running, "migrate" as Op), false);
  });
});

describe("mustBeAbleTo", () => {
  test("passes silently when the transition is allowed", () => {
    mustBeAbleTo(Status.Created, "start", "container c1");
  });

  test("throws FailedPrecondition naming the object, the operation and the status", () => {
    assert.throws(
      () => mustBeAbleTo(Status.Running, "delete", "container c1"),
      (err: unknown) =>
        err instanceof HakoError &&
        err.code === Code.FailedPrecondition &&
        err.message === "cannot delete container c1: it is running",
    );
  });

  test("every refusal in the table throws, every allowed pair does not", () => {
    for (const status of Object.values(Status)) {
      for (const op of ops) {
        const run = () => mustBeAbleTo(status, op, "x");
        if (expected[status].includes(op)) assert.doesNotThrow(run, `${op} from ${status}`);
        else assert.throws(run, { code: Code.FailedPrecondition }, `${op} from ${status}`);
      }
    }
  });
});
