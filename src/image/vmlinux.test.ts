// Unit specs for finding the compressed (lz4 or xz) payload of a bzImage.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HakoError } from "../common/errors.js";
import { findPayload } from "./vmlinux.js";

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
  const p = findPayload(fakeBzImage(payload, 12345), "k");
  assert.deepEqual(p.data, payload);
  assert.equal(p.size, 12345);
  assert.equal(p.format, "lz4");
});

test("an xz payload (Debian's generic kernel) is found the same way", () => {
  const payload = Buffer.concat([
    Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
    Buffer.from("stream"),
    Buffer.from("YZ"),
  ]);
  const p = findPayload(fakeBzImage(payload, 777), "k");
  assert.equal(p.format, "xz");
  assert.deepEqual(p.data, payload);
  assert.equal(p.size, 777);
});

test("a kernel without an lz4 or xz payload is refused with its path in the message", () => {
  const image = fakeBzImage(Buffer.from("gzip-or-zstd-stream"), 1);
  assert.throws(
    () => findPayload(image, "/boot/vmlinuz-x"),
    (e: unknown) => e instanceof HakoError && e.message.includes("/boot/vmlinuz-x") && e.message.includes("lz4"),
  );
  assert.throws(() => findPayload(Buffer.alloc(1024), "/k"), /not a bzImage/);
});
