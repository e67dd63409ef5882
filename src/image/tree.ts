// An in-memory description of a guest filesystem (paths → directories, files, symlinks, device nodes), built once
// and then written out as a cpio archive or a staging directory for mkfs.ext4. Keeping the layout as data is what
// makes the output independent of the host: modes are normalised, owners are root, times are fixed.
import { chmodSync, copyFileSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { invalidArgument } from "../common/errors.js";

export type TreeNode =
  | { kind: "dir"; mode: number }
  | { kind: "file"; mode: number; source: string }
  | { kind: "data"; mode: number; data: Uint8Array }
  | { kind: "symlink"; target: string }
  | { kind: "chardev"; mode: number; major: number; minor: number };

export interface TreeEntry {
  /** Absolute guest path without the leading slash ("" is the root itself, never listed). */
  path: string;
  node: TreeNode;
}

function clean(path: string): string {
  const p = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p.length === 0 || p.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw invalidArgument(`invalid guest path ${JSON.stringify(path)}`);
  }
  return p;
}

/** The mode a copied host file gets in the guest: executable or not, nothing else from the host. */
export function normalisedMode(source: string): number {
  return statSync(source).mode & 0o111 ? 0o755 : 0o644;
}

export class FsTree {
  readonly #nodes = new Map<string, TreeNode>();

  dir(path: string, mode = 0o755): this {
    const p = clean(path);
    const existing = this.#nodes.get(p);
    if (existing && existing.kind !== "dir") throw invalidArgument(`guest path /${p} is already a ${existing.kind}`);
    this.#parents(p);
    this.#nodes.set(p, { kind: "dir", mode });
    return this;
  }

  /** Copies a host file (its content at write time); a later entry for the same path replaces an earlier one. */
  file(path: string, source: string, mode = normalisedMode(source)): this {
    return this.#leaf(path, { kind: "file", mode, source });
  }

  data(path: string, data: string | Uint8Array, mode = 0o644): this {
    return this.#leaf(path, { kind: "data", mode, data: typeof data === "string" ? Buffer.from(data) : data });
  }

  symlink(path: string, target: string): this {
    return this.#leaf(path, { kind: "symlink", target });
  }

  chardev(path: string, major: number, minor: number, mode = 0o600): this {
    return this.#leaf(path, { kind: "chardev", mode, major, minor });
  }

  has(path: string): boolean {
    return this.#nodes.has(clean(path));
  }

  /** Entries sorted by path, so parents come before children and the order never depends on insertion. */
  entries(): TreeEntry[] {
    return [...this.#nodes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, node]) => ({ path, node }));
  }

  /** Total bytes of file content (for sizing the ext4 image). */
  contentBytes(): number {
    let n = 0;
    for (const node of this.#nodes.values()) {
      if (node.kind === "file") n += statSync(node.source).size;
      else if (node.kind === "data") n += node.data.length;
    }
    return n;
  }

  #leaf(path: string, node: TreeNode): this {
    const p = clean(path);
    const existing = this.#nodes.get(p);
    if (existing?.kind === "dir") throw invalidArgument(`guest path /${p} is a directory`);
    this.#parents(p);
    this.#nodes.set(p, node);
    return this;
  }

  #parents(p: string): void {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const existing = this.#nodes.get(parent);
      if (!existing) this.#nodes.set(parent, { kind: "dir", mode: 0o755 });
      else if (existing.kind !== "dir")
        throw invalidArgument(`guest path /${parent} is a ${existing.kind}, not a directory`);
    }
  }
}

/**
 * Writes the tree under `dir` (an empty directory) with the tree's modes. Owners and times are fixed afterwards in
 * the ext4 image itself (see ext4.ts), so this works without root. Device nodes are not supported here.
 */
export function writeTree(tree: FsTree, dir: string): void {
  for (const { path, node } of tree.entries()) {
    const target = join(dir, path);
    switch (node.kind) {
      case "dir":
        mkdirSync(target, { recursive: true });
        chmodSync(target, node.mode);
        break;
      case "file":
        copyFileSync(node.source, target);
        chmodSync(target, node.mode);
        break;
      case "data":
        writeFileSync(target, node.data);
        chmodSync(target, node.mode);
        break;
      case "symlink":
        symlinkSync(node.target, target);
        break;
      case "chardev":
        throw invalidArgument(`device node /${path} cannot be staged in a directory; devtmpfs provides /dev`);
    }
  }
}
