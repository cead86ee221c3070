/**
 * @module OAuth 2.0 Protected Resource Metadata (RFC 9728) naming the IdP as the authorization server,
 * and the `WWW-Authenticate` challenge that points clients at it (RFC 6750 error codes).
 */
export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

export function protectedResourceMetadata(resource: string, issuer: string): ProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [issuer],
    bearer_methods_supported: ['header'],
    resource_name: 'qindex-mcp',
  };
}

/** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
export function metadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}${METADATA_PREFIX}${path}`;
}

/** Paths this server answers metadata on: the RFC 9728 one for the resource, and the bare prefix. */
export function metadataPaths(resource: string): string[] {
  return [...new Set([new URL(metadataUrl(resource)).pathname, METADATA_PREFIX])];
}

export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export function wwwAuthenticate(
  resource: string,
  error?: { code: BearerErrorCode; description: string },
): string {
  const params = [`resource_metadata="${metadataUrl(resource)}"`];
  if (error) {
    params.unshift(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`);
  }
  return `Bearer ${params.join(', ')}`;
}
