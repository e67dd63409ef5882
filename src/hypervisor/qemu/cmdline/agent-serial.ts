// The agent channel as a virtio-serial port named agent.channel.0; on the host a unix socket QEMU listens on
// (server=on,wait=off: QEMU does not wait for the runtime to connect before booting).
import { AGENT_PORT_NAME } from "../../../agent/api/guest-contract.js";
import { type QemuDevice, type Transport, virtioDevice } from "./device.js";

export class AgentSerialPort implements QemuDevice {
  constructor(
    readonly socketPath: string,
    readonly transport: Transport = "pci",
  ) {}

  args(): string[] {
    return [
      "-device",
      `${virtioDevice("virtio-serial", this.transport)},id=serial0`,
      "-chardev",
      `socket,id=charagent0,path=${this.socketPath},server=on,wait=off`,
      "-device",
      `virtserialport,bus=serial0.0,chardev=charagent0,name=${AGENT_PORT_NAME}`,
    ];
  }
}
