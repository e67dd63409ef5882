// Device hot-plug through QMP: a block device (blockdev-add + device_add into a free PCIe root port), vCPUs
// (query-hotpluggable-cpus + device_add), memory (a backend object + pc-dimm). Each function speaks QMP only;
// the Vm decides which port or id to use.
import { Code, HakoError } from "../../common/errors.js";
import type { BlockDevice } from "../hypervisor.js";
import type { QmpClient } from "./qmp.js";

/** Node names and device ids must be QEMU ids: letters, digits, '-', '_', '.', starting with a letter. */
export function qemuId(prefix: string, id: string): string {
  const clean = id.replace(/[^A-Za-z0-9_.-]/g, "_");
  const out = `${prefix}${clean}`;
  if (out.length > 64) return `${prefix}${clean.slice(0, 64 - prefix.length)}`;
  return out;
}

export async function hotplugBlock(qmp: QmpClient, dev: BlockDevice, port: string, driver = "virtio-blk-pci") {
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

/** Plugs vCPUs until `total` are present (never unplugs); resolves with the count now present. */
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
  if (present < total) {
    throw new HakoError(Code.OutOfRange, `cannot reach ${total} vcpus: only ${present} fit (raise default_maxvcpus)`);
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
