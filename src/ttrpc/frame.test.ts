// Unit specs for the ttrpc frame codec: header layout, split and merged chunks, size limits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameFlag,
  FrameType,
  HEADER_LENGTH,
  isRemoteClosed,
  isRemoteOpen,
  MAX_PAYLOAD_LENGTH,
} from "./frame.js";

const frame = (streamId: number, payload: string, type = FrameType.Request, flags = 0): Frame => ({
  streamId,
  type,
  flags,
  payload: Buffer.from(payload),
});

const plain = (frames: Frame[]) => frames.map((f) => ({ ...f, payload: Buffer.from(f.payload).toString() }));

describe("frame codec", () => {
  it("encodes the header big-endian", () => {
    const bytes = encodeFrame(frame(0x01020305, "hi", FrameType.Data, FrameFlag.RemoteClosed));
    assert.deepEqual([...bytes], [0, 0, 0, 2, 1, 2, 3, 5, 3, 1, 0x68, 0x69]);
  });

  it("decodes a frame fed byte by byte", () => {
    const bytes = encodeFrame(frame(7, "payload bytes"));
    const decoder = new FrameDecoder();
    const out: Frame[] = [];
    for (const b of bytes) out.push(...decoder.push(Buffer.from([b])));
    assert.deepEqual(plain(out), [{ streamId: 7, type: 1, flags: 0, payload: "payload bytes" }]);
    assert.equal(decoder.buffered, 0);
    decoder.finish();
  });

  it("decodes several frames from one chunk, including empty payloads", () => {
    const chunk = Buffer.concat([
      encodeFrame(frame(1, "a")),
      encodeFrame(frame(3, "")),
      encodeFrame(frame(5, "ccc", FrameType.Response)),
    ]);
    assert.deepEqual(plain(new FrameDecoder().push(chunk)), [
      { streamId: 1, type: 1, flags: 0, payload: "a" },
      { streamId: 3, type: 1, flags: 0, payload: "" },
      { streamId: 5, type: 2, flags: 0, payload: "ccc" },
    ]);
  });

  it("decodes frames split at every possible boundary", () => {
    const bytes = Buffer.concat([encodeFrame(frame(1, "first")), encodeFrame(frame(3, "second one"))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder();
      const out = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      assert.deepEqual(
        out.map((f) => Buffer.from(f.payload).toString()),
        ["first", "second one"],
        `cut at ${cut}`,
      );
    }
  });

  it("parses streaming types and flags", () => {
    const decoder = new FrameDecoder();
    const [open, data, last] = decoder.push(
      Buffer.concat([
        encodeFrame(frame(9, "req", FrameType.Request, FrameFlag.RemoteOpen)),
        encodeFrame(frame(9, "d1", FrameType.Data)),
        encodeFrame(frame(9, "", FrameType.Data, FrameFlag.RemoteClosed)),
      ]),
    );
    assert.ok(open && data && last);
    assert.equal(isRemoteOpen(open), true);
    assert.equal(isRemoteClosed(open), false);
    assert.equal(data.type, FrameType.Data);
    assert.equal(isRemoteClosed(data), false);
    assert.equal(isRemoteOpen(last), false);
    assert.equal(isRemoteClosed(last), true);
  });

  it("accepts exactly the limit and rejects one byte more, before the payload arrives", () => {
    const header = (length: number) => {
      const h = Buffer.alloc(HEADER_LENGTH);
      h.writeUInt32BE(length, 0);
      h.writeUInt32BE(1, 4);
      h.writeUInt8(1, 8);
      return h;
    };
    const ok = new FrameDecoder();
    assert.deepEqual(ok.push(header(MAX_PAYLOAD_LENGTH)), []);
    assert.deepEqual(ok.push(Buffer.alloc(MAX_PAYLOAD_LENGTH)).length, 1);

    const bad = new FrameDecoder();
    assert.throws(
      () => bad.push(header(MAX_PAYLOAD_LENGTH + 1)),
      (err) => err instanceof HakoError && err.code === Code.ResourceExhausted && /4194305/.test(err.message),
    );
    // Once failed, always failed: the stream cannot be resynchronised.
    assert.throws(() => bad.push(encodeFrame(frame(1, "x"))), HakoError);
    assert.throws(() => new FrameDecoder().push(header(0xffffffff)), HakoError);
  });

  it("honours a smaller configured limit and refuses to encode oversize payloads", () => {
    assert.throws(() => new FrameDecoder(4).push(encodeFrame(frame(1, "12345"))), HakoError);
    assert.throws(
      () => encodeFrame(frame(1, "12345"), 4),
      (err) => (err as HakoError).code === Code.ResourceExhausted,
    );
    assert.throws(() =>
      encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array(MAX_PAYLOAD_LENGTH + 1) }),
    );
  });

  it("reports a truncated header or payload at end of input", () => {
    const bytes = encodeFrame(frame(11, "truncated"));
    const inHeader = new FrameDecoder();
    inHeader.push(bytes.subarray(0, 4));
    assert.throws(() => inHeader.finish(), /header \(4 of 10 bytes\)/);
    const inPayload = new FrameDecoder();
    inPayload.push(bytes.subarray(0, HEADER_LENGTH + 3));
    assert.throws(
      () => inPayload.finish(),
      (err) => err instanceof HakoError && err.code === Code.DataLoss && /stream 11 \(3 of 9/.test(err.message),
    );
  });

  it("stays linear when a large frame arrives one byte at a time", () => {
    const payload = Buffer.alloc(200_000, 7);
    const bytes = encodeFrame({ streamId: 1, type: 1, flags: 0, payload });
    const decoder = new FrameDecoder();
    let out: Frame[] = [];
    const started = performance.now();
    for (let i = 0; i < bytes.length; i++) out = out.concat(decoder.push(bytes.subarray(i, i + 1)));
    assert.equal(out.length, 1);
    assert.equal(Buffer.compare(Buffer.from(out[0]?.payload ?? []), payload), 0);
    // Generous bound: a quadratic decoder takes minutes here, a linear one well under a second.
    assert.ok(performance.now() - started < 10_000);
  });
});
