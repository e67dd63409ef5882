// Unit specs for HakoError: wrapping foreign errors with a code.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, codeName, HakoError, notFound } from "./errors.js";

test("HakoError.from keeps a HakoError and wraps anything else with the given code", () => {
  const nf = notFound("container abc not found");
  assert.equal(HakoError.from(nf, Code.Internal), nf);
  const wrapped = HakoError.from(new Error("boom"), Code.Internal, "starting vm");
  assert.equal(wrapped.code, Code.Internal);
  assert.equal(wrapped.message, "starting vm: boom");
  assert.equal(codeName(Code.Unimplemented), "Unimplemented");
});
