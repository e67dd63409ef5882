// The per-sandbox devices a VM restored from a template gets once it runs (qemu-template-start.ts): the virtio-fs
// share and every NIC of the plan, each hot-plugged into a free PCIe root port, then waited for until the guest
// driver has taken it, so that CreateSandbox's mount finds the share's tag and the network set-up finds each MAC.
// All devices are added before the first wait: the guest probes them in parallel.
import type { Logger } from "../../common/log.js";
import type { ShareDevice } from "../../sharefs/share-manager.js";
import type { TapNic } from "./cmdline/netdev.js";
import { hotplugNic, hotplugVirtioFs, type PluggedDevice, type QmpExec, waitDriverOk } from "./hotplug.js";

export interface CloneDevices {
  share: ShareDevice;
  nics: readonly TapNic[];
}

/** PCIe root ports a clone's hot-plugged devices take: one for a virtio-fs share, one per NIC. */
export function clonePorts(d: CloneDevices): number {
  return (d.share.kind === "virtio-fs" ? 1 : 0) + d.nics.length;
}

/**
 * Plugs the share and the NICs, `claimPort(what)` giving each its root port (it throws when none is free), and
 * resolves once the guest has set every one up.
 * @throws HakoError from QMP (a refused device), claimPort, or DeadlineExceeded naming the device the guest did not
 *   take within `timeoutMs`
 */
export async function plugCloneDevices(
  qmp: QmpExec,
  claimPort: (what: string) => string,
  d: CloneDevices,
  log: Logger,
  timeoutMs = 10_000,
): Promise<PluggedDevice[]> {
  const startedAt = Date.now();
  const plugged: PluggedDevice[] = [];
  if (d.share.kind === "virtio-fs") {
    plugged.push(await hotplugVirtioFs(qmp, d.share.socketPath, claimPort("the share")));
  }
  for (const nic of d.nics) plugged.push(await hotplugNic(qmp, nic, claimPort(`NIC ${nic.mac}`)));
  const deadline = Date.now() + timeoutMs;
  for (const dev of plugged) await waitDriverOk(qmp, dev, Math.max(0, deadline - Date.now()));
  if (plugged.length > 0) {
    log.info("devices hot-plugged into the clone", { devices: plugged.map((p) => p.id), ms: Date.now() - startedAt });
  }
  return plugged;
}
