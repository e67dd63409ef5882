// ttrpc request metadata: repeated key/value pairs on the wire, a multimap in hako. Keys are compared in lower case,
// as Go's ttrpc does.
import { create } from "@bufbuild/protobuf";
import { type KeyValue, KeyValueSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";

/** What a caller may pass: a plain record or a multimap. */
export type Metadata = Record<string, string | readonly string[]> | ReadonlyMap<string, readonly string[]>;

export function metadataToWire(metadata: Metadata | undefined): KeyValue[] {
  if (metadata === undefined) return [];
  const entries = metadata instanceof Map ? metadata.entries() : Object.entries(metadata);
  const out: KeyValue[] = [];
  for (const [key, values] of entries as Iterable<[string, string | readonly string[]]>) {
    for (const value of typeof values === "string" ? [values] : values) {
      out.push(create(KeyValueSchema, { key: key.toLowerCase(), value }));
    }
  }
  return out;
}

export function metadataFromWire(pairs: readonly KeyValue[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { key, value } of pairs) {
    const k = key.toLowerCase();
    const list = out.get(k);
    if (list) list.push(value);
    else out.set(k, [value]);
  }
  return out;
}
