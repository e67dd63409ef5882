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
}

export class VirtioNet implements QemuDevice {
  constructor(
    readonly nic: TapNic,
    readonly transport: Transport = "pci",
  ) {}

  args(): string[] {
    const { id, tapName, mac, mtu, vhost } = this.nic;
    return [
      "-netdev",
      `tap,id=${id},ifname=${tapName},script=no,downscript=no,vhost=${vhost ? "on" : "off"}`,
      "-device",
      `${virtioDevice("virtio-net", this.transport)},netdev=${id},mac=${mac}${mtu !== undefined ? `,host_mtu=${mtu}` : ""}`,
    ];
  }
}
