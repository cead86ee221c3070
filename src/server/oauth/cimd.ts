/**
 * @module SSRF rules for Client ID Metadata Document fetches, on top of oidc-provider's own (https only,
 * 5 KiB, 2.5 s, no redirects, special-use addresses refused on connect): an IP-literal client_id in a
 * special-use range is refused before any fetch, and when the operator trusts an extra CA (tests) the
 * fetch runs on an agent with that CA whose DNS lookup refuses special-use addresses unless
 * allowPrivateNetworks is set.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { HttpOAuthConfig } from '../../config/http.js';

const special = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  special.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  special.addSubnet(net, bits, 'ipv6');
}

/** Loopback, private, link-local, documentation, multicast and other special-use addresses. */
export function isSpecialUseAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return special.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return special.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** features.clientIdMetadataDocument.allowFetch: an IP literal in a special-use range is never fetched. */
export function cimdFetchAllowed(clientId: string, allowPrivateNetworks: boolean): boolean {
  if (allowPrivateNetworks) return true;
  const host = URL.parse(clientId)?.hostname.replace(/^\[|\]$/g, '');
  if (!host) return false;
  if (host === 'localhost' || host.endsWith('.localhost')) return false;
  return isIP(host) === 0 || !isSpecialUseAddress(host);
}

type Lookup = (
  hostname: string,
  options: LookupOptions,
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** A DNS lookup that refuses names resolving to special-use addresses. */
const safeLookup: Lookup = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    if (addresses.some((a) => isSpecialUseAddress(a.address))) {
      return callback(new Error('hostname resolves to a special-use IP address'), []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

type AgentClass = new (options: object) => object;

/** Node's bundled undici Agent (not importable by name), as oidc-provider finds it. */
function undiciAgent(): AgentClass | undefined {
  void Response; // loads Node's fetch implementation, which installs the global dispatcher
  const g = globalThis as Record<symbol, { constructor: AgentClass } | undefined>;
  return (g[Symbol.for('undici.globalDispatcher.2')] ?? g[Symbol.for('undici.globalDispatcher.1')])
    ?.constructor;
}

/** oidc-provider's `fetch` option: its own SSRF-checked dispatcher, or ours when an extra CA is trusted. */
export function cimdFetch(cimd: HttpOAuthConfig['clientIdMetadataDocuments']) {
  let dispatcher: object | undefined;
  if (cimd.caFile || cimd.allowPrivateNetworks) {
    const Agent = undiciAgent();
    const ca = cimd.caFile ? [...rootCertificates, readFileSync(cimd.caFile, 'utf8')] : undefined;
    dispatcher = Agent
      ? new Agent({
          connect: { ...(ca ? { ca } : {}), ...(cimd.allowPrivateNetworks ? {} : { lookup: safeLookup }) },
        })
      : undefined;
  }
  return (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    fetch(input, dispatcher ? ({ ...init, dispatcher } as RequestInit) : init);
}
