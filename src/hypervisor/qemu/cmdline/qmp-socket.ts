// The QMP control socket the runtime drives the VM through.
import type { QemuDevice } from "./device.js";

export class QmpSocket implements QemuDevice {
  constructor(readonly path: string) {}

  args(): string[] {
    return [
      "-chardev",
      `socket,id=charqmp0,path=${this.path},server=on,wait=off`,
      "-mon",
      "chardev=charqmp0,mode=control",
    ];
  }
}
