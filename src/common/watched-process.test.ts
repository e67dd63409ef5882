// Unit specs for watching a process by pid (as after a restart, when it is not our child): its death is seen by
// polling, a pid whose command line lacks the mark is never signalled, and a watched child reports its exit.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { processMatches, watchChild, watchPid } from "./watched-process.js";

describe("watched processes", () => {
  it("watchPid sees a process die, and kill() reaches only the marked process", async () => {
    const child = spawn("sleep", ["31"], { stdio: "ignore" });
    const pid = child.pid as number;
    const wrongMark = watchPid(pid, "no-such-mark");
    assert.equal(wrongMark.gone, true, "a pid without the mark counts as gone at once");
    wrongMark.kill("SIGKILL");
    assert.ok(processMatches(pid, "31"), "nothing was sent to a process that is not the one named");
    const watched = watchPid(pid, "31", 10);
    assert.equal(watched.gone, false);
    watched.kill("SIGKILL");
    assert.deepEqual(await watched.exited, { code: null, signal: null });
    assert.equal(watched.gone, true);
  });

  it("watchChild reports the child's exit code", async () => {
    const watched = watchChild(spawn("sh", ["-c", "exit 3"], { stdio: "ignore" }));
    assert.deepEqual(await watched.exited, { code: 3, signal: null });
    assert.equal(watched.gone, true);
  });
});
