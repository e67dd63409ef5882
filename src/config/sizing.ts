// Static sandbox sizing (runtime.static_sandbox_resource_mgmt): the VM is booted big enough for its workload,
// so nothing is hot-plugged later. vCPUs = default_vcpus + ceil(quota / period); memory = default_memory + limit.
// The workload's size comes from CRI's sandbox annotations, or else from the container's own linux.resources
// (a single container started with `ctr run`).
import { Code, HakoError } from "../common/errors.js";
import { CRI_SANDBOX_CPU_PERIOD, CRI_SANDBOX_CPU_QUOTA, CRI_SANDBOX_MEMORY } from "../oci/cri-annotations.js";
import type { OciSpec } from "../oci/spec.js";
import { activeHypervisor } from "./hypervisor-section.js";
import type { HakoConfig } from "./types.js";

export interface SandboxSize {
  vcpus: number;
  memoryMiB: number;
}

const MiB = 1024 * 1024;

function intAnnotation(annotations: Record<string, string>, name: string): number | undefined {
  const text = annotations[name];
  if (text === undefined || text.trim() === "") return undefined;
  if (!/^-?\d+$/.test(text.trim())) {
    throw new HakoError(Code.InvalidArgument, `annotation ${name} must be an integer, got ${JSON.stringify(text)}`);
  }
  return Number(text.trim());
}

export function sandboxSizing(config: HakoConfig, spec: OciSpec): SandboxSize {
  const hv = activeHypervisor(config);
  const base = { vcpus: Math.max(1, hv.defaultVcpus), memoryMiB: hv.defaultMemoryMiB };
  if (!config.runtime.staticSandboxResourceMgmt) return base;
  const annotations = spec.annotations ?? {};
  const resources = spec.linux?.resources;
  const quota = intAnnotation(annotations, CRI_SANDBOX_CPU_QUOTA) ?? resources?.cpu?.quota;
  const period = intAnnotation(annotations, CRI_SANDBOX_CPU_PERIOD) ?? resources?.cpu?.period;
  const memory = intAnnotation(annotations, CRI_SANDBOX_MEMORY) ?? resources?.memory?.limit;

  let vcpus = base.vcpus;
  if (quota !== undefined && period !== undefined && quota > 0 && period > 0) vcpus += Math.ceil(quota / period);
  const max = hv.defaultMaxVcpus;
  if (max > 0) vcpus = Math.min(vcpus, max);

  let memoryMiB = base.memoryMiB;
  if (memory !== undefined && memory > 0) memoryMiB += Math.ceil(memory / MiB);
  const maxMem = hv.defaultMaxMemoryMiB;
  if (maxMem > 0) memoryMiB = Math.min(memoryMiB, maxMem);
  return { vcpus, memoryMiB };
}
