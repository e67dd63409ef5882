// Unit specs for the bounded QMP line reader.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, HakoError } from "../../common/errors.js";
import { QmpLineReader } from "./qmp-reader.js";

describe("QmpLineReader", () => {
  it("yields one message per line, across chunk boundaries", () => {
    const r = new QmpLineReader();
    assert.deepEqual(r.feed(Buffer.from('{"a":1}\n{"b"')), [{ a: 1 }]);
    assert.deepEqual(r.feed(Buffer.from(":2}")), []);
    assert.deepEqual(r.feed(Buffer.from('\r\n\n{"c":3}\n')), [{ b: 2 }, { c: 3 }]);
  });
  it("keeps multi-byte characters split across chunks intact", () => {
    const r = new QmpLineReader();
    const bytes = Buffer.from('{"s":"é"}\n');
    assert.deepEqual(r.feed(bytes.subarray(0, 7)), []);
    assert.deepEqual(r.feed(bytes.subarray(7)), [{ s: "é" }]);
  });
  it("rejects a line over the limit, even before its newline arrives", () => {
    const r = new QmpLineReader(16);
    r.feed(Buffer.from('{"a":"0123'));
    assert.throws(
      () => r.feed(Buffer.from("456789abcdef")),
      (e: unknown) => e instanceof HakoError && e.code === Code.ResourceExhausted,
    );
  });
  it("rejects lines that are not JSON objects", () => {
    assert.throws(() => new QmpLineReader().feed(Buffer.from("nope\n")), /not JSON/);
    assert.throws(() => new QmpLineReader().feed(Buffer.from("[1]\n")), /not a JSON object/);
  });
});
