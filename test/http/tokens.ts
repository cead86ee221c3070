/**
 * @module Test helper: bearer tokens for the HTTP transport tests, good and bad. Good ones are signed with
 * the sandbox IdP's own key (the in-process handle), so they verify against its JWKS exactly like tokens
 * the IdP issues, and may carry extra claims (a tenant); bad ones are expired, for another audience or
 * issuer, tampered, unsigned (`alg: none`) or HMAC-signed with the IdP's public key (algorithm confusion).
 */
import { createPublicKey } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { SignJWT, base64url } from 'jose';
import type { Sandbox } from '../../tools/sandbox/index.js';

export interface TokenOptions {
  username: string;
  audience?: string;
  issuer?: string;
  ttlSeconds?: number;
  notBeforeSeconds?: number;
  claims?: Record<string, unknown>;
}

/** An RS256 access token signed with the sandbox IdP's key. */
export async function signedToken(sandbox: Sandbox, o: TokenOptions): Promise<string> {
  const user = sandbox.world.users.find((u) => u.username === o.username);
  const now = Math.floor(Date.now() / 1000);
  const ttl = o.ttlSeconds ?? 900;
  const jwt = new SignJWT({ email: user?.email, client_id: sandbox.world.clients.isv, ...o.claims })
    .setProtectedHeader({ alg: 'RS256', kid: sandbox.keys.kid, typ: 'at+jwt' })
    .setIssuer(o.issuer ?? sandbox.description.issuer)
    .setSubject(o.username)
    .setAudience(o.audience ?? sandbox.description.mcpResource)
    .setIssuedAt(ttl < 0 ? now + ttl - 60 : now)
    .setExpirationTime(now + ttl)
    .setJti(randomUUID());
  if (o.notBeforeSeconds) jwt.setNotBefore(now + o.notBeforeSeconds);
  return jwt.sign(sandbox.keys.signingKey);
}

/** The same token with its payload changed (the signature no longer matches). */
export function tampered(token: string, claims: Record<string, unknown>): string {
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p!))) as Record<string, unknown>;
  return [h, base64url.encode(JSON.stringify({ ...payload, ...claims })), s].join('.');
}

/** An unsecured JWT (`alg: none`, empty signature) with a valid-looking payload. */
export function unsigned(token: string): string {
  const [, p] = token.split('.');
  return [base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' })), p, ''].join('.');
}

/** HS256 "signed" with the IdP's RSA public key as the HMAC secret: the algorithm-confusion attack. */
export async function hmacWithPublicKey(sandbox: Sandbox, username: string): Promise<string> {
  const jwk = sandbox.keys.privateJwks.keys[0]!;
  const pem = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: `${username}@example.com` })
    .setProtectedHeader({ alg: 'HS256', kid: sandbox.keys.kid })
    .setIssuer(sandbox.description.issuer)
    .setSubject(username)
    .setAudience(sandbox.description.mcpResource)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(pem as string));
}

/** Every bad token the transport must refuse with 401, by name. */
export async function badTokens(sandbox: Sandbox, username: string): Promise<Record<string, string>> {
  const good = await signedToken(sandbox, { username });
  return {
    expired: await signedToken(sandbox, { username, ttlSeconds: -120 }),
    'wrong audience': await signedToken(sandbox, { username, audience: 'https://other.example/mcp' }),
    'wrong issuer': await signedToken(sandbox, { username, issuer: 'https://idp.elsewhere.example' }),
    'not yet valid': await signedToken(sandbox, { username, notBeforeSeconds: 600 }),
    tampered: tampered(good, { sub: 'bob' }),
    'alg none': unsigned(good),
    'HS256 with the public key': await hmacWithPublicKey(sandbox, username),
    'not a JWT': 'opaque-token-value',
  };
}
