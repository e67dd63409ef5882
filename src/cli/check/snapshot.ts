// `hako check` rule for the agent's startup snapshot in the guest image: whether it was made in a VM like the one
// this host will boot (accelerator, `-cpu`, QEMU version). A snapshot made for another CPU is not used: the guest
// starts the agent from its bundle (slower, still works). Pure: the manifest's record and the host's facts come in.
import type { SnapshotInput, SnapshotRecord } from "../../image/manifest.js";
import { describeSnapshotVm } from "../../image/manifest.js";
import { type CheckItem, item } from "./item.js";

export interface SnapshotFacts {
  /** The manifest's inputs.snapshot (undefined: a manifest from before snapshots). */
  vm: SnapshotInput | false | undefined;
  made: SnapshotRecord | undefined;
}

/** What this host boots: the accelerator the runtime picks, the `-cpu` value, QEMU's --version line. */
export interface SnapshotHost {
  accel: "tcg" | "kvm";
  cpu: string;
  qemuVersion: string | undefined;
}

export function snapshotItem(facts: SnapshotFacts | undefined, host: SnapshotHost): CheckItem | undefined {
  if (!facts) return undefined;
  const title = "agent startup snapshot";
  const rebuild = "run `hako image build` on this host (or `npm run setup`) to make one for its CPU model";
  const here = describeSnapshotVm({ qemu: { path: "", version: host.qemuVersion ?? "unknown" }, ...host });
  if (!facts.vm) return item("agent-snapshot", title, "ok", "none in the image: the agent starts from its bundle");
  if (!facts.made) {
    return item(
      "agent-snapshot",
      title,
      "warn",
      `the image build could not make one (${describeSnapshotVm(facts.vm)}): the agent starts from its bundle`,
      rebuild,
    );
  }
  const same = facts.vm.accel === host.accel && facts.vm.cpu === host.cpu && facts.vm.qemu.version === host.qemuVersion;
  // Only the -cpu value differs: the configuration's cpu_features made it (Kata's own files set "pmu=off").
  const onlyCpu = facts.vm.accel === host.accel && facts.vm.qemu.version === host.qemuVersion;
  const fix = onlyCpu
    ? "[hypervisor.qemu] cpu_features shape the guest CPU: build the image with this configuration (`hako image build` reads the same $HAKO_CONFIG or /etc/hako/configuration.toml) so that its snapshot is made for that CPU, or remove cpu_features"
    : rebuild;
  return same
    ? item("agent-snapshot", title, "ok", `made for this host's guest CPU (${here}), key ${facts.made.key}`)
    : item(
        "agent-snapshot",
        title,
        "warn",
        `made for ${describeSnapshotVm(facts.vm)}, this host boots ${here}: the agent starts from its bundle`,
        fix,
      );
}
