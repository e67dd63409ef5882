// newc ("070701") cpio encoder for the initrds: entries in the tree's sorted order, inode numbers counted from 1,
// owner root, one fixed mtime. Written here rather than by the cpio tool so that nothing of the host leaks in.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import type { FsTree, TreeNode } from "./tree.js";

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

function header(h: Header): Buffer {
  const name = Buffer.from(`${h.name}\0`);
  const fields = [
    "070701",
    hex8(h.ino),
    hex8(h.mode),
    hex8(0), // uid
    hex8(0), // gid
    hex8(h.nlink),
    hex8(h.mtime),
    hex8(h.size),
    hex8(0), // devmajor
    hex8(0), // devminor
    hex8(h.rdevMajor),
    hex8(h.rdevMinor),
    hex8(name.length),
    hex8(0), // check
  ].join("");
  const head = Buffer.from(fields, "ascii");
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]);
}

function content(node: TreeNode): Uint8Array {
  switch (node.kind) {
    case "file":
      return readFileSync(node.source);
    case "data":
      return node.data;
    case "symlink":
      return Buffer.from(node.target);
    default:
      return new Uint8Array(0);
  }
}

function typeBits(node: TreeNode): number {
  switch (node.kind) {
    case "dir":
      return S_IFDIR | node.mode;
    case "file":
    case "data":
      return S_IFREG | node.mode;
    case "symlink":
      return S_IFLNK | 0o777;
    case "chardev":
      return S_IFCHR | node.mode;
  }
}

/** Writes `tree` as an uncompressed newc archive to `path`; returns the number of bytes written. */
export function writeCpio(tree: FsTree, path: string, mtime: number): number {
  const fd = openSync(path, "w", 0o644);
  let written = 0;
  const put = (b: Uint8Array) => {
    writeSync(fd, b);
    written += b.length;
  };
  try {
    let ino = 1;
    for (const { path: name, node } of tree.entries()) {
      const data = content(node);
      put(
        header({
          ino: ino++,
          mode: typeBits(node),
          nlink: node.kind === "dir" ? 2 : 1,
          mtime,
          size: data.length,
          rdevMajor: node.kind === "chardev" ? node.major : 0,
          rdevMinor: node.kind === "chardev" ? node.minor : 0,
          name,
        }),
      );
      put(data);
      put(Buffer.alloc(pad4(data.length)));
    }
    put(header({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0, name: "TRAILER!!!" }));
    // The kernel reads the archive in 512-byte units like the cpio tool writes them.
    put(Buffer.alloc((512 - (written % 512)) % 512));
  } finally {
    closeSync(fd);
  }
  return written;
}
