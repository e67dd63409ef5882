// VM templates end to end: `initTemplate` boots and saves a template VM of the built guest image; two sandboxes
// started through the runtime with `[factory] enable_template` are restored from it (no boot), get the virtio-fs
// share and their pod's NIC hot-plugged, and must still be two different machines: their own random stream,
// hostname, clock (set from the host), tmpfs, share directory and NIC (the pod link's MAC, answering HTTP on the
// pod's address). Clone A's pod is wired with tcfilter, clone B's with macvtap. A configuration whose kernel
// parameters differ does not use the template. A template whose `state` is truncated fails to restore: the sandbox
// boots and the template is marked broken; `hako factory init` interrupted by SIGINT, or killed, leaves nothing
// running (the next init kills the killed one's QEMU) and remakes the broken template. Commands run in the guests
// through the debug console (debug_console_enabled, part of the template). Network safety: the pods' namespaces
// and the CNI bridge they hang off live in namespaces this file creates (cni-network.ts); traffic goes only between
// them; all are deleted.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GUEST_SHARED_DIR } from "../../src/agent/api/guest-contract.js";
import { runOnConsole } from "../../src/cli/exec.js";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import type { HakoConfig, InternetworkingModel } from "../../src/config/types.js";
import { destroyTemplates, factoryStatus, initTemplate } from "../../src/factory/factory.js";
import { defaultDeviceDir } from "../../src/network/macvtap-model.js";
import { networkModel } from "../../src/network/models.js";
import { sandboxBackend } from "../../src/runtime/backend.js";
import { cleanupSandbox } from "../../src/runtime/cleanup.js";
import { unmountAll } from "../../src/runtime/host-mounts.js";
import { debugConsolePath } from "../../src/runtime/layout.js";
import { Sandbox } from "../../src/runtime/sandbox.js";
import { CniNetwork, type Pod } from "../helpers/cni-network.js";
import { isGone, sandboxProcesses } from "../helpers/processes.js";

const work = mkdtempSync(join(tmpdir(), "hako-factory-e2e-"));
const runRoot = join(work, "run");
const templatePath = join(work, "templates");
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
const ids = [`tpa${process.pid}`, `tpb${process.pid}`, `tpc${process.pid}`, `tpd${process.pid}`, `tpe${process.pid}`];
const sandboxes = new Map<string, Sandbox>();
let config: HakoConfig;
const net = new CniNetwork("tmpl", "10.99.62.0/24");
const pods: Pod[] = [];

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

/** Starts sandbox `id`; with `pod`, its VM gets the pod netns's eth0 through `model`. */
async function start(
  id: string,
  cfg: HakoConfig,
  pod?: { pod: Pod; model: InternetworkingModel },
  size?: { vcpus: number; memoryMiB: number },
): Promise<Sandbox> {
  const h = cfg.hypervisor.qemu;
  const network = pod && {
    model: networkModel(pod.model),
    spec: { ociVersion: "1.0.2", linux: { namespaces: [{ type: "network", path: pod.pod.path }] } },
  };
  const s = await Sandbox.create({
    ...(network ? { network } : {}),
    id,
    namespace: "factory-e2e",
    backend: sandboxBackend(cfg),
    logger,
    events: { exited: () => {}, oom: () => {}, vmDied: () => {} },
    vcpus: size?.vcpus ?? Math.max(1, h.defaultVcpus),
    memoryMiB: size?.memoryMiB ?? h.defaultMemoryMiB,
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

/** `hako ps --json` over this file's run root. */
function hakoPs(): { id: string; start: string | null; template: string | null }[] {
  const out = execFileSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "ps", "--json"], {
    encoding: "utf8",
    env: { ...process.env, HAKO_RUN_DIR: runRoot },
  });
  return JSON.parse(out) as { id: string; start: string | null; template: string | null }[];
}

/** The lines `list` gives, or none when pgrep finds nothing (it exits 1 then). */
function pgrepOrNone(list: () => string[]): string[] {
  try {
    return list();
  } catch {
    return [];
  }
}

/** Link names in a pod netns, to show that hako's tap or macvtap is gone after the stop. */
const podLinks = (pod: Pod) =>
  (JSON.parse(net.inPod(pod, ["ip", "-json", "link", "show"])) as { ifname: string }[]).map((l) => l.ifname).sort();

before(() => {
  config = writeConfig("template.toml");
  net.create();
  pods.push(net.addPod("a"), net.addPod("b"));
});

after(async () => {
  for (const s of sandboxes.values()) await s.stop().catch(() => {});
  for (const id of ids) {
    for (const p of sandboxProcesses(runRoot, id)) if (!isGone(p.pid)) process.kill(p.pid, "SIGKILL");
    await cleanupSandbox(id, logger, runRoot).catch(() => {});
  }
  await destroyTemplates(config, logger);
  net.destroy();
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

  test("two clones are distinct machines with their own share, random stream, hostname, clock, tmpfs and NIC", async () => {
    const [podA, podB] = pods as [Pod, Pod];
    const a = await start(ids[0] as string, config, { pod: podA, model: "tcfilter" });
    const b = await start(ids[1] as string, config, { pod: podB, model: "macvtap" });
    assert.equal(startKind(ids[0] as string), "clone");
    assert.equal(startKind(ids[1] as string), "clone");
    const fromTemplate = logSink
      .entries()
      .find((e) => e.msg === "sandbox VM started from VM template" && e.sandbox === ids[0]);
    assert.equal(fromTemplate?.template, factoryStatus(config, logger).currentKey);
    // `hako ps` reads how each VM started back from the sandbox state files.
    const rows = hakoPs().filter((r) => r.id === ids[0] || r.id === ids[1]);
    assert.deepEqual(
      rows.map((r) => [r.start, r.template]),
      [0, 1].map(() => ["template", factoryStatus(config, logger).currentKey]),
    );

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

    // Each clone's eth0 carries its own pod link's MAC and address, and answers on it from the CNI bridge's side.
    assert.notEqual(podA.mac, podB.mac);
    for (const [s, pod, name] of [
      [a, podA, "a"],
      [b, podB, "b"],
    ] as const) {
      assert.equal(await guest(s, "cat /sys/class/net/eth0/address"), pod.mac, `clone ${name}'s eth0 MAC`);
      assert.match(await guest(s, "ip -o -4 addr show dev eth0"), new RegExp(`inet ${pod.ip.replaceAll(".", "\\.")}/`));
      // setsid: out of the console shell's process group, which the console kills once the host disconnects.
      const www = `mkdir -p /tmp/www && echo served-by-${name} > /tmp/www/index.html`;
      await guest(s, `${www} && busybox setsid busybox httpd -p 80 -h /tmp/www`);
      // busybox 1.35's wget crashes with -T: the time limit comes from timeout(1).
      const got = net.inHost(["timeout", "20", "busybox", "wget", "-q", "-O", "-", `http://${pod.ip}/index.html`]);
      assert.equal(got.toString(), `served-by-${name}\n`);
    }
  });

  test("a configuration with other kernel parameters does not use the template: it boots, saying why", async () => {
    const other = writeConfig("other-params.toml", "hako.test=changed");
    const c = await start(ids[2] as string, other);
    assert.equal(startKind(ids[2] as string), "cold");
    assert.deepEqual(
      hakoPs()
        .filter((r) => r.id === ids[2])
        .map((r) => [r.start, r.template]),
      [["boot", null]],
    );
    const warning = logSink
      .entries()
      .find((e) => e.msg === "VM template not used: booting the VM" && e.sandbox === ids[2]);
    assert.match(String(warning?.reason), /changed: kernelParams/);
    assert.equal(await guest(c, "hostname"), `host-${ids[2]}`);
    const status = factoryStatus(other, logger);
    assert.deepEqual(status.templates[0]?.changed, ["kernelParams"]);
  });

  test("a sandbox sized for more than the default clones the template and is grown by hot-plug", async () => {
    const h = config.hypervisor.qemu;
    const want = { vcpus: Math.max(1, h.defaultVcpus) + 1, memoryMiB: h.defaultMemoryMiB + 256 };
    const d = await start(ids[3] as string, config, undefined, want);
    assert.equal(startKind(ids[3] as string), "clone");
    assert.equal(Number(await guest(d, "grep -c ^processor /proc/cpuinfo")), want.vcpus);
    assert.equal(await guest(d, "cat /sys/devices/system/cpu/online"), `0-${want.vcpus - 1}`);
    const memTotalKiB = Number(/MemTotal:\s+(\d+)/.exec(await guest(d, "cat /proc/meminfo"))?.[1]);
    assert.ok(memTotalKiB > h.defaultMemoryMiB * 1024, `MemTotal ${memTotalKiB} KiB holds the hot-plugged 256 MiB`);
    const grown = logSink.entries().find((e) => e.msg === "clone of a VM template grown to the sandbox's size");
    assert.deepEqual(grown?.to, want);
  });

  test("a template whose restore fails is marked broken; init, interrupted or killed, leaves nothing; init remakes it", async () => {
    const status = () => factoryStatus(config, logger);
    const dir = status().templates.find((t) => t.current)?.dir as string;
    truncateSync(join(dir, "state"), 4096);
    await start(ids[4] as string, config);
    assert.equal(startKind(ids[4] as string), "cold");
    // QEMU's own line says why (QMP only sees its connection close).
    assert.match(String(status().templates.find((t) => t.dir === dir)?.broken?.reason), /migration/i);
    assert.equal(status().templates.find((t) => t.dir === dir)?.current, false);

    const cfgPath = join(work, "template.toml");
    const templateVms = () =>
      execFileSync("pgrep", ["-f", "-a", templatePath], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const signal of ["SIGINT", "SIGKILL"] as const) {
      const init = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "factory", "init", "-c", cfgPath], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      init.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = new Promise<number | null>((r) => init.once("exit", (code) => r(code)));
      const pidFile = join(templatePath, ".run", `template-${status().currentKey}-${init.pid}`, "qemu.pid");
      for (let i = 0; i < 600 && !existsSync(pidFile); i++) await sleep(50);
      assert.ok(existsSync(pidFile), `init did not start its VM: ${stderr}`);
      await sleep(500);
      init.kill(signal);
      const code = await exited;
      if (signal === "SIGINT") {
        assert.equal(code, 130, stderr);
        assert.deepEqual(readdirSync(templatePath), [status().currentKey], "init left files after SIGINT");
        assert.deepEqual(pgrepOrNone(templateVms), [], "init left its VM running after SIGINT");
      } else {
        assert.equal(status().builds.length, 1, "a killed init's work directory shows as an interrupted build");
      }
    }
    // The next init kills the killed init's QEMU, removes its files, and remakes the broken template.
    const r = await initTemplate(config, logger);
    assert.equal(r.created, true);
    assert.deepEqual(pgrepOrNone(templateVms), []);
    assert.deepEqual(readdirSync(templatePath), [r.info.key]);
    assert.equal(status().templates[0]?.current, true);
  });

  test("stopping the clones and destroying the templates leaves nothing behind", async () => {
    const [podA, podB] = pods as [Pod, Pod];
    assert.ok(podLinks(podA).includes("tap0_hako"), "clone A's tap is there while it runs");
    assert.ok(podLinks(podB).includes("mvtap0_hako"), "clone B's macvtap is there while it runs");
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
    for (const pod of pods) assert.deepEqual(podLinks(pod), ["eth0", "lo"], `${pod.name}: hako's devices left`);
    const nodes = existsSync(defaultDeviceDir) ? readdirSync(defaultDeviceDir) : [];
    assert.deepEqual(
      nodes.filter((n) => n.includes(net.tag)),
      [],
      "macvtap device nodes left",
    );
    await destroyTemplates(config, logger);
    assert.ok(!existsSync(templatePath));
    net.destroy();
    assert.ok(!execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes(`hako-${net.tag}-`), "netns left");
  });
});
