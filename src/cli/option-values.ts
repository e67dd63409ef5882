// Parsers for numeric CLI option values: commander calls them while parsing, so a bad value stops the command with
// commander's own "option '--x <n>' argument 'abc' is invalid" message (exit status 1) before anything runs.
import { InvalidArgumentError } from "@commander-js/extra-typings";

/** A whole number ≥ 0 (bytes, counts). Rejects fractions, signs, exponents and empty strings. */
export function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of 0 or more.");
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError("the number is too large.");
  return n;
}

/** A whole number ≥ 1 (timeouts in ms). */
export function positiveInteger(value: string): number {
  const n = nonNegativeInteger(value);
  if (n === 0) throw new InvalidArgumentError("expected a whole number of 1 or more.");
  return n;
}
