// The guest's serial console (ttyS0), appended to a log file: boot messages and panics end up there.
import type { QemuDevice } from "./device.js";

export class SerialConsole implements QemuDevice {
  constructor(readonly logPath: string) {}

  args(): string[] {
    return ["-chardev", `file,id=charconsole0,path=${this.logPath},append=on`, "-serial", "chardev:charconsole0"];
  }
}
