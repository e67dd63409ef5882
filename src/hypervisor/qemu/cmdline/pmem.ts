// The read-only root image as virtio-pmem: the guest mounts it with DAX, so its pages come straight from the host
// page cache, shared by every VM that boots the same image. share=off + readonly=on: the guest can never write it.
import type { QemuDevice } from "./device.js";

export class PmemRootfs implements QemuDevice {
  constructor(
    readonly path: string,
    readonly sizeBytes: number,
  ) {}

  args(): string[] {
    return [
      "-object",
      `memory-backend-file,id=pm0,mem-path=${this.path.replaceAll(",", ",,")},size=${this.sizeBytes},share=off,readonly=on`,
      "-device",
      "virtio-pmem-pci,memdev=pm0,id=pmem0",
    ];
  }
}
