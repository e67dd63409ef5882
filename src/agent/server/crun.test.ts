// The crun driver's reading of crun's JSON log.
import assert from "node:assert/strict";
import { test } from "node:test";
import { lastCrunMessage } from "./crun.js";

test("the last message of crun's JSON log is the error", () => {
  const log = [
    '{"msg": "starting", "level": "debug", "time": "x"}',
    '{"msg": "open `/run/x/rootfs`: No such file or directory", "level": "error", "time": "x"}',
    "",
  ].join("\n");
  assert.equal(lastCrunMessage(log), "open `/run/x/rootfs`: No such file or directory");
  assert.equal(lastCrunMessage(""), undefined);
  assert.equal(lastCrunMessage("plain text failure\n"), "plain text failure");
});
