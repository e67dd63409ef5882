// For e2e files that start sandboxes through the runtime itself (Sandbox.create, no shim): the configuration that
// boots a set of built assets, a one-vCPU sandbox, and the safety net that kills and cleans up whatever a failed
// test left, unmounts and removes the file's work directory and prints the log's warnings and errors.

import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Fields, Logger } from "../../src/common/log.js";
import type { HakoConfig } from "../../src/config/types.js";
import { sandboxBackend } from "../../src/runtime/backend.js";
import { cleanupSandbox } from "../../src/runtime/cleanup.js";
import { unmountAll } from "../../src/runtime/host-mounts.js";
import { Sandbox } from "../../src/runtime/sandbox.js";
import { isGone, sandboxProcesses } from "./processes.js";

/** A configuration file's text: `[hypervisor.qemu]` booting the assets `hako image build` wrote to `dir`, and `extra`. */
export function assetsConfigToml(dir: string, extra: readonly string[] = []): string {
  return [
    "[hypervisor.qemu]",
    `kernel = "${join(dir, "vmlinux")}"`,
    `initrd = "${join(dir, "hako-initrd.img")}"`,
    `image = "${join(dir, "hako-rootfs.img")}"`,
    ...extra,
    "",
  ].join("\n");
}

/** A sandbox of one vCPU and 512 MiB under `runRoot`, events ignored. */
export function createTestSandbox(
  id: string,
  config: HakoConfig,
  o: { namespace: string; logger: Logger; runRoot: string },
): Promise<Sandbox> {
  return Sandbox.create({
    id,
    namespace: o.namespace,
    backend: sandboxBackend(config),
    logger: o.logger,
    events: { exited: () => {}, oom: () => {}, vmDied: () => {} },
    vcpus: 1,
    memoryMiB: 512,
    runRoot: o.runRoot,
  });
}

export interface SafetyNet {
  /** Stops the sandboxes the file still holds (errors are ignored: the clean-up below follows). */
  stop: () => Promise<void>;
  ids: readonly string[];
  runRoot: string;
  work: string;
  logger: Logger;
  logSink: { entries(): Fields[] };
}

export async function sandboxSafetyNet(o: SafetyNet): Promise<void> {
  await o.stop().catch(() => {});
  for (const id of o.ids) {
    for (const p of sandboxProcesses(o.runRoot, id)) {
      if (isGone(p.pid)) continue;
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {}
    }
    await cleanupSandbox(id, o.logger, o.runRoot).catch(() => {});
  }
  await unmountAll(o.work);
  rmSync(o.work, { recursive: true, force: true });
  for (const e of o.logSink.entries()) if (e.level !== "info") process.stderr.write(`${JSON.stringify(e)}\n`);
}
