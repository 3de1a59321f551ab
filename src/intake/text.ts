/**
 * Text from outside (ids, names, free text) is stored as it came, except for what no store or
 * protocol downstream can hold: NUL (PostgreSQL's TEXT refuses it, C strings end at it).
 * Ids and names also refuse the other C0 control characters and DEL.
 */

/** C0 controls and DEL: never in an id, a name or a URL. */
export const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The path (`$.items[3].text`) of the first string in a parsed JSON value that holds NUL, or
 * undefined. Walks without recursion, so a deeply nested body cannot overflow the stack.
 */
export function findNul(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '$']];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return at;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return `${at} (a key)`;
        stack.push([x, `${at}.${k}`]);
      }
    }
  }
  return undefined;
}
