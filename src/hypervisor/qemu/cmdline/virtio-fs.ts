// The shared directory through virtio-fs: QEMU connects to virtiofsd's vhost-user socket; the guest mounts the tag.
// Needs shared guest RAM (Memory with shared=true).
import { SHARE_TAG } from "../../../agent/api/guest-contract.js";
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export class VirtioFs implements QemuDevice {
  constructor(
    readonly socketPath: string,
    readonly transport: Transport = "pci",
    readonly queueSize = 1024,
  ) {}

  args(): string[] {
    return [
      "-chardev",
      `socket,id=charvfs0,path=${this.socketPath}`,
      "-device",
      `${virtioDevice("vhost-user-fs", this.transport)},chardev=charvfs0,tag=${SHARE_TAG},queue-size=${this.queueSize}`,
    ];
  }
}
