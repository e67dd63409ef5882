// Unit specs for the shim binary's own command line: `-h` names every action the parser accepts, `serve` as
// internal, so that what a user reads matches what the binary does.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { ACTIONS, parseShimArgs } from "./args.js";
import { shimUsage } from "./shim-cli.js";

test("-h names every action the parser accepts, serve as internal and not for users", () => {
  const help = execFileSync(process.execPath, ["--import", "tsx", "src/shim/start-main.ts", "-h"], {
    encoding: "utf8",
  });
  assert.equal(help, `${shimUsage()}\n`);
  for (const action of ACTIONS) {
    assert.equal(parseShimArgs(["-id", "x", action], "/b").action, action);
    assert.match(help, new RegExp(`^  ${action} +\\S`, "m"), `help does not list ${action}`);
  }
  assert.match(help, /^ {2}serve +internal, not for users: `start` runs it as the pod's long-lived shim/m);
  assert.match(help, /^ {2}start +\(containerd\)/m);
});
