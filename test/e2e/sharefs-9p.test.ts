// shared_fs = "virtio-9p" end to end: a guest image built on Debian's generic kernel (the cloud kernel has no 9p),
// one VM whose shared directory QEMU serves over virtio-9p (no virtiofsd), a container whose rootfs and a bind
// mount reach the guest through that share, and a teardown that leaves nothing behind. One boot.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger, memorySink } from "../../src/common/log.js";
import { loadConfig } from "../../src/config/index.js";
import type { HakoConfig } from "../../src/config/types.js";
import { buildImage } from "../../src/image/build.js";
import { sandboxBackend } from "../../src/runtime/backend.js";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { Sandbox } from "../../src/runtime/sandbox.js";
import { bindRootfs, busyboxRootfs, containerSpec } from "../fixtures/runtime-guest.js";
import { sandboxProcesses } from "../helpers/processes.js";
import { assetsConfigToml, sandboxSafetyNet } from "../helpers/runtime-sandbox.js";
import { readAll, within } from "../helpers/waiting.js";

const repo = resolve(fileURLToPath(import.meta.url), "../../..");
// Kept between runs: --if-changed rebuilds it only when the manifest's inputs change (the .deb is cached apart).
const imageDir = join(repo, ".cache", "guest-9p");
const work = mkdtempSync(join(tmpdir(), "hako-9p-e2e-"));
const runRoot = join(work, "run");
const configPath = join(work, "configuration.toml");
const id = `ninep${process.pid}`;
const logSink = memorySink();
const logger: Logger = createLogger({ level: "info", sink: logSink });
let config: HakoConfig;
let sandbox: Sandbox | undefined;
/** This sandbox's QEMU and any virtiofsd serving its share (there must be none). */
const processesOf = () => sandboxProcesses(runRoot, id);

before(async () => {
  const built = await buildImage({
    outputDir: imageDir,
    kernelPackage: "linux-image-amd64",
    ifChanged: true,
    log: logger,
  });
  for (const m of ["9pnet", "9pnet_virtio", "9p"]) {
    assert.ok(
      built.manifest.modules.some((p) => p.endsWith(`/${m}.ko`)),
      `the generic kernel's initrd carries ${m}.ko`,
    );
  }
  writeFileSync(configPath, assetsConfigToml(imageDir, ['shared_fs = "virtio-9p"']));
  config = loadConfig({ path: configPath, logger });
  assert.equal(config.hypervisor.qemu.sharedFs, "virtio-9p");
});

after(() => sandboxSafetyNet({ stop: async () => sandbox?.stop(), ids: [id], runRoot, work, logger, logSink }));

describe("a sandbox whose share is virtio-9p", { timeout: 300_000 }, () => {
  const hostDir = join(work, "host-data");

  test("boots with QEMU serving the share itself (no virtiofsd)", async () => {
    sandbox = await Sandbox.create({
      id,
      namespace: "sharefs-9p-e2e",
      backend: sandboxBackend(config),
      logger,
      events: { exited: () => {}, oom: () => {}, vmDied: () => {} },
      vcpus: 1,
      memoryMiB: 512,
      runRoot,
    });
    const procs = processesOf();
    assert.equal(procs.length, 1, `only qemu runs: ${procs.map((p) => p.cmd).join("\n")}`);
    assert.match(procs[0]?.cmd ?? "", /virtio-9p-pci,fsdev=fs9p0,mount_tag=kataShared/);
    assert.match(procs[0]?.cmd ?? "", /-fsdev local,id=fs9p0,path=[^ ]*,security_model=none/);
  });

  test("a container's rootfs and bind mount come through 9p; the guest's write reaches the host", async (t) => {
    const s = sandbox;
    assert.ok(s, "the sandbox booted");
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, "from-host"), "host says hi\n");
    const rootfs = busyboxRootfs(join(work, "rootfs"));
    await s.createContainer({
      id: "c1",
      bundle: rootfs,
      spec: containerSpec(
        "c1",
        ["sh", "-c", "uname -r; cat /proc/mounts; cat /data/from-host; echo guest-was-here > /data/from-guest"],
        [{ destination: "/data", type: "bind", source: hostDir, options: ["rbind", "rw"] }],
      ),
      rootfs: bindRootfs(rootfs),
    });
    const p = await s.start("c1", "");
    const out = readAll(() => s.agent.readStdout("c1", "", 65536));
    assert.equal((await within(120_000, "c1 exit", p.exited)).status, 0);
    const lines = (await out).trim().split("\n");
    t.diagnostic(`container output: ${lines.join(" | ")}`);
    assert.match(lines[0] ?? "", /^\d+\.\d+\.\d+-\d+-amd64$/, "the generic kernel runs the guest");
    const mounts = lines.slice(1).map((l) => l.split(" "));
    const root = mounts.find((m) => m[1] === "/");
    assert.equal(root?.[2], "9p", `the container's root is on the 9p share: ${root?.join(" ")}`);
    assert.match(root?.[3] ?? "", /trans=virtio/);
    assert.match(
      root?.[3] ?? "",
      new RegExp(`msize=${config.hypervisor.qemu.msize9p}\\b`),
      "msize_9p reaches the mount",
    );
    assert.equal(mounts.find((m) => m[1] === "/data")?.[2], "9p", "the bind mount is on the 9p share");
    assert.equal(lines.at(-1), "host says hi");
    // The guest's write went through 9p to the host file system: no cache in between to wait for.
    assert.equal(readFileSync(join(hostDir, "from-guest"), "utf8"), "guest-was-here\n");
  });

  test("delete and stop: no QEMU, mounts or directories are left", async () => {
    const s = sandbox;
    assert.ok(s, "the sandbox booted");
    await s.delete("c1", "");
    assert.deepEqual(await mountPointsUnder(s.paths.sharedDir), [s.paths.sharedDir]);
    await s.stop();
    sandbox = undefined;
    assert.deepEqual(processesOf(), [], "qemu of the sandbox still runs");
    for (const dir of [join(runRoot, id), join(runRoot, "shared", id)]) {
      assert.deepEqual(await mountPointsUnder(dir), [], `mounts left under ${dir}`);
      assert.ok(!existsSync(dir), `${dir} is left`);
    }
    assert.equal(readFileSync(join(hostDir, "from-host"), "utf8"), "host says hi\n", "host files survive");
    assert.equal(readFileSync(join(hostDir, "from-guest"), "utf8"), "guest-was-here\n");
  });
});
