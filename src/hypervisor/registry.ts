// Which driver runs a sandbox's VM: one entry per hypervisor kind, picked by the configuration's
// `hypervisor.kind`. A new VMM (Cloud Hypervisor: [hypervisor.clh]) adds its folder and one line here; the runtime
// and the shim only see the Hypervisor interface.
import type { Logger } from "../common/log.js";
import { defaultConfig } from "../config/defaults.js";
import type { HakoConfig, HypervisorKind } from "../config/types.js";
import type { Hypervisor, StaleCleanup } from "./hypervisor.js";
import { QemuHypervisor } from "./qemu/qemu-hypervisor.js";

const drivers: Record<HypervisorKind, (config: HakoConfig) => Hypervisor> = {
  qemu: (config) => new QemuHypervisor(config.hypervisor.qemu, config.agent, { factory: config.factory }),
};

/** The hypervisor the configuration selects. */
export function hypervisorFor(config: HakoConfig): Hypervisor {
  return drivers[config.hypervisor.kind](config);
}

/**
 * Stale clean-up for a sandbox whose owner died, with no configuration at hand (`shim delete`): each driver looks
 * for its own pid files under `<stateRoot>/<id>/`, so all of them are asked. `knownPid` goes to the driver that
 * persisted it (`kind`), or to every driver when the state is unreadable (each checks /proc before killing).
 */
export async function cleanupStaleVm(
  id: string,
  options: { stateRoot: string; kind?: HypervisorKind; knownPid?: number; logger?: Logger },
): Promise<StaleCleanup> {
  const out: StaleCleanup = { killed: [], removedDir: false };
  // The drivers read no configuration to clean up, so the built-in defaults are enough to make one.
  for (const [kind, make] of Object.entries(drivers) as [HypervisorKind, (c: HakoConfig) => Hypervisor][]) {
    const knownPid = options.kind === undefined || options.kind === kind ? options.knownPid : undefined;
    const r = await make(defaultConfig()).cleanupStale(id, {
      stateRoot: options.stateRoot,
      ...(knownPid !== undefined ? { knownPid } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    for (const pid of r.killed) if (!out.killed.includes(pid)) out.killed.push(pid);
    out.removedDir ||= r.removedDir;
  }
  return out;
}
