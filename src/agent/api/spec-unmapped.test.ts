// The leftover computation behind the extra_json extension: diff, restore, and the encoded form's validation.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeUnmapped, encodeUnmapped, restoreUnmapped, unmappedPart } from "./spec-unmapped.js";

describe("unmapped part", () => {
  it("is undefined when the message carried everything", () => {
    assert.equal(unmappedPart({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), undefined);
    assert.equal(encodeUnmapped(undefined), "");
    assert.equal(decodeUnmapped("", "test"), undefined);
  });

  it("keeps missing keys sparsely, replaces differing arrays whole, and lists extra keys", () => {
    const input = { user: { uid: 0, umask: 18 }, list: [{ x: 1, y: 2 }], zero: 0 };
    const covered = { user: { uid: 0, gid: 0 }, list: [{ x: 1 }] };
    const u = unmappedPart(input, covered);
    assert.deepEqual(u, { set: { user: { umask: 18 }, list: [{ x: 1, y: 2 }], zero: 0 }, del: [["user", "gid"]] });
    const decoded = decodeUnmapped(encodeUnmapped(u), "test");
    assert.ok(decoded);
    restoreUnmapped(covered, decoded);
    assert.deepEqual(covered, input);
  });

  it("never touches prototypes, whatever the extension says", () => {
    const decoded = decodeUnmapped('{"set":{"__proto__":{"polluted":true},"a":{"__proto__":{"x":1}}}}', "test");
    assert.ok(decoded);
    const target: Record<string, unknown> = { a: {} };
    restoreUnmapped(target, decoded);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(target), Object.prototype);
    assert.deepEqual(target, { a: {} });
  });

  it("rejects an extension that is not {set?, del?}", () => {
    assert.throws(() => decodeUnmapped("{", "grpc.Spec"), /grpc\.Spec: extra_json is not JSON/);
    assert.throws(() => decodeUnmapped('{"del":[[1]]}', "grpc.Spec"), /not of the form/);
    assert.throws(() => decodeUnmapped('{"set":[]}', "grpc.Spec"), /not of the form/);
  });
});
