// `hako-runtime features`: what hako-runtime accepts, in runc's features JSON (runtime-spec features.md). The
// container runs under crun in the guest, with the guest's cgroup v2: the spec's cgroupsPath (cgroupfs or systemd
// form) is replaced there, so the host's cgroup layout does not matter; AppArmor and SELinux labels are dropped.
import { VERSION } from "../../common/version.js";
import type { Verb } from "../verb.js";
import { OCI_VERSION } from "./state.js";

const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

export function featuresDocument(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "relatime", "private", "rprivate"],
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "uts"],
      capabilities: CAPABILITIES,
      cgroup: { v2: true, systemd: true },
      seccomp: {
        enabled: true,
        actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { "org.hako.runtime.version": VERSION },
  };
}

export const features: Verb = {
  name: "features",
  summary: "show what hako-runtime supports (runc's features JSON)",
  usage: "",
  flags: [],
  async run() {
    process.stdout.write(`${JSON.stringify(featuresDocument(), null, 4)}\n`);
    return 0;
  },
};
