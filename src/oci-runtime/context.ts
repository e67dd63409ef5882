// What every verb gets: runc's global flags (`--root`, `--log`, `--log-format`, `--debug`, `--systemd-cgroup`) and a
// logger writing where the caller asked: conmon and containerd's runc shim read `--log` (JSON lines with
// `--log-format json`) to report a failed call, so errors must land there, as runc's logrus does.
import { closeSync, openSync, writeSync } from "node:fs";
import { invalidArgument } from "../common/errors.js";
import { createLogger, type Logger, type LogSink } from "../common/log.js";
import type { FlagDef, ParsedArgs } from "./args.js";
import { bool, str } from "./args.js";

export const GLOBAL_FLAGS: readonly FlagDef[] = [
  { names: ["debug"], kind: "bool" },
  { names: ["log"], kind: "string" },
  { names: ["log-format"], kind: "string" },
  { names: ["root"], kind: "string" },
  { names: ["criu"], kind: "string" },
  { names: ["systemd-cgroup"], kind: "bool" },
  { names: ["rootless"], kind: "string" },
  { names: ["help", "h"], kind: "bool" },
  { names: ["version", "v"], kind: "bool" },
];

/** runc's default state root for root; hako-runtime keeps its own so that the two never share a directory. */
export const DEFAULT_ROOT = "/run/hako-runtime";

export interface RuntimeContext {
  /** State root: one directory per container (`--root`). */
  root: string;
  /** The log file callers gave (`--log`), if any: the pod's daemon appends to it too. */
  logPath: string | undefined;
  logFormat: "json" | "text";
  debug: boolean;
  systemdCgroup: boolean;
  log: Logger;
  /** Releases the log file. */
  close(): void;
}

/** A logrus-style text line (`time="…" level=error msg="…" key=value`) from one of our JSON lines. */
export function textLine(jsonLine: string): string {
  const entry = JSON.parse(jsonLine) as Record<string, unknown>;
  const parts = Object.entries(entry).map(([k, v]) => {
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return `${k}=${/^[\w./:-]+$/.test(s) ? s : JSON.stringify(s)}`;
  });
  return `${parts.join(" ")}\n`;
}

function fileSink(fd: number, format: "json" | "text"): LogSink {
  return { write: (line) => void writeSync(fd, format === "json" ? line : textLine(line)) };
}

export function contextFrom(global: ParsedArgs): RuntimeContext {
  const format = str(global, "log-format") ?? "text";
  if (format !== "json" && format !== "text") throw invalidArgument(`invalid log-format: ${format}`);
  const logPath = str(global, "log");
  const fd = logPath ? openSync(logPath, "a", 0o644) : undefined;
  const debug = bool(global, "debug");
  const sink = fileSink(fd ?? 2, format);
  return {
    root: str(global, "root") ?? DEFAULT_ROOT,
    logPath,
    logFormat: format,
    debug,
    systemdCgroup: bool(global, "systemd-cgroup"),
    log: createLogger({ level: debug ? "debug" : "info", sink, fields: { subsystem: "hako-runtime" } }),
    close: () => {
      if (fd !== undefined) closeSync(fd);
    },
  };
}
