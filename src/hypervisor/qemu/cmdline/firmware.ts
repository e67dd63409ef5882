// The firmware QEMU runs before the kernel. qboot only sets up what a direct kernel boot needs (no option-ROM scan,
// no boot menu), which under TCG reaches the kernel about a quarter of a second sooner than SeaBIOS.
import { existsSync } from "node:fs";
import type { QemuDevice } from "./device.js";
import type { MachineType } from "./machine.js";

/** Where Debian's qemu-system-data installs qboot. */
export const QBOOT_ROM = "/usr/share/qemu/qboot.rom";

export class Firmware implements QemuDevice {
  constructor(readonly path: string) {}

  args(): string[] {
    return ["-bios", this.path];
  }
}

/**
 * The firmware for a machine type: qboot for q35 when it is installed, else QEMU's default (SeaBIOS; microvm
 * brings its own minimal one).
 */
export function chooseFirmware(
  machine: MachineType,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  return machine === "q35" && exists(QBOOT_ROM) ? QBOOT_ROM : undefined;
}
