// Structured logs shaped like containerd's logrus JSON (`level`, `time`, `msg` + fields), one line per entry,
// written synchronously to stderr or a file so that nothing is lost when a process exits. Never stdout: the shim's
// `start` owns stdout. An error goes in the field `err`, everywhere, with its cause chain, fields and stack.
// Commands a person runs (`hako …`) format the same entries as one human line each instead (humanLine).
import { writeSync } from "node:fs";

export type Level = "debug" | "info" | "warning" | "error";
const rank: Record<Level, number> = { debug: 10, info: 20, warning: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose every entry also carries `fields` (e.g. `{ subsystem: "qmp", sandbox: id }`). */
  child(fields: Fields): Logger;
  readonly level: Level;
}

export interface LogSink {
  write(line: string): void;
}

export const stderrSink: LogSink = { write: (line) => writeSync(2, line) };

/** Collects lines in memory: for tests that assert what was logged. */
export function memorySink(): LogSink & { lines: string[]; entries(): Fields[] } {
  const lines: string[] = [];
  return {
    lines,
    write: (line) => void lines.push(line),
    entries: () => lines.map((l) => JSON.parse(l) as Fields),
  };
}

/** Causes followed at most this deep (a cycle, or a runaway chain, stops there). */
const MAX_CAUSE_DEPTH = 8;

/**
 * An Error as a log field: message, code (HakoError's gRPC code, or an errno name), the structured fields a
 * HakoError carries, the stack, and the cause, serialized the same way, recursively.
 */
function serializeError(e: Error, depth: number): Fields {
  const out: Fields = { message: e.message };
  if ("code" in e && e.code !== undefined) out.code = e.code;
  const fields = (e as { fields?: unknown }).fields;
  if (fields && typeof fields === "object" && Object.keys(fields).length > 0) out.fields = serializeFields(fields);
  if (e.stack) out.stack = e.stack;
  if (e.cause !== undefined) {
    out.cause =
      depth >= MAX_CAUSE_DEPTH
        ? "(deeper causes left out)"
        : e.cause instanceof Error
          ? serializeError(e.cause, depth + 1)
          : serialize(e.cause);
  }
  return out;
}

function serializeFields(fields: object): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = serialize(v);
  return out;
}

function serialize(value: unknown): unknown {
  if (value instanceof Error) return serializeError(value, 0);
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** How an entry (`level`, `time`, `msg`, then its fields, errors serialized) becomes the line a sink gets. */
export type LineFormat = (entry: Fields) => string;

/** One logrus-shaped JSON object a line: the default, for log files, containerd's log and tools. */
export const jsonLine: LineFormat = (entry) => `${JSON.stringify(entry)}\n`;

/** Fields a person does not need on a terminal: the entry's own keys, and which part of hako logged it. */
const NOT_SHOWN = new Set(["level", "time", "msg", "err", "subsystem"]);

/** An error field's message and its causes', each left out when the one before already says it. */
function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && depth <= MAX_CAUSE_DEPTH; depth++) {
    const message = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
    if (!parts.some((p) => p.includes(message))) parts.push(message);
    e = e && typeof e === "object" && "cause" in e ? e.cause : undefined;
  }
  return parts.join(": ");
}

/**
 * One line for a person: `PROGRAM: LEVEL: msg: err (and its causes); key: value, …`, the level left out for
 * info; no time, no stack (HAKO_LOG_FORMAT=json in the hako CLI gives the JSON lines, stacks included).
 */
export function humanLine(program: string): LineFormat {
  return (entry) => {
    let line = `${program}: ${entry.level === "info" ? "" : `${String(entry.level)}: `}${String(entry.msg)}`;
    if (entry.err !== undefined) line += `: ${errorChain(entry.err)}`;
    const rest = Object.entries(entry).filter(([k, v]) => !NOT_SHOWN.has(k) && v !== undefined);
    if (rest.length > 0) {
      line += `; ${rest.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")}`;
    }
    return `${line}\n`;
  };
}

/**
 * `ms` since the epoch as `Date.prototype.toISOString` writes it (`YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC; years 1970–9999),
 * from arithmetic alone: V8's first toISOString in a process sets up its date cache, ~33 ms of the guest agent's
 * start under TCG (the second takes ~3 ms), and a startup snapshot does not keep that set-up. The civil date comes
 * from the day count by H. Hinnant's `civil_from_days` (proleptic Gregorian calendar).
 */
export function isoTime(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const inDay = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const h = Math.floor(inDay / 3_600_000);
  const m = Math.floor(inDay / 60_000) % 60;
  const sec = Math.floor(inDay / 1000) % 60;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(m)}:${pad(sec)}.${pad(inDay % 1000, 3)}Z`;
}

export function createLogger(
  options: { level?: Level; sink?: LogSink; fields?: Fields; format?: LineFormat } = {},
): Logger {
  const level = options.level ?? levelFromEnv();
  const sink = options.sink ?? stderrSink;
  const base = options.fields ?? {};
  const format = options.format ?? jsonLine;
  const emit = (lvl: Level, msg: string, fields?: Fields) => {
    if (rank[lvl] < rank[level]) return;
    const entry: Fields = { level: lvl, time: isoTime(Date.now()), msg };
    for (const [k, v] of Object.entries(base)) entry[k] = serialize(v);
    if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = serialize(v);
    try {
      sink.write(format(entry));
    } catch {
      // A log line that cannot be written must never take the process down (EPIPE on a closed stderr).
    }
  };
  return {
    level,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warning", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ level, sink, format, fields: { ...base, ...fields } }),
  };
}

export function levelFromEnv(): Level {
  const v = process.env.HAKO_LOG_LEVEL;
  return v === "debug" || v === "info" || v === "warning" || v === "error" ? v : "info";
}

/** A logger that drops everything: the default in unit tests. */
export const silentLogger: Logger = createLogger({ level: "error", sink: { write: () => {} } });
