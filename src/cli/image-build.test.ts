// Unit spec for `hako image build`'s help: --initrd-only adds a boot variant, it does not build the initrd alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { imageBuildCommand } from "./image-build.js";

test("--initrd-only's help says it adds hako-initrd-full.img and still builds the usual assets", () => {
  const help = imageBuildCommand().options.find((o) => o.long === "--initrd-only")?.description ?? "";
  assert.match(help, /initrd-only boot variant as well: hako-initrd-full\.img/);
  assert.match(help, /the kernel, initrd and root image are still built/);
});
