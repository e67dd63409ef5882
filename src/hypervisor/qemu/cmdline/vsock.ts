// A vhost-vsock device: the guest reaches the host at CID 2, the host reaches the guest at guest-cid.
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export class Vsock implements QemuDevice {
  constructor(
    readonly guestCid: number,
    readonly transport: Transport = "pci",
  ) {}

  args(): string[] {
    return ["-device", `${virtioDevice("vhost-vsock", this.transport)},id=vsock0,guest-cid=${this.guestCid}`];
  }
}
