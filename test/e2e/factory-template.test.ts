// VM templates end to end: `initTemplate` boots and saves a template VM of the built guest image; two sandboxes
// started through the runtime with `[factory] enable_template` are restored from it (no boot), get the virtio-fs
// share hot-plugged, and must still be two different machines: their own random stream, hostname, clock (set from
// the host), tmpfs and share directory. A configuration whose kernel parameters differ does not use the template.
// Commands run in the guests through the debug console (debug_console_enabled, part of the template).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GUEST_SHARED_DIR } from "../../src/agent/api/guest-contract.js";
import { runOnConsole } from "../../src/cli/exec.js";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import type { HakoConfig } from "../../src/config/types.js";
import { destroyTemplates, factoryStatus, initTemplate } from "../../src/factory/factory.js";
import { sandboxBackend } from "../../src/runtime/backend.js";
import { cleanupSandbox } from "../../src/runtime/cleanup.js";
import { unmountAll } from "../../src/runtime/host-mounts.js";
import { debugConsolePath } from "../../src/runtime/layout.js";
import { Sandbox } from "../../src/runtime/sandbox.js";
import { isGone, sandboxProcesses } from "../helpers/processes.js";

const work = mkdtempSync(join(tmpdir(), "hako-factory-e2e-"));
const runRoot = join(work, "run");
const templatePath = join(work, "templates");
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
const ids = [`tpa${process.pid}`, `tpb${process.pid}`, `tpc${process.pid}`];
const sandboxes = new Map<string, Sandbox>();
let config: HakoConfig;

/** A config file with the base config's assets (HAKO_CONFIG or the system's), templates on, the debug console on. */
function writeConfig(name: string, extraKernelParams = ""): HakoConfig {
  const base = loadConfig({}).hypervisor.qemu;
  const path = join(work, name);
  writeFileSync(
    path,
    [
      "[hypervisor.qemu]",
      `kernel = "${base.kernel}"`,
      `initrd = "${base.initrd}"`,
      `image = "${base.image}"`,
      `kernel_params = "${[...base.kernelParams, extraKernelParams].join(" ").trim()}"`,
      "[agent.kata]",
      "debug_console_enabled = true",
      "[factory]",
      "enable_template = true",
      `template_path = "${templatePath}"`,
      "",
    ].join("\n"),
  );
  return loadConfig({ path, logger });
}

async function start(id: string, cfg: HakoConfig): Promise<Sandbox> {
  const h = cfg.hypervisor.qemu;
  const s = await Sandbox.create({
    id,
    namespace: "factory-e2e",
    backend: sandboxBackend(cfg),
    logger,
    events: { exited: () => {}, oom: () => {}, vmDied: () => {} },
    vcpus: Math.max(1, h.defaultVcpus),
    memoryMiB: h.defaultMemoryMiB,
    hostname: `host-${id}`,
    runRoot,
  });
  sandboxes.set(id, s);
  return s;
}

/** Runs `command` in the guest's shell; fails the test on a non-zero status. */
async function guest(s: Sandbox, command: string): Promise<string> {
  const r = await runOnConsole(debugConsolePath(s.paths.stateDir), command);
  assert.equal(r.exitCode, 0, `${command}: ${r.output}`);
  return r.output.trim();
}

/** How each sandbox's VM was started, from the driver's "qemu started" log entry. */
function startKind(id: string): unknown {
  return logSink.entries().find((e) => e.msg === "qemu started" && e.sandbox === id)?.start;
}

before(() => {
  config = writeConfig("template.toml");
});

after(async () => {
  for (const s of sandboxes.values()) await s.stop().catch(() => {});
  for (const id of ids) {
    for (const p of sandboxProcesses(runRoot, id)) if (!isGone(p.pid)) process.kill(p.pid, "SIGKILL");
    await cleanupSandbox(id, logger, runRoot).catch(() => {});
  }
  destroyTemplates(config);
  await unmountAll(work);
  rmSync(work, { recursive: true, force: true });
  for (const e of logSink.entries()) if (e.level === "error") process.stderr.write(`${JSON.stringify(e)}\n`);
});

describe("VM templates", { timeout: 600_000 }, () => {
  test("factory init saves a template for the current configuration, and status lists it", async () => {
    const r = await initTemplate(config, logger);
    assert.equal(r.created, true);
    for (const f of ["memory", "state", "template.json"]) assert.ok(existsSync(join(r.dir, f)), f);
    const s = factoryStatus(config, logger);
    assert.equal(s.templates.length, 1);
    assert.equal(s.templates[0]?.key, r.info.key);
    assert.equal(s.templates[0]?.current, true);
    assert.ok((s.templates[0]?.bytes ?? 0) > 16 * 1024 * 1024, "the RAM file holds the booted guest's pages");
    // Nothing of the template VM itself is left running or on disk beside the templates.
    assert.deepEqual(readdirSync(templatePath), [r.info.key]);
  });

  test("two clones are distinct machines with their own share, random stream, hostname, clock and tmpfs", async () => {
    const [a, b] = [await start(ids[0] as string, config), await start(ids[1] as string, config)];
    assert.equal(startKind(ids[0] as string), "clone");
    assert.equal(startKind(ids[1] as string), "clone");

    const random = "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'";
    const [ra, rb] = [await guest(a, random), await guest(b, random)];
    assert.match(ra, /^[0-9a-f]{64}$/);
    assert.notEqual(ra, rb, "two clones drew the same random bytes");

    assert.equal(await guest(a, "hostname"), `host-${ids[0]}`);
    assert.equal(await guest(b, "hostname"), `host-${ids[1]}`);

    for (const s of [a, b]) {
      const before = Date.now() / 1000;
      const t = Number(await guest(s, "date +%s"));
      const afterS = Date.now() / 1000;
      assert.ok(t >= Math.floor(before) - 1 && t <= afterS + 1, `guest clock ${t} vs host ${before}..${afterS}`);
    }

    await guest(a, "echo from-a > /tmp/clone-marker");
    assert.equal(await guest(b, "test -e /tmp/clone-marker && echo present || echo absent"), "absent");

    for (const [s, name] of [
      [a, "a"],
      [b, "b"],
    ] as const) {
      await guest(s, `echo written-by-${name} > ${GUEST_SHARED_DIR}/from-guest`);
      assert.equal(readFileSync(join(s.paths.sharedDir, "from-guest"), "utf8"), `written-by-${name}\n`);
    }
  });

  test("a configuration with other kernel parameters does not use the template: it boots, saying why", async () => {
    const other = writeConfig("other-params.toml", "hako.test=changed");
    const c = await start(ids[2] as string, other);
    assert.equal(startKind(ids[2] as string), "cold");
    const warning = logSink
      .entries()
      .find((e) => e.msg === "VM template not used: booting the VM" && e.sandbox === ids[2]);
    assert.match(String(warning?.reason), /changed: kernelParams/);
    assert.equal(await guest(c, "hostname"), `host-${ids[2]}`);
    const status = factoryStatus(other, logger);
    assert.deepEqual(status.templates[0]?.changed, ["kernelParams"]);
  });

  test("stopping the clones and destroying the templates leaves nothing behind", async () => {
    for (const [id, s] of sandboxes) {
      await s.stop();
      sandboxes.delete(id);
      assert.deepEqual(
        sandboxProcesses(runRoot, id).filter((p) => !isGone(p.pid)),
        [],
      );
      assert.ok(!existsSync(join(runRoot, id)), `${id} state left`);
    }
    assert.deepEqual(
      readdirSync("/dev/shm").filter((n) => ids.some((id) => n.includes(id))),
      [],
      "clone RAM files left in /dev/shm",
    );
    destroyTemplates(config);
    assert.ok(!existsSync(templatePath));
  });
});
