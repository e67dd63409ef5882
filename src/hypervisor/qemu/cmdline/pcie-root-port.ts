// Empty PCIe root ports on q35: a device can only be hot-plugged into a port that existed at boot.
import type { QemuDevice } from "./device.js";

export const rootPortId = (index: number) => `rp${index}`;

export class PcieRootPort implements QemuDevice {
  constructor(readonly index: number) {}

  args(): string[] {
    return [
      "-device",
      `pcie-root-port,id=${rootPortId(this.index)},bus=pcie.0,chassis=${this.index + 1},slot=${this.index}`,
    ];
  }
}
