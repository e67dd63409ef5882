// Unit specs for finding the lz4 payload of a bzImage.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HakoError } from "../common/errors.js";
import { findLz4Payload } from "./vmlinux.js";

function fakeBzImage(payload: Buffer, size: number): Buffer {
  const setupSects = 2;
  const head = Buffer.alloc((setupSects + 1) * 512);
  head[0x1f1] = setupSects;
  head.write("HdrS", 0x202, "latin1");
  head.writeUInt32LE(16, 0x248); // payload_offset, relative to the protected-mode code
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(size);
  head.writeUInt32LE(payload.length + 4, 0x24c);
  return Buffer.concat([head, Buffer.alloc(16), payload, tail, Buffer.alloc(32)]);
}

test("the payload is located from the header and the size trailer is cut off", () => {
  const payload = Buffer.concat([Buffer.from([0x02, 0x21, 0x4c, 0x18]), Buffer.from("compressed")]);
  const p = findLz4Payload(fakeBzImage(payload, 12345), "k");
  assert.deepEqual(p.data, payload);
  assert.equal(p.size, 12345);
});

test("a kernel without an lz4 payload is refused with its path in the message", () => {
  const image = fakeBzImage(Buffer.from("gzip-or-zstd-stream"), 1);
  assert.throws(
    () => findLz4Payload(image, "/boot/vmlinuz-x"),
    (e: unknown) => e instanceof HakoError && e.message.includes("/boot/vmlinuz-x") && e.message.includes("lz4"),
  );
  assert.throws(() => findLz4Payload(Buffer.alloc(1024), "/k"), /not a bzImage/);
});
