// Writes benchmark results the way the repository's formatter (Biome) prints JSON.

/**
 * JSON as the repository's formatter prints it (arrays of scalars on one line when they fit in 120 columns), so a
 * results file never fails `npm run lint`.
 */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /^( *)(.*)\[\n([^[\]{}]*?)\n *\]/gm,
    (whole, indent: string, head: string, body: string) => {
      const items = body.split(",\n").map((s) => s.trim());
      const line = `${indent}${head}[${items.join(", ")}]`;
      return line.length <= 120 ? line : whole;
    },
  );
}
