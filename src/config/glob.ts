// Path globs as glob(3)/Go's filepath.Match: `*` and `?` never cross a `/`, `[...]` is a character class.
// Used for Kata's valid_*_paths lists, which bound the paths an annotation may choose.

export function globToRegExp(glob: string): RegExp {
  let out = "^";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else if (ch === "\\" && i + 1 < glob.length) out += escapeChar(glob[++i] as string);
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("^") || body.startsWith("!");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^/" : ""}${body.replace(/[\]\\]/g, "\\$&")}]`;
      i = end;
    } else out += escapeChar(ch);
  }
  return new RegExp(`${out}$`);
}

const escapeChar = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

export function matchesAnyGlob(globs: readonly string[], path: string): boolean {
  return globs.some((g) => globToRegExp(g).test(path));
}
