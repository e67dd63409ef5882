// The sandboxes on this host, as the runtime persisted them (/run/hako/<id>/sandbox.json): what `hako ps`, `logs`,
// `exec` and `monitor` read. Read-only: the owning shim is the only writer.
import { Code, HakoError, notFound } from "../common/errors.js";
import { isAlive } from "../runtime/cleanup.js";
import { runDir } from "../runtime/layout.js";
import { type SandboxStateV1, scanSandboxStates } from "../runtime/sandbox-state.js";

export interface SandboxEntry {
  state: SandboxStateV1;
  /** The owning shim is gone: the sandbox is stale until `containerd-shim-hako-v2 delete` or a restart cleans it. */
  stale: boolean;
}

/** A sandbox directory whose state file cannot be read (torn, unknown version): listed, never skipped silently. */
export interface UnreadableSandbox {
  id: string;
  err: HakoError;
}

/** The sandboxes whose state reads, and those whose state does not, by id. */
export async function scanSandboxes(
  root = runDir(),
): Promise<{ sandboxes: SandboxEntry[]; unreadable: UnreadableSandbox[] }> {
  const sandboxes: SandboxEntry[] = [];
  const unreadable: UnreadableSandbox[] = [];
  for (const found of await scanSandboxStates(root)) {
    if ("unreadable" in found) unreadable.push({ id: found.id, err: found.unreadable });
    else sandboxes.push({ state: found.state, stale: !isAlive(found.state.ownerPid) });
  }
  return { sandboxes, unreadable };
}

export async function listSandboxes(root = runDir()): Promise<SandboxEntry[]> {
  return (await scanSandboxes(root)).sandboxes;
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
