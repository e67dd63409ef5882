// What `npm run build` (scripts/bundle.mjs) leaves in dist/: checked on the files the shim, the CLIs and the guest
// agent actually load.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const dist = join(import.meta.dirname, "..", "dist");

describe("dist bundles", () => {
  const bundles = readdirSync(dist).filter((f) => f.endsWith(".mjs") || f.endsWith(".cjs"));

  it("include the shim, the CLIs and the agent", () => {
    for (const name of ["containerd-shim-hako-v2.mjs", "hako.mjs", "hako-runtime.mjs", "hako-agent.cjs"]) {
      assert.ok(bundles.includes(name), `${name} missing from dist (run npm run build)`);
    }
  });

  // V8 keeps a script's source in the heap for the script's life: one byte a character only when all are Latin-1.
  it("are ASCII only, so that V8 holds each source at one byte a character", () => {
    for (const name of bundles) {
      const code = readFileSync(join(dist, name), "utf8");
      const at = code.search(/[^\t\n\r -~]/);
      assert.equal(
        at,
        -1,
        `${name}: non-ASCII at offset ${at}: ${JSON.stringify(code.slice(Math.max(0, at - 40), at + 10))}`,
      );
    }
  });
});
