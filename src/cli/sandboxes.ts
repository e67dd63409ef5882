// The sandboxes on this host, as the runtime persisted them (/run/hako/<id>/sandbox.json): what `hako ps`, `logs`,
// `exec` and `monitor` read. Read-only: the owning shim is the only writer.
import { readdir } from "node:fs/promises";
import { Code, HakoError, notFound } from "../common/errors.js";
import { isAlive } from "../runtime/cleanup.js";
import { runDir, sandboxPaths } from "../runtime/layout.js";
import { readSandboxState, type SandboxStateV1 } from "../runtime/sandbox-state.js";

export interface SandboxEntry {
  state: SandboxStateV1;
  /** The owning shim is gone: the sandbox is stale until `containerd-shim-hako-v2 delete` or a restart cleans it. */
  stale: boolean;
}

export async function listSandboxes(root = runDir()): Promise<SandboxEntry[]> {
  const out: SandboxEntry[] = [];
  for (const name of (await readdir(root).catch(() => [] as string[])).sort()) {
    if (name === "shared" || name === "s") continue;
    const state = await readSandboxState(sandboxPaths(name, root).stateFile).catch(() => undefined);
    if (state) out.push({ state, stale: !isAlive(state.ownerPid) });
  }
  return out;
}

/** A sandbox by id or unique id prefix (ids are long hex strings under Kubernetes). */
export async function findSandbox(idOrPrefix: string, root = runDir()): Promise<SandboxEntry> {
  const all = await listSandboxes(root);
  const exact = all.find((s) => s.state.id === idOrPrefix);
  if (exact) return exact;
  const matches = all.filter((s) => s.state.id.startsWith(idOrPrefix));
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 1) {
    throw new HakoError(
      Code.InvalidArgument,
      `sandbox prefix ${idOrPrefix} is ambiguous: ${matches.map((m) => m.state.id).join(", ")}`,
    );
  }
  throw notFound(`no sandbox ${idOrPrefix} under ${root} (see \`hako ps\`)`);
}
