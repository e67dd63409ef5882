// What every piece of a QEMU command line is: something that renders its own arguments. One small type per device
// lives in each sibling file; build.ts puts them in order.

export interface QemuDevice {
  args(): string[];
}

/** q35 puts virtio devices on PCI(e); microvm has no PCI and uses virtio-mmio. */
export type Transport = "pci" | "mmio";

/** `virtio-serial` → `virtio-serial-pci` or `virtio-serial-device`. */
export const virtioDevice = (base: string, transport: Transport) => `${base}-${transport === "pci" ? "pci" : "device"}`;

/** QEMU's option syntax: `key=value` pairs joined by commas, where a comma inside a value is doubled. */
export function opts(head: string, pairs: Record<string, string | number | boolean | undefined>): string {
  const parts = [head];
  for (const [k, v] of Object.entries(pairs)) {
    if (v === undefined) continue;
    const text = typeof v === "boolean" ? (v ? "on" : "off") : String(v);
    parts.push(`${k}=${text.replaceAll(",", ",,")}`);
  }
  return parts.join(",");
}
