// Checks one value against its key's type: a TOML value as parsed, or an annotation's string. Returns the typed
// value, or a message saying what was expected (the caller names the key and the file).
import type { KeySpec } from "./keys.js";

export type Value = string | boolean | number | string[];
export type Checked = { ok: true; value: Value } | { ok: false; expected: string };

const describe = (spec: KeySpec): string => {
  switch (spec.type) {
    case "string":
      return "a string";
    case "bool":
      return "a boolean";
    case "int":
      return spec.min === 0 ? "a non-negative integer" : "an integer";
    case "number":
      return "a number";
    case "strings":
      return "an array of strings";
    case "enum":
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
};

export function checkTomlValue(spec: KeySpec, value: unknown): Checked {
  const bad: Checked = { ok: false, expected: describe(spec) };
  switch (spec.type) {
    case "string":
      return typeof value === "string" ? { ok: true, value } : bad;
    case "bool":
      return typeof value === "boolean" ? { ok: true, value } : bad;
    case "int":
      if (typeof value === "bigint") return bad;
      if (typeof value !== "number" || !Number.isSafeInteger(value)) return bad;
      return spec.min !== undefined && value < spec.min ? bad : { ok: true, value };
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? { ok: true, value } : bad;
    case "strings":
      return Array.isArray(value) && value.every((v) => typeof v === "string")
        ? { ok: true, value: value as string[] }
        : bad;
    case "enum":
      return typeof value === "string" && spec.values.includes(value) ? { ok: true, value } : bad;
  }
}

/**
 * Annotations are strings. Lists are written as Kata does: a JSON array (virtio_fs_extra_args), or a
 * semicolon-separated list (kernel_modules) when `semicolonList` is set.
 */
export function checkAnnotationValue(spec: KeySpec, text: string, semicolonList = false): Checked {
  switch (spec.type) {
    case "string":
    case "enum":
      return checkTomlValue(spec, text);
    case "bool":
      if (text === "true") return { ok: true, value: true };
      if (text === "false") return { ok: true, value: false };
      return { ok: false, expected: describe(spec) };
    case "number":
      return /^-?\d+(\.\d+)?$/.test(text.trim())
        ? { ok: true, value: Number(text.trim()) }
        : { ok: false, expected: describe(spec) };
    case "int":
      return /^-?\d+$/.test(text.trim())
        ? checkTomlValue(spec, Number(text.trim()))
        : { ok: false, expected: describe(spec) };
    case "strings": {
      if (semicolonList) {
        return {
          ok: true,
          value: text
            .split(";")
            .map((s) => s.trim())
            .filter((s) => s !== ""),
        };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ok: false, expected: "a JSON array of strings" };
      }
      return checkTomlValue(spec, parsed);
    }
  }
}
