/**
 * Rendezvous (highest-random-weight) hashing: each key goes to the member whose hash with it is
 * highest. Every member computes the same owner from the same member list, with no coordination;
 * when a member joins or leaves, only the keys it gains or held move (about 1/n of them), the rest
 * stay where they are. Pure.
 */
export function owner(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const m of members) {
    const w = weight(m, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) [best, bestWeight] = [m, w];
  }
  return best;
}

/** The keys `member` owns among `keys`, with `members` alive. */
export function ownedBy(member: string, keys: readonly string[], members: readonly string[]): string[] {
  return keys.filter((k) => owner(k, members) === member);
}

/** A 32-bit mix of member and key (FNV-1a, then an avalanche), uniform enough to spread keys evenly. */
function weight(member: string, key: string): number {
  let h = 0x811c9dc5;
  const s = `${member}\u0000${key}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
