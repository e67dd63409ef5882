// A pod's port forwarding from start to teardown. Without root: a netns that is not there gives a pod without port
// forwarding (a warning, nothing left). As root, in a network namespace this test makes: a client in the netns
// dialing localhost:<port>, as containerd does, reaches the fake agent's "guest" (a server on this host's
// loopback) through the real listener, iptables REDIRECT and SO_ORIGINAL_DST; stop leaves no rule, listener or
// record; the clean-up after a dead owner and a restore remove the old rule from the record.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FakeAgent } from "../agent/client/fake-agent.js";
import { createLogger, memorySink } from "../common/log.js";
import {
  type PodPortForward,
  removePortForward,
  restorePodPortForward,
  startPodPortForward,
} from "./pod-port-forward.js";
import { hasRule } from "./redirect-rule.js";

const root = process.getuid?.() === 0;
const ns = `hako-pf-${process.pid}`;
const netns = `/var/run/netns/${ns}`;

function natRules(): string {
  return execFileSync("nsenter", [`--net=${netns}`, "iptables", "-w", "-t", "nat", "-S", "OUTPUT"]).toString();
}

/** TCP listeners in the netns (ss -ltn, header dropped). */
function listeners(): string[] {
  const out = execFileSync("nsenter", [`--net=${netns}`, "ss", "-Hltn"]).toString();
  return out.split("\n").filter((l) => l.trim() !== "");
}

/** What a client in the netns gets from localhost:port after sending `input` and half closing (socat, as a peer). */
function dialInNetns(port: number, input: string): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(
      "nsenter",
      [`--net=${netns}`, "socat", "-t", "10", "-", `TCP4:localhost:${port}`],
      { timeout: 20_000 },
      (err, stdout) => resolve({ out: stdout, code: err ? Number(err.code ?? 1) : 0 }),
    );
    child.stdin?.end(input);
  });
}

describe("pod port forwarding", () => {
  let dir = "";
  let guest: Server;
  let guestPort = 0;
  const sink = memorySink();
  const log = createLogger({ level: "debug", sink });
  const agent = new FakeAgent();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hako-pf-"));
    guest = createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => s.end(`guest got: ${Buffer.concat(chunks).toString()}`));
    });
    guest.listen(0, "127.0.0.1");
    await once(guest, "listening");
    const a = guest.address();
    guestPort = typeof a === "object" && a ? a.port : 0;
    if (root) {
      execFileSync("ip", ["netns", "add", ns]);
      execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
  });

  after(() => {
    guest.close();
    agent.close();
    if (root) execFileSync("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the pod without port forwarding when the netns is not there, leaving nothing", async () => {
    const recordPath = join(dir, "none.json");
    const pf = await startPodPortForward({ netns: "/var/run/netns/hako-pf-absent", guest: agent, recordPath }, log);
    assert.equal(pf, undefined);
    assert.equal(existsSync(recordPath), false);
    assert.ok(sink.entries().some((e) => e.level === "warning" && /not available/.test(String(e.msg))));
  });

  it("forwards localhost:<port> in the netns to the guest port, and stop leaves nothing", {
    skip: !root && "needs root",
  }, async () => {
    const recordPath = join(dir, "pod.json");
    const pf = (await startPodPortForward({ netns, guest: agent, recordPath }, log)) as PodPortForward;
    assert.ok(pf, "port forwarding started");
    assert.ok(hasRule(natRules(), pf.port), natRules());
    assert.ok(existsSync(recordPath));
    assert.ok(!sink.entries().some((e) => /lo is down/.test(String(e.msg))), "lo is up here");
    const r = await dialInNetns(guestPort, "through the netns");
    assert.deepEqual(r, { out: "guest got: through the netns", code: 0 });
    assert.equal(agent.ports.size, 0, "the guest connection is closed once both sides ended");
    await pf.stop();
    await pf.stop();
    assert.equal(hasRule(natRules(), pf.port), false, "rule removed");
    assert.doesNotMatch(natRules(), /hako port-forward/);
    assert.deepEqual(listeners(), [], "no listener left in the netns");
    assert.equal(existsSync(recordPath), false, "record removed");
  });

  it("says so when lo is down in the pod netns (every forward would be refused)", {
    skip: !root && "needs root",
  }, async () => {
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "down"]);
    try {
      const pf = (await startPodPortForward(
        { netns, guest: agent, recordPath: join(dir, "lo.json") },
        log,
      )) as PodPortForward;
      assert.ok(pf, "port forwarding still starts: lo may come up later");
      assert.ok(sink.entries().some((e) => e.level === "warning" && /lo is down in the pod netns/.test(String(e.msg))));
      await pf.stop();
    } finally {
      execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
  });

  it("after a dead owner: clean-up removes its rule; a restore replaces it with a new listener", {
    skip: !root && "needs root",
  }, async () => {
    const recordPath = join(dir, "stale.json");
    const old = (await startPodPortForward({ netns, guest: agent, recordPath }, log)) as PodPortForward;
    // The owner "dies": its listener goes, its rule and record stay.
    const oldRule = natRules();
    const restored = await restorePodPortForward({ guest: agent, recordPath }, log);
    assert.ok(restored && restored.port !== old.port);
    assert.equal(hasRule(natRules(), old.port), false, `old rule gone: ${oldRule}`);
    assert.ok(hasRule(natRules(), restored.port));
    assert.deepEqual(await dialInNetns(guestPort, "again"), { out: "guest got: again", code: 0 });
    // Now this owner dies too, and the clean-up of its sandbox runs from the record alone.
    await removePortForward(recordPath, log);
    assert.doesNotMatch(natRules(), /hako port-forward/);
    assert.equal(existsSync(recordPath), false);
    await removePortForward(recordPath, log); // no record: nothing to do
    await restored.stop();
    await old.stop();
    assert.deepEqual(listeners(), []);
  });
});
