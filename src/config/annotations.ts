// Pod annotations that override configuration, as Kata defines them: `io.katacontainers.config.hypervisor.<key>`,
// `…agent.<key>`, `…runtime.<key>` with Kata's key names. An override is honoured only when `<key>` matches one of
// hypervisor.qemu.enable_annotations (regular expressions, matched anywhere in the key as Kata does); a path must
// also match the key's valid_*_paths globs. Anything else fails the sandbox creation with a clear error.
import { normalize } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { matchesAnyGlob } from "./glob.js";
import { activeHypervisor, hypervisorSectionName } from "./hypervisor-section.js";
import { type KeySpec, sections } from "./keys.js";
import { applyValue, isIgnored, validate } from "./parse.js";
import type { CommonHypervisorConfig, HakoConfig } from "./types.js";
import { checkAnnotationValue } from "./values.js";

export const annotationPrefix = "io.katacontainers.config.";
/** The key table an annotation group maps to; `hypervisor` means the section of the hypervisor that runs. */
const sectionOf = (group: string, config: HakoConfig): string | undefined =>
  group === "hypervisor"
    ? hypervisorSectionName(config)
    : group === "agent"
      ? "agent.kata"
      : group === "runtime"
        ? "runtime"
        : undefined;

/** Keys an annotation may never change: they are the policy that bounds annotations. */
const neverOverridable = new Set([
  "enable_annotations",
  "valid_hypervisor_paths",
  "valid_virtio_fs_daemon_paths",
  "valid_kernel_paths",
  "valid_image_paths",
  "valid_initrd_paths",
  "valid_jailer_paths",
  "valid_ctlpaths",
  "valid_vhost_user_store_paths",
  "valid_file_mem_backends",
  "valid_entropy_sources",
]);

/** Path-valued keys and the glob list that bounds each. */
const pathPolicy: Record<string, keyof CommonHypervisorConfig> = {
  path: "validHypervisorPaths",
  virtio_fs_daemon: "validVirtioFsDaemonPaths",
  kernel: "validKernelPaths",
  image: "validImagePaths",
  initrd: "validInitrdPaths",
};

const invalid = (message: string, annotation: string) =>
  new HakoError(Code.InvalidArgument, message, { fields: { annotation } });

/** Returns a new config with the annotations applied; the input is not changed. */
export function applyAnnotations(config: HakoConfig, annotations: Record<string, string> | undefined): HakoConfig {
  const out = structuredClone(config);
  if (!annotations) return out;
  const allowed = activeHypervisor(config).enableAnnotations.map((re) => new RegExp(re));
  const names = Object.keys(annotations)
    .filter((n) => n.startsWith(annotationPrefix))
    .sort();
  for (const name of names) {
    const value = annotations[name] as string;
    const rest = name.slice(annotationPrefix.length);
    const dot = rest.indexOf(".");
    const group = dot < 0 ? rest : rest.slice(0, dot);
    const key = dot < 0 ? "" : rest.slice(dot + 1);
    const section = sectionOf(group, config);
    const spec: KeySpec | undefined = section ? sections[section]?.[key] : undefined;
    if (!section || !spec || key === "") throw invalid(`unknown annotation ${name}`, name);
    if (neverOverridable.has(key))
      throw invalid(`annotation ${name} is not allowed: ${key} can only be set in the config file`, name);
    if (!allowed.some((re) => re.test(key))) {
      throw invalid(
        `annotation ${name} is not enabled: add a pattern matching "${key}" to ${hypervisorSectionName(config)}.enable_annotations in ${config.source ?? "the configuration"}`,
        name,
      );
    }
    const checked = checkAnnotationValue(spec, value, key === "kernel_modules");
    if (!checked.ok) throw invalid(`bad value for annotation ${name}: expected ${checked.expected}`, name);
    const policy = group === "hypervisor" ? pathPolicy[key] : undefined;
    if (policy !== undefined) {
      const globs = activeHypervisor(config)[policy] as string[];
      // A path with `..` or `//` could escape a glob like /var/lib/hako/*: only normalized absolute paths count.
      if (normalize(value) !== value || !matchesAnyGlob(globs, value)) {
        throw invalid(`annotation ${name}: path ${value} does not match any of ${JSON.stringify(globs)}`, name);
      }
    }
    applyValue(out, spec, checked.value, `${section}.${key}`, `annotation ${name}`);
    if (isIgnored(spec)) out.ignoredKeys.push(`annotation:${name}`);
  }
  validate(out, "annotations");
  return out;
}
