// Which agent bundle the image carries and where it goes in the guest. hako's own build bundles the agent as
// CommonJS: under TCG, Node's ES module loader costs the guest about a quarter of a second more at start-up.
// An ES module bundle (`.mjs`) still works: it keeps its extension in the guest so that Node loads it as one.
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
