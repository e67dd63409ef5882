// Bundles hako's entry points into single files under dist/: the shim starts faster from one file, and the agent
// must be one file to live in the guest image.
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  define: { HAKO_VERSION: JSON.stringify(version) },
  // ESM output still needs `require` for CommonJS dependencies.
  banner: {
    js: "import { createRequire as __hakoCreateRequire } from 'node:module'; const require = __hakoCreateRequire(import.meta.url);",
  },
};

// The agent is CommonJS: in the guest under TCG, Node's ES module loader costs about a quarter of a second more at
// start-up. `import.meta.url` (koffi's createRequire) becomes the bundle's own file URL; "use strict" comes first so
// that the code keeps the strict semantics it had as a module.
const agentCjs = {
  format: "cjs",
  banner: { js: "\"use strict\";\nconst __hakoImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { ...common.define, "import.meta.url": "__hakoImportMetaUrl" },
};

const entries = [
  { in: "src/cli/main.ts", out: "dist/hako.mjs", external: ["koffi"] },
  { in: "src/shim/main.ts", out: "dist/containerd-shim-hako-v2.mjs", external: ["koffi"] },
  // `start` alone, run by containerd for every container: a fraction of the full shim's code to load.
  { in: "src/shim/start-main.ts", out: "dist/containerd-shim-hako-v2-start.mjs", external: ["koffi"] },
  // `delete`, run by containerd 1.6 after every shim exits: answers alone when the shim left nothing behind.
  { in: "src/shim/delete-main.ts", out: "dist/containerd-shim-hako-v2-delete.mjs", external: ["koffi"] },
  { in: "src/oci-runtime/main.ts", out: "dist/hako-runtime.mjs", external: ["koffi"] },
  { in: "src/agent/server/main.ts", out: "dist/hako-agent.cjs", external: ["koffi"], options: agentCjs },
];
// All at once; one failing entry does not hide the others' errors.
const results = await Promise.allSettled(
  entries.map((e) => build({ ...common, ...e.options, entryPoints: [e.in], outfile: e.out, external: e.external })),
);
const failed = results.filter((r) => r.status === "rejected");
if (failed.length > 0) process.exit(1);

// esbuild escapes non-ASCII characters in strings, but a comment it keeps (one inside a class body or an object
// literal) keeps them as they are. V8 holds a script's source for as long as the script lives, one byte per character
// when every character is Latin-1 and two bytes otherwise: one "−" in a comment made the shim's 666 kB source take
// 1.3 MiB of every idle shim's heap. Escaping them (only comments are left to hold them) keeps each source one byte a
// character.
for (const e of entries) {
  const code = readFileSync(e.out, "utf8");
  const ascii = code.replace(/[^\t\n\r -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (ascii !== code) writeFileSync(e.out, ascii);
}
