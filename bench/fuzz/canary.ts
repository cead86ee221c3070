/**
 * @module Secret canaries: every token the harness mints (refresh tokens, bearer tokens, bad tokens) and
 * the AWS secret it hands the server. Everything the server writes (stdout, stderr, HTTP heads and bodies)
 * passes through scan(); a hit is a leak. JWTs are matched by their signature, so a leak of the whole token
 * or of its signed tail is caught; other secrets by their full text.
 */

export interface CanaryHit {
  /** Where it appeared: stdout, stderr, http-body, http-head. */
  where: string;
  /** Which canary (its label, never the secret). */
  label: string;
}

export interface CanaryScanner {
  add(label: string, secret: string): void;
  /** Scans a whole piece of output (an HTTP response, a stdout line). */
  scan(where: string, text: string): void;
  /** A scanner for a stream: keeps an overlap so a secret split across chunks is still found. */
  stream(where: string): (chunk: string) => void;
  hits: CanaryHit[];
  count(): number;
}

export function createCanaryScanner(): CanaryScanner {
  const needles = new Map<string, string>();
  let longest = 0;
  const hits: CanaryHit[] = [];
  const scan = (where: string, text: string) => {
    for (const [needle, label] of needles) {
      if (text.includes(needle)) hits.push({ where, label });
    }
  };
  return {
    add(label, secret) {
      const parts = secret.split('.');
      // A JWT's signature is the part that must never leave; shorter secrets are matched whole.
      const needle = parts.length === 3 && parts[2]!.length >= 32 ? parts[2]! : secret;
      if (needle.length < 16) return;
      needles.set(needle, label);
      longest = Math.max(longest, needle.length);
    },
    scan,
    stream(where) {
      let tail = '';
      return (chunk) => {
        const text = tail + chunk;
        scan(where, text);
        tail = longest > 1 ? text.slice(-(longest - 1)) : '';
      };
    },
    hits,
    count: () => needles.size,
  };
}
