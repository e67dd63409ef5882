// Bundles hako's entry points into single files under dist/: the shim starts faster from one file, and the agent
// must be one file to live in the guest image.
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  // ESM output still needs `require` for CommonJS dependencies.
  banner: {
    js: "import { createRequire as __hakoCreateRequire } from 'node:module'; const require = __hakoCreateRequire(import.meta.url);",
  },
};

const entries = [
  { in: "src/cli/main.ts", out: "dist/hako.mjs", external: ["koffi"] },
  { in: "src/shim/main.ts", out: "dist/containerd-shim-hako-v2.mjs", external: ["koffi"] },
  { in: "src/agent/server/main.ts", out: "dist/hako-agent.mjs", external: ["koffi"] },
];
// All at once; one failing entry does not hide the others' errors.
const results = await Promise.allSettled(
  entries.map((e) => build({ ...common, entryPoints: [e.in], outfile: e.out, external: e.external })),
);
const failed = results.filter((r) => r.status === "rejected");
if (failed.length > 0) process.exit(1);
