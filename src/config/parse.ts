// Parses a configuration file's text into a HakoConfig, strictly: an unknown section or key, a value of the wrong
// type, or a bad combination is an InvalidArgument error naming the key and the file. Pure: no file access.
import { isAbsolute, normalize } from "node:path";
import { closest, distance } from "fastest-levenshtein";
import { parse as parseToml, TomlError } from "smol-toml";
import { Code, HakoError } from "../common/errors.js";
import { defaultConfig } from "./defaults.js";
import { activeHypervisor, hypervisorSectionName } from "./hypervisor-section.js";
import { type KeySpec, sections } from "./keys.js";
import type { HakoConfig } from "./types.js";
import { checkTomlValue, type Value } from "./values.js";

const invalid = (message: string, source: string, key?: string) =>
  new HakoError(Code.InvalidArgument, message, {
    fields: key === undefined ? { path: source } : { path: source, key },
  });

const isTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Applies one checked value through its key's setter, turning a setter's complaint into a keyed error. */
export function applyValue(config: HakoConfig, spec: KeySpec, value: Value, where: string, source: string): void {
  if (!spec.set) return;
  try {
    (spec.set as (c: HakoConfig, v: Value) => void)(config, value);
  } catch (err) {
    throw invalid(`${where} in ${source}: ${(err as Error).message}`, source, where);
  }
}

/** A key hako accepts but does not act on: no setter, or a stored value nothing reads yet. */
export const isIgnored = (spec: KeySpec): boolean => !spec.set || spec.notActedOn === true;

export function parseConfig(text: string, source: string): HakoConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const at = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
    throw new HakoError(Code.InvalidArgument, `config ${source} is not valid TOML${at}: ${firstLine(err)}`, {
      cause: err,
      fields: { path: source },
    });
  }
  const config = defaultConfig();
  config.source = source;
  const seen = new Set<string>();

  for (const [top, topValue] of Object.entries(doc)) {
    if (!isTable(topValue)) throw invalid(`unknown key "${top}" in ${source}: expected a section`, source, top);
    // [hypervisor.qemu] and [agent.kata] are nested tables; [runtime], [factory], [image] are flat.
    const nested = top === "hypervisor" || top === "agent";
    const tables: [string, unknown][] = nested
      ? Object.entries(topValue).map(([k, v]) => [`${top}.${k}`, v])
      : [[top, topValue]];
    for (const [name, table] of tables) {
      const keys = sections[name];
      if (!keys) throw invalid(unknownSection(name, source), source, name);
      if (!isTable(table)) throw invalid(`"${name}" in ${source} must be a section`, source, name);
      for (const [key, value] of Object.entries(table)) {
        const where = `${name}.${key}`;
        const spec = keys[key];
        if (!spec)
          throw invalid(`unknown key "${where}" in ${source}${didYouMean(key, Object.keys(keys))}`, source, where);
        const checked = checkTomlValue(spec, value);
        if (!checked.ok) {
          throw invalid(`bad value for "${where}" in ${source}: expected ${checked.expected}`, source, where);
        }
        seen.add(where);
        applyValue(config, spec, checked.value, where, source);
        if (isIgnored(spec)) config.ignoredKeys.push(where);
      }
    }
  }
  // A Kata file that names an initrd but no image boots from the initrd alone.
  if (
    seen.has("hypervisor.qemu.initrd") &&
    !seen.has("hypervisor.qemu.image") &&
    !seen.has("hypervisor.qemu.rootfs_mode")
  ) {
    config.hypervisor.qemu.rootfsMode = "initrd";
  }
  validate(config, source);
  return config;
}

/**
 * `; did you mean "k"?` for the section's key closest to a misspelled one (Levenshtein distance at most 2, or a
 * third of its length for long keys: `default_vcpu` → `default_vcpus`), else "".
 */
export function didYouMean(key: string, known: readonly string[]): string {
  if (known.length === 0) return "";
  const best = closest(key, [...known]);
  return distance(key, best) <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${best}"?` : "";
}

function unknownSection(name: string, source: string): string {
  if (name.startsWith("hypervisor.")) {
    return `unknown section [${name}] in ${source}: hako drives QEMU only, use [hypervisor.qemu]`;
  }
  if (name.startsWith("agent.")) return `unknown section [${name}] in ${source}: use [agent.kata]`;
  return `unknown section [${name}] in ${source}${didYouMean(name, Object.keys(sections)).replace(/"(.*)"/, "[$1]")}`;
}

/** Rules that involve more than one key. */
export function validate(config: HakoConfig, source: string): void {
  const h = activeHypervisor(config);
  const section = hypervisorSectionName(config);
  if (h.defaultMaxVcpus > 0 && h.defaultVcpus > h.defaultMaxVcpus) {
    throw invalid(
      `${section}.default_vcpus (${h.defaultVcpus}) exceeds default_maxvcpus (${h.defaultMaxVcpus}) in ${source}`,
      source,
      `${section}.default_vcpus`,
    );
  }
  if (h.defaultMaxMemoryMiB > 0 && h.defaultMemoryMiB > h.defaultMaxMemoryMiB) {
    throw invalid(
      `${section}.default_memory (${h.defaultMemoryMiB}) exceeds default_maxmemory (${h.defaultMaxMemoryMiB}) in ${source}`,
      source,
      `${section}.default_memory`,
    );
  }
  if (h.defaultMemoryMiB < 64) {
    throw invalid(
      `${section}.default_memory in ${source} must be at least 64 MiB`,
      source,
      `${section}.default_memory`,
    );
  }
  const paths = {
    path: h.path,
    kernel: h.kernel,
    image: h.image,
    initrd: h.initrd,
    virtio_fs_daemon: h.virtioFsDaemon,
  };
  for (const [key, value] of Object.entries(paths)) {
    if (value !== "" && !value.startsWith("/")) {
      throw invalid(`${section}.${key} in ${source} must be an absolute path, got "${value}"`, source, key);
    }
  }
  if (h.rootfsMode === "pmem" && h.image === "") {
    throw invalid(`${section}.image is empty in ${source}: pmem root needs an image`, source, `${section}.image`);
  }
  if (h.initrd === "") {
    throw invalid(`${section}.initrd is empty in ${source}`, source, `${section}.initrd`);
  }
  validateTemplatePath(config.factory.templatePath, source);
  if (config.runtime.disableNewNetns && config.runtime.internetworkingModel !== "none") {
    throw invalid(
      `runtime.disable_new_netns needs runtime.internetworking_model = "none" in ${source}`,
      source,
      "runtime.disable_new_netns",
    );
  }
}

/**
 * `[factory] template_path`: hako creates, lists and removes directories below it, so it must be an absolute path
 * (the CLI and the shim run in different directories) outside /proc and /sys (Node's recursive mkdir spins there).
 */
function validateTemplatePath(path: string, source: string): void {
  const key = "factory.template_path";
  const bad = (why: string) => invalid(`${key} in ${source} ${why}, got "${path}"`, source, key);
  if (path.trim() === "") throw bad("must not be empty");
  if (!isAbsolute(path)) throw bad("must be an absolute path");
  const n = normalize(path);
  for (const pseudo of ["/proc", "/sys"]) {
    if (n === pseudo || n.startsWith(`${pseudo}/`)) throw bad(`must not be under ${pseudo} (a kernel filesystem)`);
  }
  if (n === "/") throw bad("must not be / (destroy and status work on its entries)");
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0] ?? message;
}
