// The guest debug console (debug_console_enabled) as a virtio-serial port named hako.debug.0, on the host a unix
// socket QEMU listens on (server=on,wait=off: nobody connects until `hako exec`). It shares the agent's
// virtio-serial controller when there is one; with the agent on vsock it brings its own.
import { DEBUG_CONSOLE_PORT_NAME } from "../../../agent/api/guest-contract.js";
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export class DebugConsolePort implements QemuDevice {
  constructor(
    readonly socketPath: string,
    readonly transport: Transport = "pci",
    /** Whether the agent's controller (serial0, from AgentSerialPort) exists to hang the port on. */
    readonly agentSerial = true,
  ) {}

  args(): string[] {
    const bus = this.agentSerial ? "serial0" : "serial1";
    return [
      ...(this.agentSerial ? [] : ["-device", `${virtioDevice("virtio-serial", this.transport)},id=${bus}`]),
      "-chardev",
      `socket,id=chardebug0,path=${this.socketPath},server=on,wait=off`,
      "-device",
      `virtserialport,bus=${bus}.0,chardev=chardebug0,name=${DEBUG_CONSOLE_PORT_NAME}`,
    ];
  }
}
