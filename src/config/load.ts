// Finds and reads the configuration file. Order: an explicit path (the runtime option config_path),
// $HAKO_CONFIG, /etc/hako/configuration.toml, then built-in defaults. An explicit or $HAKO_CONFIG path that does
// not exist is an error (the user asked for it); a missing system file just means defaults.
import { readFileSync } from "node:fs";
import { Code, errnoCode, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import { defaultConfig, systemConfigPath } from "./defaults.js";
import { parseConfig } from "./parse.js";
import type { HakoConfig } from "./types.js";

export interface LoadOptions {
  /** Explicit path, e.g. from CreateTaskRequest.options config_path. */
  path?: string;
  /** Environment to read HAKO_CONFIG from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Where the system file lives (tests point it elsewhere). */
  systemPath?: string;
  logger?: Logger;
}

export function loadConfig(options: LoadOptions = {}): HakoConfig {
  const env = options.env ?? process.env;
  const logger = (options.logger ?? silentLogger).child({ subsystem: "config" });
  const explicit = options.path || env.HAKO_CONFIG || undefined;
  const path = explicit ?? options.systemPath ?? systemConfigPath;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT" && explicit === undefined) {
      logger.debug("no configuration file, using built-in defaults", { path });
      return defaultConfig();
    }
    const code = errnoCode(err) === "ENOENT" ? Code.NotFound : Code.InvalidArgument;
    throw new HakoError(code, `cannot read config ${path}: ${(err as Error).message}`, {
      cause: err,
      fields: { path },
    });
  }
  const config = parseConfig(text, path);
  for (const key of config.ignoredKeys) logger.debug("config key accepted but not used by hako", { key, path });
  logger.debug("configuration loaded", { path });
  return config;
}
