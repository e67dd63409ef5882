// The shared directory through virtio-9p: QEMU itself serves the files, no daemon. multidevs=remap keeps inode
// numbers unique when the directory spans several host filesystems (bind-mounted container roots do).

import { SHARE_TAG } from "../../../agent/api/guest-contract.js";
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export class NineP implements QemuDevice {
  constructor(
    readonly path: string,
    readonly transport: Transport = "pci",
  ) {}

  args(): string[] {
    return [
      "-fsdev",
      `local,id=fs9p0,path=${this.path.replaceAll(",", ",,")},security_model=none,multidevs=remap`,
      "-device",
      `${virtioDevice("virtio-9p", this.transport)},fsdev=fs9p0,mount_tag=${SHARE_TAG}`,
    ];
  }
}
