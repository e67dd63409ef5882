// mountinfo parsing: which lines count as under a prefix, and how escaped characters come back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mountPointsIn } from "./host-mounts.js";

const mountinfo = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "30 22 0:26 / /run/hako rw shared:2 - tmpfs tmpfs rw",
  "31 30 0:27 / /run/hako/shared/sb1 rw shared:3 - tmpfs tmpfs rw",
  "32 31 8:1 /data /run/hako/shared/sb1/my\\040dir rw shared:1 - ext4 /dev/sda1 rw",
  "33 30 0:28 / /run/hako-other rw - tmpfs tmpfs rw",
  "",
].join("\n");

describe("mountPointsIn", () => {
  test("keeps the prefix itself and what lies below it, in mount order, with \\040 decoded", () => {
    assert.deepEqual(mountPointsIn(mountinfo, "/run/hako"), [
      "/run/hako",
      "/run/hako/shared/sb1",
      "/run/hako/shared/sb1/my dir",
    ]);
  });

  test("a sibling whose name merely starts like the prefix is not below it", () => {
    assert.deepEqual(mountPointsIn(mountinfo, "/run/hako/shared/sb"), []);
  });
});
