// A virtio-net NIC backed by a tap device that already exists (created by the network layer in the pod netns):
// the `-netdev`/`-device` pair of a cold boot, and the same backend and device as QMP arguments for a NIC
// hot-plugged into a VM restored from a template (hotplug.ts), so both paths open the tap the same way.
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export interface TapNic {
  id: string;
  tapName: string;
  mac: string;
  /** Bytes; given to the guest as the device's host_mtu so it matches the pod link. Absent: QEMU's default. */
  mtu?: number;
  /** vhost-net moves the data path into the host kernel (Kata's default unless disable_vhost_net). */
  vhost: boolean;
  /** An fd QEMU inherits for the device (macvtap); then `tapName` is not opened by name. */
  fd?: number;
}

export class VirtioNet implements QemuDevice {
  constructor(
    readonly nic: TapNic,
    readonly transport: Transport = "pci",
  ) {}

  args(): string[] {
    const { id, tapName, mac, mtu, vhost, fd } = this.nic;
    const open = fd !== undefined ? `fd=${fd}` : `ifname=${tapName},script=no,downscript=no`;
    return [
      "-netdev",
      `tap,id=${id},${open},vhost=${vhost ? "on" : "off"}`,
      "-device",
      `${virtioDevice("virtio-net", this.transport)},netdev=${id},mac=${mac}${mtu !== undefined ? `,host_mtu=${mtu}` : ""}`,
    ];
  }
}

/** The tap backend as `netdev_add` arguments. A numeric `fd` names an fd QEMU inherited (QEMU parses digits as one). */
export function tapNetdevQmp(nic: TapNic): Record<string, unknown> {
  const open = nic.fd !== undefined ? { fd: String(nic.fd) } : { ifname: nic.tapName, script: "no", downscript: "no" };
  return { type: "tap", id: nic.id, ...open, vhost: nic.vhost };
}

/** The QEMU id of a hot-plugged NIC's virtio-net-pci device (the cold path's has none). */
export const nicDeviceId = (nic: TapNic) => `${nic.id}-pci`;

/** The virtio-net-pci device as `device_add` arguments, in PCIe root port `bus`, with the endpoint's MAC and MTU. */
export function virtioNetQmp(nic: TapNic, bus: string): Record<string, unknown> {
  return {
    driver: "virtio-net-pci",
    id: nicDeviceId(nic),
    netdev: nic.id,
    mac: nic.mac,
    bus,
    ...(nic.mtu !== undefined ? { host_mtu: nic.mtu } : {}),
  };
}
