// Unit specs for the one mapping between HakoError codes and ttrpc status.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import { StatusSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";
import { errorFromStatus, statusFromError } from "./status.js";

describe("ttrpc status mapping", () => {
  it("keeps a HakoError's code and message", () => {
    const status = statusFromError(new HakoError(Code.NotFound, "container c1 not found"));
    assert.equal(status.code, Code.NotFound);
    assert.equal(status.message, "container c1 not found");
  });

  it("maps any other thrown value to Unknown with its message", () => {
    assert.deepEqual(
      [statusFromError(new TypeError("boom")), statusFromError("text")].map((s) => [s.code, s.message]),
      [
        [Code.Unknown, "boom"],
        [Code.Unknown, "text"],
      ],
    );
  });

  it("round-trips every code through a status", () => {
    for (const code of Object.values(Code).filter((c): c is Code => typeof c === "number" && c !== Code.Ok)) {
      const err = errorFromStatus(statusFromError(new HakoError(code, "m")), "svc/M");
      assert.equal(err?.code, code);
      assert.equal(err?.message, "m");
    }
  });

  it("treats a missing or Ok status as success and an unknown code as Unknown", () => {
    assert.equal(errorFromStatus(undefined, "svc/M"), undefined);
    assert.equal(errorFromStatus(create(StatusSchema, { code: 0, message: "fine" }), "svc/M"), undefined);
    const err = errorFromStatus(create(StatusSchema, { code: 99, message: "odd" }), "svc/M");
    assert.equal(err?.code, Code.Unknown);
    assert.equal(err?.fields.remoteCode, 99);
  });
});
