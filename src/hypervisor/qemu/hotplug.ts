// Device hot-plug through QMP: a block device (blockdev-add + device_add into a free PCIe root port), a NIC
// (netdev_add of the tap + virtio-net-pci), the virtio-fs share (chardev-add + vhost-user-fs-pci), vCPUs
// (query-hotpluggable-cpus + device_add), memory (a backend object + pc-dimm), and the wait until the guest driver
// has taken a hot-plugged virtio device. Each function speaks QMP only; the Vm decides which port or id to use.
import { setTimeout as sleep } from "node:timers/promises";
import { SHARE_TAG } from "../../agent/api/guest-contract.js";
import { Code, HakoError } from "../../common/errors.js";
import type { BlockDevice } from "../hypervisor.js";
import { nicDeviceId, type TapNic, tapNetdevQmp, virtioNetQmp } from "./cmdline/netdev.js";
import type { QmpClient } from "./qmp.js";

/** The part of a QMP client the hot-plug steps use (unit specs give a fake). */
export type QmpExec = Pick<QmpClient, "execute">;

/** A hot-plugged virtio device to wait for: its QEMU id, and what to call it in an error. */
export interface PluggedDevice {
  id: string;
  what: string;
}

/** Node names and device ids must be QEMU ids: letters, digits, '-', '_', '.', starting with a letter. */
export function qemuId(prefix: string, id: string): string {
  const clean = id.replace(/[^A-Za-z0-9_.-]/g, "_");
  const out = `${prefix}${clean}`;
  if (out.length > 64) return `${prefix}${clean.slice(0, 64 - prefix.length)}`;
  return out;
}

/** Hot-plugged memory comes in blocks of this size (MiB): Linux onlines memory in 128 MiB sections on x86-64. */
export const MEMORY_BLOCK_MIB = 128;

/** The size of the DIMM that adds at least `addMiB`: rounded up to whole memory blocks. */
export const dimmSizeMiB = (addMiB: number) => Math.ceil(addMiB / MEMORY_BLOCK_MIB) * MEMORY_BLOCK_MIB;

export async function hotplugBlock(qmp: QmpExec, dev: BlockDevice, port: string, driver = "virtio-blk-pci") {
  const node = qemuId("drive-", dev.id);
  await qmp.execute("blockdev-add", {
    driver: "raw",
    "node-name": node,
    "read-only": dev.readonly,
    file: { driver: "file", filename: dev.path, "read-only": dev.readonly },
  });
  try {
    await qmp.execute("device_add", { driver, id: qemuId("blk-", dev.id), drive: node, bus: port });
  } catch (err) {
    await qmp.execute("blockdev-del", { "node-name": node }).catch(() => {});
    throw err;
  }
}

interface HotpluggableCpu {
  type: string;
  "vcpus-count": number;
  props: Record<string, number>;
  "qom-path"?: string;
}

/**
 * Plugs vCPUs until `total` are present or every slot below maxcpus is taken (never unplugs); resolves with the count
 * now present, below `total` when the VM has no room (the caller caps, as Kata does).
 */
export async function hotplugVcpus(qmp: QmpClient, total: number): Promise<number> {
  const slots = await qmp.execute<HotpluggableCpu[]>("query-hotpluggable-cpus");
  let present = slots.filter((s) => s["qom-path"] !== undefined).reduce((n, s) => n + s["vcpus-count"], 0);
  const free = slots.filter((s) => s["qom-path"] === undefined).reverse(); // QEMU lists the highest socket first
  for (const slot of free) {
    if (present >= total) break;
    const id = `cpu-${Object.values(slot.props).join("-")}`;
    await qmp.execute("device_add", { driver: slot.type, id, ...slot.props });
    present += slot["vcpus-count"];
  }
  return present;
}

/** Adds one DIMM of `sizeMiB`; `shared` uses a memfd backend (needed with virtio-fs). Resolves with the MiB added. */
export async function hotplugMemory(qmp: QmpClient, index: number, sizeMiB: number, shared: boolean): Promise<number> {
  const memdev = `hotmem${index}`;
  await qmp.execute("object-add", {
    "qom-type": shared ? "memory-backend-memfd" : "memory-backend-ram",
    id: memdev,
    size: sizeMiB * 1024 * 1024,
    ...(shared ? { share: true } : {}),
  });
  try {
    await qmp.execute("device_add", { driver: "pc-dimm", id: `dimm${index}`, memdev });
  } catch (err) {
    await qmp.execute("object-del", { id: memdev }).catch(() => {});
    throw err;
  }
  return sizeMiB;
}

/**
 * Plugs a NIC into PCIe root port `port`: the tap backend (opened by name in QEMU's netns, or the inherited fd of a
 * macvtap), then virtio-net-pci with the endpoint's MAC. Removes the backend again if the device is refused.
 */
export async function hotplugNic(qmp: QmpExec, nic: TapNic, port: string): Promise<PluggedDevice> {
  await qmp.execute("netdev_add", tapNetdevQmp(nic));
  try {
    await qmp.execute("device_add", virtioNetQmp(nic, port));
  } catch (err) {
    await qmp.execute("netdev_del", { id: nic.id }).catch(() => {});
    throw err;
  }
  return {
    id: nicDeviceId(nic),
    what: `NIC ${nic.id} (MAC ${nic.mac}, ${nic.fd !== undefined ? `fd ${nic.fd}` : nic.tapName})`,
  };
}

/** Plugs the virtio-fs share (virtiofsd's vhost-user socket) into PCIe root port `port`. */
export async function hotplugVirtioFs(qmp: QmpExec, socketPath: string, port: string): Promise<PluggedDevice> {
  await qmp.execute("chardev-add", {
    id: "charvfs0",
    backend: { type: "socket", data: { addr: { type: "unix", data: { path: socketPath } }, server: false } },
  });
  await qmp.execute("device_add", {
    driver: "vhost-user-fs-pci",
    id: "vfs0",
    chardev: "charvfs0",
    tag: SHARE_TAG,
    bus: port,
    "queue-size": 1024,
  });
  return { id: "vfs0", what: "the virtio-fs share" };
}

/**
 * Waits until the guest driver has set hot-plugged virtio device `dev` up (virtio status DRIVER_OK, read with
 * x-query-virtio-status), so that the guest sees it (a share's tag, a NIC's link) before anyone asks for it.
 * @throws HakoError DeadlineExceeded naming the device when the guest has not within `timeoutMs`
 */
export async function waitDriverOk(qmp: QmpExec, dev: PluggedDevice, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await qmp.execute<{ status?: { statuses?: string[] } | string[] }>("x-query-virtio-status", {
      path: `/machine/peripheral/${dev.id}/virtio-backend`,
    });
    const statuses = Array.isArray(s.status) ? s.status : (s.status?.statuses ?? []);
    if (statuses.some((x) => x.includes("DRIVER_OK"))) return;
    if (Date.now() > deadline) {
      throw new HakoError(
        Code.DeadlineExceeded,
        `the guest did not set up the hot-plugged ${dev.what} within ${timeoutMs} ms (no virtio DRIVER_OK)`,
        { fields: { device: dev.id } },
      );
    }
    await sleep(5);
  }
}
