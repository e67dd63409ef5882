// hako's configuration: load a Kata-compatible TOML file, apply pod annotations, size the sandbox.
export { annotationPrefix, applyAnnotations } from "./annotations.js";
export { assetsDir, defaultConfig, systemConfigPath } from "./defaults.js";
export { activeHypervisor, hypervisorSectionName } from "./hypervisor-section.js";
export { type LoadOptions, loadConfig } from "./load.js";
export { parseConfig } from "./parse.js";
export { type SandboxSize, sandboxSizing } from "./sizing.js";
export type * from "./types.js";
