// What the shim's `delete` prints on stdout: a containerd task v2 DeleteResponse in protobuf binary (containerd
// 1.6 runtime/v2/binary.go decodes it). The shim never knows the exit of a process whose shim died, so it reports
// a SIGKILL now, as runc's shim does for a container it finds dead.
//
// Written with protobuf-es's wire writer and the field numbers of shim.proto's DeleteResponse (pid 1, exit_status 2,
// exited_at 3; google.protobuf.Timestamp: seconds 1, nanos 2) rather than the generated schema: `delete` runs after
// every shim exits, on the path of `ctr run --rm`, and the generated file's descriptors cost its bundle ~25 ms to
// load. A unit spec checks the bytes against the generated schema's encoding.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** The DeleteResponse for a process that died of SIGKILL at `at` (pid 0: unknown, as the field's zero value). */
export function deleteResponseBytes(at: Date): Uint8Array {
  const ms = at.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  const w = new BinaryWriter();
  w.tag(2, WireType.Varint).uint32(128 + 9);
  w.tag(3, WireType.LengthDelimited).fork();
  // proto3: a field at its zero value is not written.
  if (seconds !== 0) w.tag(1, WireType.Varint).int64(seconds);
  if (nanos !== 0) w.tag(2, WireType.Varint).int32(nanos);
  w.join();
  return w.finish();
}

export function writeDeleteResponse(): void {
  process.stdout.write(deleteResponseBytes(new Date()));
}
