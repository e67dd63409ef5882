import assert from "node:assert/strict";
import { test } from "node:test";
import { tcgCacheKiBOf } from "./proc-memory.js";

const mapping = (head: string, pssKiB: number) =>
  `${head}\nSize:               4096 kB\nPss:    ${pssKiB} kB\nRss:  1 kB\n`;

test("TCG's translation cache is the PSS of QEMU's anonymous rwx mappings, nothing else", () => {
  const smaps = [
    mapping("7f3a4c000000-7f3a4c3ff000 rwxp 00000000 00:00 0 ", 4096),
    mapping("7f3a4c400000-7f3a4c7ff000 rwxp 00000000 00:00 0", 1000),
    mapping(
      "7f39cbfff000-7f3a4bfff000 rw-s 00000000 00:01 4804                       /memfd:memory-backend-memfd (deleted)",
      70000,
    ),
    mapping(
      "55fea01a4000-55fea073b000 r-xp 00407000 fe:00 2170955                    /usr/bin/qemu-system-x86_64",
      5000,
    ),
    mapping("7f39b4000000-7f39b504e000 rw-p 00000000 00:00 0 ", 9000),
    mapping("7f0000000000-7f0000001000 rwxp 00000000 fe:00 42                         /some/file", 4),
  ].join("");
  assert.equal(tcgCacheKiBOf(smaps), 5096);
  assert.equal(tcgCacheKiBOf(""), 0);
});
