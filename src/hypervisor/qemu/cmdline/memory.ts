// Guest RAM. With virtio-fs the RAM must be shareable with virtiofsd, so it comes from a memfd backend bound to a
// NUMA node; otherwise plain `-m`. A VM template (and each clone of it) keeps its RAM in a file instead, mapped
// shared, so that a migration with x-ignore-shared saves only device state and vhost-user daemons can still map
// the clone's RAM. Slots and maxmem leave room for memory devices: hot-plugged DIMMs and the virtio-pmem root image
// both live above RAM.
import type { QemuDevice } from "./device.js";

export class Memory implements QemuDevice {
  constructor(
    readonly sizeMiB: number,
    readonly options: { slots?: number; maxMiB?: number; shared?: boolean; file?: string } = {},
  ) {}

  args(): string[] {
    const m = [`${this.sizeMiB}M`];
    if (this.options.slots !== undefined && this.options.maxMiB !== undefined) {
      m.push(`slots=${this.options.slots}`, `maxmem=${Math.max(this.options.maxMiB, this.sizeMiB)}M`);
    }
    const out = ["-m", m.join(",")];
    if (this.options.file !== undefined) {
      const path = this.options.file.replaceAll(",", ",,");
      out.push(
        "-object",
        `memory-backend-file,id=mem0,size=${this.sizeMiB}M,mem-path=${path},share=on`,
        "-numa",
        "node,memdev=mem0",
      );
    } else if (this.options.shared) {
      out.push("-object", `memory-backend-memfd,id=mem0,size=${this.sizeMiB}M,share=on`, "-numa", "node,memdev=mem0");
    }
    return out;
  }
}
