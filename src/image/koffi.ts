// Stages koffi (the FFI addon the agent uses for syscalls Node lacks) for the guest: its package.json, the JS files
// its entry points import, and only the linux x64 native binary, at a path koffi's own loader searches.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { GUEST_KOFFI_ADDON } from "../sys/libc.js";
import { run } from "./exec.js";
import type { FsTree } from "./tree.js";

/** Where the agent bundle lives in the guest; `import "koffi"` resolves from node_modules beside it. */
export const GUEST_LIB_DIR = "usr/lib/hako";

const NATIVE_CANDIDATES = ["@koromix/koffi-linux-x64/linux_x64/koffi.node", "koffi/build/koffi/linux_x64/koffi.node"];
/**
 * The native addon within koffi's package: where the agent opens it directly (sys/libc.ts GUEST_KOFFI_ADDON), which
 * is also where koffi's own fallback loader looks.
 */
const NATIVE_GUEST_PATH = relative(`/${GUEST_LIB_DIR}/node_modules/koffi`, GUEST_KOFFI_ADDON);

export interface KoffiStage {
  version: string;
  files: number;
  /** The host file of the native addon (its shared libraries must be in the guest too). */
  native: string;
}

/** Relative specifiers (`./x.js`, `../y.cjs`) a JS file imports or requires. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
    if (m[1]) out.push(m[1]);
  }
  return out;
}

function exportTargets(pkg: Record<string, unknown>): string[] {
  const targets: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") targets.push(v);
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  const exp = pkg.exports;
  walk(exp && typeof exp === "object" && "." in exp ? (exp as Record<string, unknown>)["."] : exp);
  if (typeof pkg.main === "string") targets.push(pkg.main);
  if (typeof pkg.module === "string") targets.push(pkg.module);
  return targets.filter((t) => /\.(c|m)?js$/.test(t));
}

/** Adds koffi under `<GUEST_LIB_DIR>/node_modules/koffi/`, taken from `nodeModules` (the project's node_modules). */
export function stageKoffi(tree: FsTree, nodeModules: string): KoffiStage {
  const root = join(nodeModules, "koffi");
  const pkgPath = join(root, "package.json");
  if (!existsSync(pkgPath)) {
    throw new HakoError(Code.FailedPrecondition, `koffi is not installed at ${root} (run npm ci)`);
  }
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as Record<string, unknown>;
  const guestRoot = `${GUEST_LIB_DIR}/node_modules/koffi`;
  tree.file(`${guestRoot}/package.json`, pkgPath, 0o644);
  const seen = new Set<string>();
  const queue = exportTargets(pkg).map((t) => normalize(join(root, t)));
  while (queue.length > 0) {
    const file = queue.shift();
    if (!file || seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const rel = relative(root, file);
    if (rel.startsWith("..")) continue;
    tree.file(`${guestRoot}/${rel}`, file, 0o644);
    for (const spec of relativeImports(readFileSync(file, "utf8"))) queue.push(normalize(join(dirname(file), spec)));
  }
  const native = NATIVE_CANDIDATES.map((c) => join(nodeModules, c)).find((p) => existsSync(p));
  if (!native) throw new HakoError(Code.FailedPrecondition, `koffi's linux x64 binary is missing under ${nodeModules}`);
  tree.file(`${guestRoot}/${NATIVE_GUEST_PATH}`, native, 0o644);
  return { version: String(pkg.version ?? "unknown"), files: seen.size + 2, native };
}

/**
 * Proves the staged copy loads: the host's node imports "koffi" from the staged library directory (which must not
 * sit below another node_modules) and calls into the native addon, and the addon opened directly, as the agent
 * opens it, is the same koffi.
 */
export async function verifyKoffi(node: string, stagedLibDir: string): Promise<void> {
  const addon = `./node_modules/koffi/${NATIVE_GUEST_PATH}`;
  const probe = [
    'const k = (await import("koffi")).default; const p = k.type("int"); if (k.sizeof(p) !== 4) process.exit(3);',
    `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addon)});`,
    'if (m.exports.version !== k.version || m.exports.sizeof(m.exports.type("int")) !== 4) process.exit(4);',
    "process.stdout.write(k.version);",
  ].join(" ");
  try {
    await run(node, ["--input-type=module", "-e", probe], { cwd: stagedLibDir, code: Code.FailedPrecondition });
  } catch (err) {
    throw new HakoError(Code.FailedPrecondition, `the staged koffi copy in ${stagedLibDir} does not load`, {
      cause: err,
    });
  }
}
