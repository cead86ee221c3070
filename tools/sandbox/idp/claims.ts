/**
 * @module The claims the sandbox IdP puts in ID tokens for a user: email, groups and the
 * IAM-federation principal tag. Shared by oidc-provider's findAccount and the token minter.
 */
import type { SandboxUser } from '../world.js';

export const AWS_TAGS_CLAIM = 'https://aws.amazon.com/tags';

export function userClaims(user: SandboxUser): Record<string, unknown> {
  return {
    sub: user.username,
    email: user.email,
    email_verified: true,
    name: user.name,
    groups: user.groups,
    [AWS_TAGS_CLAIM]: { principal_tags: { Email: [user.email] } },
  };
}
