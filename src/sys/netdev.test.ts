import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { setLinkUp } from "./netdev.js";

const root = process.getuid?.() === 0;
const ns = `hako-netdev-${process.pid}`;
const inNs = (code: string) =>
  spawnSync("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", "--input-type=module", "-e", code], {
    encoding: "utf8",
  });
const script = (body: string) =>
  `import { linkIsUp, setLinkUp } from ${JSON.stringify(new URL("./netdev.ts", import.meta.url).pathname)};\n${body}`;

describe("setLinkUp (ioctl in a test-made netns)", { skip: !root && "needs root" }, () => {
  before(() => execFileSync("ip", ["netns", "add", ns]));
  after(() => execFileSync("ip", ["netns", "del", ns]));

  it("sets lo up once, then finds it up", () => {
    assert.doesNotMatch(execFileSync("ip", ["-n", ns, "link", "show", "lo"], { encoding: "utf8" }), /[<,]UP[,>]/);
    const r = inNs(script(`console.log(linkIsUp("lo"), setLinkUp("lo"), setLinkUp("lo"), linkIsUp("lo"));`));
    assert.equal(r.stderr, "");
    assert.equal(r.stdout.trim(), "false true false true");
    assert.match(execFileSync("ip", ["-n", ns, "link", "show", "lo"], { encoding: "utf8" }), /[<,]UP[,>]/);
  });

  it("names a missing device in a NotFound error", () => {
    const r = inNs(script(`try { setLinkUp("nosuch0"); } catch (e) { console.log(e.code, e.message); }`));
    assert.match(r.stdout, /NOT_FOUND|NotFound|5 /i);
    assert.match(r.stdout, /SIOCGIFFLAGS nosuch0: ENODEV/);
  });
});

describe("setLinkUp input", () => {
  it("refuses a name that does not fit ifr_name", () => {
    assert.throws(() => setLinkUp("a-very-long-interface-name"), /not an interface name/);
    assert.throws(() => setLinkUp(""), /not an interface name/);
  });
});
