// Entry of the shim binary for `delete` (bin/containerd-shim-hako-v2 picks it when containerd's last argument is
// `delete`). containerd 1.6 runs `delete` whenever a shim's connection closes, also after a clean Shutdown
// (runtime/v2/manager.go cleanupAfterDeadShim), and `ctr run --rm` waits for it. A shim that stopped cleanly left
// nothing behind: this bundle then answers after a few existence checks (delete-quick.ts), without loading the full
// shim (~60 ms of module evaluation). When anything is left, the full shim's `delete` (main.ts) cleans up.
import { nothingLeft } from "./delete-quick.js";
import { writeDeleteResponse } from "./delete-response.js";
import { runShim } from "./shim-cli.js";

/** The full shim bundle, beside this one in dist/. */
const FULL_SHIM = new URL("./containerd-shim-hako-v2.mjs", import.meta.url).href;

void runShim({
  delete: async (args) => {
    if (await nothingLeft(args)) writeDeleteResponse();
    // Its entry parses the same command line: its `delete` cleans up and answers.
    else await import(FULL_SHIM);
  },
});
