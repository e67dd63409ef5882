// `hako check` rules for the programs a sandbox runs on the host: QEMU and (for virtio-fs) virtiofsd. Pure:
// toolVersions() runs each with --version, the rules read the answers.
import type { HakoConfig } from "../../config/index.js";
import { toolVersion } from "../host-facts.js";
import { type CheckItem, item } from "./item.js";

/** First line of each tool's --version, or undefined when it is missing or does not run. */
export interface ToolVersions {
  qemu: string | undefined;
  virtiofsd: string | undefined;
}

export async function toolVersions(config: HakoConfig): Promise<ToolVersions> {
  const hv = config.hypervisor.qemu;
  const [qemu, virtiofsd] = await Promise.all([
    toolVersion(hv.path),
    hv.sharedFs === "virtio-fs" ? toolVersion(hv.virtioFsDaemon) : Promise.resolve(undefined),
  ]);
  return { qemu, virtiofsd };
}

export function toolItems(config: HakoConfig, versions: ToolVersions): CheckItem[] {
  const hv = config.hypervisor.qemu;
  const items: CheckItem[] = [];
  const qemu = versions.qemu;
  items.push(
    qemu
      ? item("qemu", "QEMU", "ok", `${hv.path}: ${qemu}`)
      : item(
          "qemu",
          "QEMU",
          "fail",
          `${hv.path} is missing or does not run`,
          "apt-get install qemu-system-x86, or set path under [hypervisor.qemu] to a working QEMU",
        ),
  );
  if (hv.sharedFs === "virtio-fs") {
    const vfs = versions.virtiofsd;
    items.push(
      vfs
        ? item("virtiofsd", "virtiofsd", "ok", `${hv.virtioFsDaemon}: ${vfs}`)
        : item(
            "virtiofsd",
            "virtiofsd",
            "fail",
            `${hv.virtioFsDaemon} is missing or does not run`,
            "apt-get install qemu-system-x86 (it ships /usr/lib/qemu/virtiofsd), or set virtio_fs_daemon",
          ),
    );
  } else items.push(item("virtiofsd", "virtiofsd", "ok", `not used (shared_fs = ${hv.sharedFs})`));
  return items;
}
