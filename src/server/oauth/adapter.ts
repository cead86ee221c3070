/**
 * @module oidc-provider's storage Adapter over the connector's sealed key-value store (store.ts): one entry
 * per model instance with its TTL, an index from interaction uid to id, and per grant the set of its tokens
 * so a revoked grant (reused refresh token, revocation, failed upstream refresh) takes all of them.
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Kv } from './store.js';

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

export const grantSetName = (grantId: string) => `grant-tokens:${grantId}`;

export function kvAdapter(kv: Kv) {
  return class KvAdapter implements Adapter {
    constructor(readonly name: string) {}

    private key(id: string) {
      return `${this.name}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.key(id);
      await kv.set(key, JSON.stringify(payload), expiresIn);
      if (GRANTABLE.has(this.name) && payload.grantId) {
        await kv.addMember(grantSetName(payload.grantId), key, expiresIn);
      }
      if (payload.uid) await kv.set(`uid:${this.name}:${payload.uid}`, id, expiresIn);
      if (payload.userCode) await kv.set(`usercode:${payload.userCode}`, id, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const text = await kv.get(this.key(id));
      if (!text) return undefined;
      try {
        return JSON.parse(text) as AdapterPayload;
      } catch {
        return undefined;
      }
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await kv.get(`uid:${this.name}:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await kv.get(`usercode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    async consume(id: string): Promise<void> {
      // Under a lock: of two requests redeeming one code or refresh token at once (on any replica), the
      // second finds it consumed and is refused before any token is issued for it.
      await kv.withLock(`consume:${this.key(id)}`, async () => {
        const payload = await this.find(id);
        if (!payload) return;
        if (payload.consumed) throw new errors.InvalidGrant(`${this.name} already consumed`);
        const ttl = payload.exp ? payload.exp - Math.floor(Date.now() / 1000) : 0;
        if (ttl <= 0 && payload.exp) return;
        await kv.set(
          this.key(id),
          JSON.stringify({ ...payload, consumed: Math.floor(Date.now() / 1000) }),
          ttl,
        );
      });
    }

    async destroy(id: string): Promise<void> {
      await kv.del(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await kv.delMembers(grantSetName(grantId));
    }
  };
}
