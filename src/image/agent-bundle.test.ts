import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { agentLoader, GUEST_AGENT_LOADER, guestAgentPath } from "./agent-bundle.js";

// A stand-in bundle: strict, CommonJS, with a function first called at run time (as the agent's RPC handlers are).
const BUNDLE = `"use strict";
function innerThing() { return this === undefined ? "strict" : "sloppy"; }
process.stdout.write(JSON.stringify({
  file: __filename,
  dir: __dirname,
  join: typeof require("node:path").join,
  thisIsExports: this === module.exports,
  mode: innerThing(),
}));
`;

/** Runs `script` under node with V8's function events logged; returns its stdout and innerThing's events. */
function runLogged(dir: string, script: string): { out: Record<string, unknown>; events: string[] } {
  const log = join(dir, `${script.replace(/\W/g, "_")}.log`);
  const out = execFileSync(
    process.execPath,
    ["--log-function-events", `--logfile=${log}`, "--no-logfile-per-isolate", join(dir, script)],
    { encoding: "utf8" },
  );
  const events = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("function,") && l.endsWith(",innerThing"))
    .map((l) => l.split(",")[1] ?? "");
  return { out: JSON.parse(out) as Record<string, unknown>, events };
}

test("the guest loader sits beside a CommonJS agent", () => {
  assert.equal(guestAgentPath("dist/hako-agent.cjs"), "usr/lib/hako/hako-agent.cjs");
  assert.equal(GUEST_AGENT_LOADER, "usr/lib/hako/agent-loader.cjs");
});

test("the agent loader runs the bundle as node runs a CommonJS file, with every function compiled up front", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-loader-"));
  try {
    const bundle = join(dir, "bundle.cjs");
    writeFileSync(bundle, BUNDLE);
    writeFileSync(join(dir, "loader.cjs"), agentLoader(bundle));

    const direct = runLogged(dir, "bundle.cjs");
    const loaded = runLogged(dir, "loader.cjs");
    assert.deepEqual(loaded.out, direct.out, "same module environment as node's own CommonJS loader");
    assert.deepEqual(loaded.out, { file: bundle, dir, join: "function", thisIsExports: true, mode: "strict" });

    // node alone parses innerThing's body at its first call; through the loader it was compiled with the bundle.
    assert.ok(direct.events.includes("parse-function"), `lazily compiled without the loader: ${direct.events}`);
    assert.ok(loaded.events.includes("first-execution"), `ran: ${loaded.events}`);
    assert.ok(!loaded.events.includes("parse-function"), `not compiled at its first call: ${loaded.events}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
