// What of a JSON value a protobuf translation could not carry, and how to put it back. Kata's grpc.Spec has no room
// for some OCI fields (process.user.umask, linux.resources.unified, mount idmaps, …) and cannot tell "absent" from
// "zero"; hako sends the difference beside the message (the `extra_json` extension fields) so that hako-to-hako
// translation is exact while a Kata peer, which ignores the extension, still gets everything it understands.

import { Code, HakoError } from "../../common/errors.js";

type Json = unknown;

/** The difference between `input` and what the message alone gives back (`covered`), or undefined if none. */
export interface Unmapped {
  /** Sparse overlay: objects merge key by key, anything else (arrays included) replaces. */
  set?: Record<string, Json>;
  /** Key paths present in `covered` but absent from `input`. */
  del?: string[][];
}

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPathList(v: Json): v is string[][] {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.every((k) => typeof k === "string"));
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function diffObjects(input: Record<string, Json>, covered: Record<string, Json>, path: string[], del: string[][]) {
  const set: Record<string, Json> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    const c = covered[k];
    if (deepEqual(v, c)) continue;
    if (isPlainObject(v) && isPlainObject(c)) {
      const sub = diffObjects(v, c, [...path, k], del);
      if (sub !== undefined) set[k] = sub;
    } else {
      set[k] = v;
    }
  }
  for (const [k, c] of Object.entries(covered)) {
    if (c !== undefined && input[k] === undefined) del.push([...path, k]);
  }
  return Object.keys(set).length > 0 ? set : undefined;
}

/** Computes what `covered` (the input as the message gives it back) lacks or has too much compared with `input`. */
export function unmappedPart(input: Record<string, Json>, covered: Record<string, Json>): Unmapped | undefined {
  const del: string[][] = [];
  const set = diffObjects(input, covered, [], del);
  if (set === undefined && del.length === 0) return undefined;
  return { ...(set === undefined ? {} : { set }), ...(del.length === 0 ? {} : { del }) };
}

// JSON.parse makes "__proto__" an own key; assigning it would replace the target's prototype.
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function overlay(base: Record<string, Json>, set: Record<string, Json>): void {
  for (const [k, v] of Object.entries(set)) {
    if (UNSAFE_KEYS.has(k)) continue;
    const b = base[k];
    if (isPlainObject(v) && isPlainObject(b)) overlay(b, v);
    else base[k] = structuredClone(v);
  }
}

/** Applies `unmapped` to `covered` in place, giving back the original input. */
export function restoreUnmapped(covered: Record<string, Json>, unmapped: Unmapped): void {
  for (const path of unmapped.del ?? []) {
    if (path.some((k) => UNSAFE_KEYS.has(k))) continue;
    let node: Json = covered;
    for (const key of path.slice(0, -1)) node = isPlainObject(node) ? node[key] : undefined;
    const last = path[path.length - 1];
    if (isPlainObject(node) && last !== undefined) delete node[last];
  }
  if (unmapped.set !== undefined) overlay(covered, unmapped.set);
}

/** Encodes for an `extra_json` field: "" when nothing is left over. */
export function encodeUnmapped(unmapped: Unmapped | undefined): string {
  return unmapped === undefined ? "" : JSON.stringify(unmapped);
}

/** Decodes an `extra_json` field (`where` names the message in errors). */
export function decodeUnmapped(text: string, where: string): Unmapped | undefined {
  if (text === "") return undefined;
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HakoError(Code.InvalidArgument, `${where}: extra_json is not JSON`, { cause: err });
  }
  const set = isPlainObject(parsed) ? parsed.set : undefined;
  const del = isPlainObject(parsed) ? parsed.del : undefined;
  if (!isPlainObject(parsed) || (set !== undefined && !isPlainObject(set)) || (del !== undefined && !isPathList(del))) {
    throw new HakoError(Code.InvalidArgument, `${where}: extra_json is not of the form {set?, del?}`);
  }
  return { ...(set === undefined ? {} : { set }), ...(del === undefined ? {} : { del }) };
}
