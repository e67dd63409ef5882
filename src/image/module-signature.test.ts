// Unit specs for stripping appended module signatures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { stripModuleSignature } from "./module-signature.js";

const enc = new TextEncoder();

function signed(body: Uint8Array, sig: Uint8Array): Uint8Array {
  const info = new Uint8Array(12);
  new DataView(info.buffer).setUint32(8, sig.length, false);
  info[2] = 2; // PKEY_ID_PKCS7
  return Uint8Array.from([...body, ...sig, ...info, ...enc.encode("~Module signature appended~\n")]);
}

test("a signed module loses exactly its signature block", () => {
  const body = enc.encode("\x7fELF module body");
  const out = stripModuleSignature(signed(body, new Uint8Array(300).fill(7)));
  assert.deepEqual(out, body);
});

test("an unsigned module, or one with a nonsensical length, comes back unchanged", () => {
  const plain = enc.encode("\x7fELF no signature here");
  assert.equal(stripModuleSignature(plain), plain);
  const bad = signed(enc.encode("x"), new Uint8Array(4));
  new DataView(bad.buffer).setUint32(1 + 4 + 8, 1 << 30, false);
  assert.equal(stripModuleSignature(bad), bad);
});
