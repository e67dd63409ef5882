// The section of the configuration that belongs to the hypervisor sandboxes run on. Code that does not care which
// VMM runs (sizing, annotations, asset checks) reads the common keys through here; a driver reads its own section.
import type { CommonHypervisorConfig, HakoConfig } from "./types.js";

/** The `[hypervisor.<kind>]` section selected by `config.hypervisor.kind`. */
export function activeHypervisor(config: HakoConfig): CommonHypervisorConfig {
  switch (config.hypervisor.kind) {
    case "qemu":
      return config.hypervisor.qemu;
  }
}

/** The TOML name of the selected section, for messages and keys: `hypervisor.qemu`. */
export const hypervisorSectionName = (config: HakoConfig): string => `hypervisor.${config.hypervisor.kind}`;
