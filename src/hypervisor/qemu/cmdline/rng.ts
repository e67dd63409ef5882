// virtio-rng from the host's entropy source: without it an early-boot guest can stall waiting for randomness.
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export class Rng implements QemuDevice {
  constructor(
    readonly source: string,
    readonly transport: Transport = "pci",
  ) {}

  args(): string[] {
    return [
      "-object",
      `rng-random,id=rng0,filename=${this.source}`,
      "-device",
      `${virtioDevice("virtio-rng", this.transport)},rng=rng0`,
    ];
  }
}
