// The real sandbox backend: QEMU (which runs virtiofsd for the share) and the ttrpc agent client, from the config.
import type { GuestStorage } from "../agent/api/agent-api.js";
import { GUEST_SHARED_DIR, SHARE_TAG } from "../agent/api/guest-contract.js";
import { waitForAgent } from "../agent/client/wait-for-agent.js";
import type { HakoConfig } from "../config/types.js";
import { startQemu } from "../hypervisor/qemu/qemu-vm.js";
import type { SandboxBackend } from "./backend.js";

export function guestStoragesFor(config: HakoConfig): GuestStorage[] {
  switch (config.hypervisor.qemu.sharedFs) {
    case "virtio-fs":
      return [
        { driver: "virtio-fs", source: SHARE_TAG, fstype: "virtiofs", options: [], mountPoint: GUEST_SHARED_DIR },
      ];
    case "virtio-9p":
      return [
        {
          driver: "9p",
          source: SHARE_TAG,
          fstype: "9p",
          options: ["trans=virtio", "version=9p2000.L", `msize=${config.hypervisor.qemu.msize9p}`],
          mountPoint: GUEST_SHARED_DIR,
        },
      ];
    case "none":
      return [];
  }
}

export function qemuBackend(config: HakoConfig): SandboxBackend {
  return {
    guestStorages: guestStoragesFor(config),
    kernelModules: config.agent.kernelModules,
    startVm: (req, logger) =>
      startQemu(
        {
          id: req.sandboxId,
          config,
          vcpus: req.vcpus,
          memoryMiB: req.memoryMiB,
          sharedDir: req.sharedDir,
          stateRoot: req.stateRoot,
          ...(req.network
            ? {
                netns: req.network.netns,
                nics: req.network.endpoints.map((e, i) => ({
                  id: `net${i}`,
                  tapName: e.tap,
                  mac: e.mac,
                  vhost: false,
                })),
              }
            : {}),
        },
        logger,
      ),
    connectAgent: (vm, logger) =>
      waitForAgent(vm.agentAddress, {
        timeoutMs: Math.max(1, config.agent.dialTimeoutS) * 1000,
        logger: logger.child({ subsystem: "agent-client" }),
      }),
  };
}
