// Unit specs for the debug console's sessions, with the host's /bin/sh standing in for the guest's and an in-memory
// connection standing in for the virtio-serial port: output comes back unechoed, a shell that exits is replaced,
// and a host that leaves takes the shell and what it runs with it.
import assert from "node:assert/strict";
import { Duplex, PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, memorySink } from "../../common/log.js";
import type { AgentChannel } from "./channel.js";
import { consoleSession, serveDebugConsole } from "./debug-console.js";
import { processExists } from "./reaper.js";

const log = createLogger({ level: "error", sink: memorySink() });

/** The host's end of one connection: what it sends, and everything the console answered so far. */
function connection() {
  const toGuest = new PassThrough();
  const fromGuest = new PassThrough();
  const guestSide = Duplex.from({ readable: toGuest, writable: fromGuest });
  let output = "";
  fromGuest.on("data", (b: Buffer) => {
    output += b.toString();
  });
  return {
    guestSide,
    send: (text: string) => toGuest.write(text),
    leave: () => toGuest.end(),
    output: () => output,
    async waitFor(re: RegExp, ms = 5000): Promise<RegExpExecArray> {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(output);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(output)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

describe("consoleSession", () => {
  it("runs what the host sends in / with a dumb terminal, and answers without echo", async () => {
    const c = connection();
    const done = consoleSession(c.guestSide, { log });
    c.send('pwd; echo "term=$TERM"\n');
    await c.waitFor(/term=dumb\n/);
    assert.equal(c.output(), "/\nterm=dumb\n");
    c.send("echo to-stderr >&2\n");
    await c.waitFor(/to-stderr\n/);
    assert.equal(c.output(), "/\nterm=dumb\nto-stderr\n");
    c.leave();
    await done;
  });

  it("replaces a shell that exits while the host stays", async () => {
    const c = connection();
    const noted: number[] = [];
    const reaper = { noteSpawned: (p?: number) => p && noted.push(p), noteExited: () => {} };
    const done = consoleSession(c.guestSide, { log, reaper });
    c.send("echo first $$\n");
    const first = Number((await c.waitFor(/first (\d+)\n/))[1]);
    c.send("exit 3\n");
    // The replacement may be spawned only after its predecessor is seen gone; the input waits for it.
    await new Promise((r) => setTimeout(r, 200));
    c.send("echo second $$\n");
    const second = Number((await c.waitFor(/second (\d+)\n/))[1]);
    assert.notEqual(first, second);
    assert.deepEqual(noted, [first, second]);
    c.leave();
    await done;
  });

  it("kills the shell and the commands it runs when the host leaves", async () => {
    const c = connection();
    const done = consoleSession(c.guestSide, { log });
    c.send("echo pids $$; sleep 300 & echo bg $!; sleep 300\n");
    const shellPid = Number((await c.waitFor(/pids (\d+)\n/))[1]);
    const bgPid = Number((await c.waitFor(/bg (\d+)\n/))[1]);
    assert.ok(processExists(shellPid) && processExists(bgPid));
    c.leave();
    await done;
    const deadline = Date.now() + 3000;
    while ((processExists(shellPid) || processExists(bgPid)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(!processExists(shellPid), "the shell is gone");
    assert.ok(!processExists(bgPid), "its background command is gone");
  });

  it("a shell that cannot start is retried, and the session still ends with the host", async () => {
    const c = connection();
    const done = consoleSession(c.guestSide, { log, shell: "/nonexistent/sh" });
    c.send("echo lost\n");
    await new Promise((r) => setTimeout(r, 100));
    c.leave();
    await done;
    assert.equal(c.output(), "");
  });
});

describe("serveDebugConsole", () => {
  it("gives each host connection its own fresh shell", async () => {
    const conns = [connection(), connection()];
    const queue = conns.map((c) => c.guestSide);
    let parked: (() => void) | undefined;
    const channel: AgentChannel = {
      accept: () => {
        const next = queue.shift();
        return next ? Promise.resolve(next) : new Promise(() => (parked = () => {}));
      },
    };
    void serveDebugConsole(channel, { log });
    const [a, b] = conns as [ReturnType<typeof connection>, ReturnType<typeof connection>];
    a.send("x=left-over; echo a $$\n");
    const pidA = Number((await a.waitFor(/a (\d+)\n/))[1]);
    a.leave();
    b.send('echo "b $$ x=$x"\n');
    const m = await b.waitFor(/b (\d+) x=(.*)\n/);
    assert.notEqual(Number(m[1]), pidA);
    assert.equal(m[2], "", "nothing of the first shell's state");
    b.leave();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(parked !== undefined, true, "waits for the next host");
  });
});
