// End-to-end: the agent's V8 startup snapshot. The image build boots the fresh image to make it (the real agent
// bundle, the runtime's QEMU command line); a sandbox booted from that image starts its agent from the snapshot; a
// boot under other node flags than the snapshot's (hako.jitless=0 under TCG, as a KVM host's CPU would be another)
// warns on the console and starts the agent from its bundle. Nothing may be left afterwards.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import { chooseAccelerator } from "../../src/hypervisor/accel.js";
import { TCG_FEATURES } from "../../src/hypervisor/qemu/cmdline/cpu.js";
import { vmPaths } from "../../src/hypervisor/qemu/state-dir.js";
import { DEFAULT_AGENT_BUNDLE } from "../../src/image/agent-bundle.js";
import { buildImage } from "../../src/image/build.js";
import type { Manifest } from "../../src/image/manifest.js";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import type { Sandbox } from "../../src/runtime/sandbox.js";
import { isGone, sandboxProcesses } from "../helpers/processes.js";
import { assetsConfigToml, createTestSandbox, sandboxSafetyNet } from "../helpers/runtime-sandbox.js";

const repo = resolve(fileURLToPath(import.meta.url), "../../..");
const work = mkdtempSync(join(tmpdir(), "hako-snapshot-e2e-"));
const assets = join(work, "assets");
const runRoot = join(work, "run");
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
const ids = [`snap${process.pid}`, `nosnap${process.pid}`];
const open: Sandbox[] = [];
let manifest: Manifest;
let buildMs = 0;

function processesOf(id: string): number[] {
  return sandboxProcesses(runRoot, id)
    .map((p) => p.pid)
    .filter((pid) => !isGone(pid));
}

/** Boots a sandbox from the test's image with extra kernel parameters; returns its console once the agent serves. */
async function bootConsole(id: string, kernelParams: string): Promise<string> {
  const configPath = join(work, `${id}.toml`);
  writeFileSync(configPath, assetsConfigToml(assets, [`kernel_params = "${kernelParams}"`]));
  const config = loadConfig({ path: configPath, logger });
  const sandbox = await createTestSandbox(id, config, { namespace: "snapshot-e2e", logger, runRoot });
  open.push(sandbox);
  return readFileSync(vmPaths(id, runRoot).consoleLog, "utf8");
}

/** The agent's first log line from a console. */
function agentStart(text: string): Record<string, unknown> {
  const line = text.split("\n").find((l) => l.includes('"msg":"hako-agent starting"'));
  assert.ok(line, `no agent start on the console:\n${text.slice(-2000)}`);
  return JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>;
}

before(async () => {
  const agent = join(repo, DEFAULT_AGENT_BUNDLE);
  assert.ok(existsSync(agent), `${agent} is missing: run \`npm run build\``);
  const started = Date.now();
  manifest = (await buildImage({ outputDir: assets, agent, config: loadConfig({}), log: logger })).manifest;
  buildMs = Date.now() - started;
});

after(() =>
  sandboxSafetyNet({
    stop: async () => {
      for (const s of open) await s.stop();
    },
    ids,
    runRoot,
    work,
    logger,
    logSink,
  }),
);

describe("the agent's startup snapshot", { timeout: 300_000 }, () => {
  test("the image build makes it in a boot like the runtime's and records it in the manifest", () => {
    const accel = chooseAccelerator(loadConfig({}).hypervisor.qemu.accel, logger);
    assert.ok(manifest.inputs.snapshot, "the manifest records no snapshot VM");
    assert.equal(manifest.inputs.snapshot.accel, accel);
    assert.equal(manifest.inputs.snapshot.cpu, accel === "kvm" ? "host" : ["max", ...TCG_FEATURES].join(","));
    assert.ok(manifest.snapshot, `the build made no snapshot (${buildMs} ms)`);
    assert.equal(manifest.snapshot.path, "/usr/lib/hako/snapshot/agent.blob");
    assert.match(manifest.snapshot.key, /^[0-9a-f]{32}$/);
    assert.ok(manifest.snapshot.size > 1024 * 1024, `a ${manifest.snapshot.size}-byte blob`);
  });

  test("a sandbox booted from the image starts its agent from the snapshot", async () => {
    const text = await bootConsole(ids[0] as string, "");
    assert.equal(agentStart(text).snapshot, true);
    assert.doesNotMatch(text, /hako-init: warning/);
  });

  test("a boot under other node flags than the snapshot's warns and starts the agent from its bundle", async () => {
    // hako.jitless=0 under TCG (or =1 under KVM): the flags V8 checks differ from those the snapshot was made with.
    const flip = manifest.inputs.snapshot && manifest.inputs.snapshot.accel === "tcg" ? "0" : "1";
    const text = await bootConsole(ids[1] as string, `hako.jitless=${flip}`);
    assert.match(text, /hako-init: warning: the agent's startup snapshot was made for another CPU or other node flags/);
    assert.equal(agentStart(text).snapshot, false);
  });

  test("stopping the sandboxes leaves nothing: no QEMU, no virtiofsd, no state directory", async () => {
    for (const s of open.splice(0)) await s.stop();
    for (const id of ids) {
      assert.deepEqual(processesOf(id), []);
      for (const dir of [join(runRoot, id), join(runRoot, "shared", id)]) {
        assert.deepEqual(await mountPointsUnder(dir), [], `mounts left under ${dir}`);
        assert.ok(!existsSync(dir), `${dir} is left`);
      }
    }
  });
});
