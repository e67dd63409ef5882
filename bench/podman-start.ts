// `node --import tsx bench/podman-start.ts [--runs N]`: start latency of `podman run --rm busybox true` (Debian's
// podman 4.3, conmon) with hako-runtime against runc, alternating in the same run, on one private podman. Prints
// each median and the ratio hako/runc. Run it alone (it boots N VMs): `flock /tmp/hako-vm.lock …`.
import { parseArgs } from "node:util";
import { BUSYBOX, hakoRuntimePath, Podman } from "../test/helpers/oci-engines.js";
import { median, ratio, round } from "./stats.js";

const RUNC = "/usr/sbin/runc";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const runs = Number(values.runs);
  const podman = await Podman.start({ runtime: hakoRuntimePath() });
  const samples: Record<"hako" | "runc", number[]> = { hako: [], runc: [] };
  try {
    // One untimed start each: podman's first container pays for storage set-up that later ones do not.
    for (let i = 0; i <= runs; i++) {
      for (const name of ["runc", "hako"] as const) {
        const args = ["run", "--rm", "--network", "none", BUSYBOX, "true"];
        const r = await podman.run(args, name === "runc" ? { runtime: RUNC } : {});
        if (r.code !== 0) throw new Error(`podman run with ${name} failed: ${r.stderr}`);
        if (i > 0) samples[name].push(r.ms);
      }
    }
  } finally {
    await podman.stop();
  }
  const hako = median(samples.hako);
  const runc = median(samples.runc);
  process.stdout.write(
    `podman run --rm busybox true, ${runs} runs each, median ms: hako ${round(hako, 0)}, runc ${round(runc, 0)}, ` +
      `hako/runc ${round(ratio(hako, runc))}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[bench] ${(err as Error).message}\n`);
    process.exit(1);
  },
);
