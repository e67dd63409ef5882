// Which agent bundle the image carries and where it goes in the guest. hako's own build bundles the agent as
// CommonJS: under TCG, Node's ES module loader costs the guest about a quarter of a second more at start-up.
// An ES module bundle (`.mjs`) still works: it keeps its extension in the guest so that Node loads it as one.
import { dirname } from "node:path";
import { GUEST_LIB_DIR } from "./koffi.js";

/** The bundle `npm run build` makes, relative to the project. */
export const DEFAULT_AGENT_BUNDLE = "dist/hako-agent.cjs";

/** The agent's path in the root, without the leading slash: hako-agent.mjs for an ES module bundle, else .cjs. */
export function guestAgentPath(bundle: string): string {
  return `${GUEST_LIB_DIR}/hako-agent.${bundle.endsWith(".mjs") ? "mjs" : "cjs"}`;
}

/** Where the agent's startup snapshot lives in the root (init-scripts.ts reads these paths). */
export const GUEST_SNAPSHOT_DIR = `${GUEST_LIB_DIR}/snapshot`;
/** The V8 startup snapshot blob. */
export const GUEST_SNAPSHOT_BLOB = `${GUEST_SNAPSHOT_DIR}/agent.blob`;
/** One line: the CPU and node flags the blob was made under, as the initrd spells them (HAKO_CPU). */
export const GUEST_SNAPSHOT_CPU = `${GUEST_SNAPSHOT_DIR}/agent.cpu`;

/** The script node runs in the guest for a CommonJS agent (agentLoader below), without the leading slash. */
export const GUEST_AGENT_LOADER = `${GUEST_LIB_DIR}/agent-loader.cjs`;

/**
 * The guest's entry script for the CommonJS agent bundle at `agent` (an absolute guest path). It compiles the bundle
 * with V8's lazy compilation off (`--no-lazy`, set for that one compile and reset after it), so that every function
 * of the agent has its bytecode before any of it runs, then runs the bundle as node runs a CommonJS file (`exports`,
 * `require`, `module`, `__filename`, `__dirname`; the bundle's own "use strict" comes first in the wrapper).
 *
 * Otherwise V8 compiles each function at its first call, and under TCG those compiles were most of the agent's start
 * and of its first RPCs: mounting the kernel filesystems took 88 ms the first time and 2 ms the second. node keeps
 * compiled code in a startup snapshot, so an image's snapshot made from this entry holds the bytecode of the whole
 * agent, and a VM template's boot (from the bundle) compiles it once for all its clones. V8 refuses a snapshot made
 * under other flags: the flag is back at its default before node serializes anything. Measured under TCG (6
 * interleaved runs each): `ctr run --rm … true` 2185 → 2067 ms booted, 1128 → 1079 ms from a template; the blob
 * grows 5.84 → 6.13 MB, a booted pod's guest RAM by 0.4 MiB.
 */
export function agentLoader(agent: string): string {
  const file = JSON.stringify(agent);
  return `"use strict";
// hako's guest entry: compiles the agent bundle with lazy compilation off, then runs it (hako: src/image/agent-bundle.ts).
const { setFlagsFromString } = require("node:v8");
const { runInThisContext } = require("node:vm");
const { readFileSync } = require("node:fs");
const source = readFileSync(${file}, "utf8");
setFlagsFromString("--no-lazy");
let wrapper;
try {
  wrapper = runInThisContext("(function (exports, require, module, __filename, __dirname) {" + source + "\\n})", {
    filename: ${file},
  });
} finally {
  setFlagsFromString("--lazy");
}
const agentModule = { exports: {} };
wrapper.call(agentModule.exports, agentModule.exports, require, agentModule, ${file}, ${JSON.stringify(dirname(agent))});
`;
}
