// `hako-runtime list [--format table|json] [--quiet]`: every container under --root, as runc lists them.
import { invalidArgument } from "../../common/errors.js";
import { bool, str } from "../args.js";
import { listIds, readState } from "../state-store.js";
import type { Verb } from "../verb.js";
import { runcState } from "./state.js";

export const list: Verb = {
  name: "list",
  summary: "list the containers under --root",
  usage: "[--format table|json] [--quiet]",
  flags: [
    { names: ["format", "f"], kind: "string" },
    { names: ["quiet", "q"], kind: "bool" },
  ],
  async run(ctx, args) {
    const format = str(args, "format") ?? "table";
    if (format !== "table" && format !== "json") throw invalidArgument("invalid format option");
    const states: Record<string, unknown>[] = [];
    for (const id of await listIds(ctx.root)) {
      const s = await readState(ctx.root, id).catch(() => undefined);
      if (s) states.push(await runcState(s));
    }
    if (bool(args, "quiet")) {
      process.stdout.write(states.map((s) => `${String(s.id)}\n`).join(""));
    } else if (format === "json") {
      process.stdout.write(`${JSON.stringify(states)}\n`);
    } else {
      const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
      for (const s of states) rows.push(["id", "pid", "status", "bundle", "created", "owner"].map((k) => String(s[k])));
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
      process.stdout.write(
        rows
          .map(
            (r) =>
              `${r
                .map((c, i) => c.padEnd((widths[i] ?? 0) + 4))
                .join("")
                .trimEnd()}\n`,
          )
          .join(""),
      );
    }
    return 0;
  },
};
