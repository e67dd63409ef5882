// Specs for host-restart.ts: where in a virtio-serial byte stream a new host client begins, found from the ttrpc
// request stream ids, whatever the read boundaries.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeFrame, FrameType } from "../../ttrpc/frame.js";
import { HostRestartWatch } from "./host-restart.js";

const request = (streamId: number, size = 5) =>
  encodeFrame({ streamId, type: FrameType.Request, flags: 0, payload: new Uint8Array(size).fill(streamId) });

/** Feeds the bytes in chunks of `step` and returns the absolute offsets where a new client was found. */
function restarts(bytes: Buffer, step: number): number[] {
  const watch = new HostRestartWatch();
  const found: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    const chunk = bytes.subarray(at, at + step);
    const k = watch.feed(chunk);
    if (k === undefined) {
      at += chunk.length;
      continue;
    }
    found.push(at + k);
    // As the channel does: the rest of the chunk starts the new connection.
    watch.reset();
    at += k;
  }
  return found;
}

describe("HostRestartWatch", () => {
  const old = Buffer.concat([request(1), request(3, 300), request(5)]);
  const fresh = Buffer.concat([request(1, 20), request(3)]);

  test("one client's rising stream ids, and its data frames, are one connection", () => {
    const data = encodeFrame({ streamId: 3, type: FrameType.Data, flags: 0, payload: new Uint8Array(7) });
    for (const step of [1, 3, 10, 4096]) assert.deepEqual(restarts(Buffer.concat([old, data, request(7)]), step), []);
  });

  test("a request id not above the highest seen begins a new client, at that frame's first byte", () => {
    const bytes = Buffer.concat([old, fresh]);
    for (const step of [1, 7, 10, 64, 4096]) {
      const found = restarts(bytes, step);
      // A header split across two reads can only be cut where the read that completes it starts.
      assert.ok(found.length === 1 && found[0] !== undefined, `step ${step}: ${found}`);
      assert.ok(found[0] >= old.length && found[0] < old.length + 10, `step ${step}: ${found[0]}`);
      const headerInOneRead = Math.floor(old.length / step) === Math.floor((old.length + 9) / step);
      if (headerInOneRead) assert.equal(found[0], old.length);
    }
  });

  test("a payload that happens to look like a header is not taken for one", () => {
    const tricky = encodeFrame({ streamId: 9, type: FrameType.Request, flags: 0, payload: request(1) });
    assert.deepEqual(restarts(Buffer.concat([request(1), request(3), tricky, request(11)]), 4096), []);
  });
});
