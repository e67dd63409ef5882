// A virtio-net NIC backed by a tap device that already exists (created by the network layer in the pod netns).
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
