// `hako exec` end to end: one real VM (QEMU, virtiofsd, the built guest image and its agent) started through the
// runtime with debug_console_enabled set in a configuration file; the CLI then runs commands in the guest through
// the debug console socket, non-interactively, and the sandbox is torn down with nothing of it left.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import type { HakoConfig } from "../../src/config/types.js";
import { MANIFEST_FILE, type Manifest } from "../../src/image/manifest.js";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { DEBUG_CONSOLE_SOCKET, debugConsolePath } from "../../src/runtime/layout.js";
import type { Sandbox } from "../../src/runtime/sandbox.js";
import { isGone, sandboxProcesses } from "../helpers/processes.js";
import { createTestSandbox, sandboxSafetyNet } from "../helpers/runtime-sandbox.js";

const repo = resolve(fileURLToPath(import.meta.url), "../../..");
const work = mkdtempSync(join(tmpdir(), "hako-exec-e2e-"));
// The runtime and the CLI both find the sandbox under this root (runRoot here, HAKO_RUN_DIR for the CLI).
const runRoot = join(work, "run");
const configPath = join(work, "configuration.toml");
const id = `dbg${process.pid}`;
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
let config: HakoConfig;
let sandbox: Sandbox | undefined;

/** QEMU and virtiofsd of this sandbox that still run (a zombie does not count). */
function processesOf(sandboxId: string): number[] {
  return sandboxProcesses(runRoot, sandboxId)
    .map((p) => p.pid)
    .filter((pid) => !isGone(pid));
}

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `hako …` from the sources, as a separate process (the same code bin/hako runs once bundled). */
function hako(...args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: repo,
      env: { ...process.env, HAKO_RUN_DIR: runRoot },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", fail);
    child.once("close", (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

/** manifest.json of the assets the config boots. */
function assetsManifest(): Manifest {
  return JSON.parse(readFileSync(join(dirname(config.hypervisor.qemu.kernel), MANIFEST_FILE), "utf8")) as Manifest;
}

before(() => {
  writeFileSync(configPath, "[agent.kata]\ndebug_console_enabled = true\n");
  config = loadConfig({ path: configPath, logger });
  assert.equal(config.agent.debugConsoleEnabled, true);
  const h = config.hypervisor.qemu;
  for (const f of [h.kernel, h.initrd, ...(h.rootfsMode === "pmem" ? [h.image] : [])]) {
    assert.ok(existsSync(f), `${f} is missing: run \`npm run build && node bin/hako image build\``);
  }
});

after(() => sandboxSafetyNet({ stop: async () => sandbox?.stop(), ids: [id], runRoot, work, logger, logSink }));

describe("hako exec through the guest debug console", { timeout: 240_000 }, () => {
  test("a sandbox with debug_console_enabled has the console socket in its state directory", async () => {
    sandbox = await createTestSandbox(id, config, { namespace: "exec-e2e", logger, runRoot });
    const path = debugConsolePath(sandbox.paths.stateDir);
    assert.equal(path, join(runRoot, id, DEBUG_CONSOLE_SOCKET));
    assert.ok(statSync(path).isSocket(), `${path} is a unix socket`);
  });

  test("`hako exec SANDBOX uname -r` prints the guest kernel's release and exits 0", async () => {
    const manifest = assetsManifest();
    const r = await hako("exec", id, "uname", "-r");
    assert.equal(
      r.status,
      0,
      `hako exec failed (a guest image without the debug console? rebuild with \`node bin/hako image build\`): ${r.stderr}`,
    );
    assert.equal(r.stdout, `${manifest.kernelRelease}\n`);
  });

  test("runs in the guest itself, next to the agent, and passes on the command's exit status", async () => {
    // PID 1 of the guest is the agent; a unique id prefix names the sandbox as well as its id. An image built on
    // this host holds the agent's startup snapshot for its guest CPU: node starts from it instead of the bundle.
    const init = await hako("exec", id.slice(0, -1), "cat", "/proc/1/cmdline");
    assert.equal(init.status, 0, init.stderr);
    const snapshot = assetsManifest().snapshot;
    if (snapshot) assert.ok(init.stdout.split("\0").includes(snapshot.path), `not started from ${snapshot.path}`);
    else assert.match(init.stdout, /hako-agent\.cjs/);
    const failed = await hako("exec", id, "sh", "-c", "echo out; echo err >&2; exit 7");
    assert.equal(failed.status, 7);
    assert.equal(failed.stdout, "out\nerr\n");
  });

  test("an unknown sandbox is refused, naming it", async () => {
    const r = await hako("exec", "no-such-sandbox", "true");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no sandbox no-such-sandbox/);
  });

  test("stop leaves nothing: no QEMU, no virtiofsd, no state directory, no socket", async () => {
    assert.ok(sandbox);
    await sandbox.stop();
    sandbox = undefined;
    assert.deepEqual(processesOf(id), []);
    for (const dir of [join(runRoot, id), join(runRoot, "shared", id)]) {
      assert.deepEqual(await mountPointsUnder(dir), [], `mounts left under ${dir}`);
      assert.ok(!existsSync(dir), `${dir} is left`);
    }
  });
});
