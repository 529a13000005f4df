import { closest, distance } from 'fastest-levenshtein';

/** A hint for a name that is not one of `options`: the closest one when it looks like a typo, else the list. */
export function didYouMean(value: string, options: readonly string[]): string {
  if (options.length === 0) return '';
  const guess = closest(
    value.toLowerCase(),
    options.map((o) => o.toLowerCase()),
  );
  const match = options.find((o) => o.toLowerCase() === guess);
  const list = options.map((o) => `\`${o}\``).join(', ');
  return match && similar(value, match) ? `did you mean \`${match}\`? (one of ${list})` : `expected one of ${list}`;
}

/** Close enough to be a typo: a few edits, or one name containing the other. */
function similar(a: string, b: string): boolean {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la.length >= 3 && lb.length >= 3 && (la.includes(lb) || lb.includes(la))) return true;
  return distance(la, lb) <= Math.max(1, Math.floor(Math.max(la.length, lb.length) / 3));
}
