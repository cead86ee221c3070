/**
 * @module The one loopback check: is a hostname or IP address this machine only? Used for binding
 * (local HTTP mode serves unauthenticated only there), for plain-HTTP issuers and JWKS URLs (test IdPs),
 * and for the Host/Origin allow-lists. Accepts `localhost`, 127.0.0.0/8, `::1` in any spelling, the
 * bracketed URL form (`[::1]`) and IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`).
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * True when `host` names the loopback interface. Names other than `localhost` are never resolved (DNS
 * could say anything); `0.0.0.0` and `::` are "every interface", not loopback.
 */
export function isLoopback(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h) || h.includes('%')) return false;
  const words = ipv6Words(h);
  if (words.slice(0, 5).some((w) => w !== 0)) return false;
  // ::1, or ::ffff:127.x.y.z (the first byte of the mapped IPv4 address is 127).
  if (words[5] === 0) return words[6] === 0 && words[7] === 1;
  return words[5] === 0xffff && words[6]! >> 8 === 127;
}

/** The eight 16-bit words of a valid IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function ipv6Words(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
