/**
 * @module The claims the sandbox IdP puts in ID tokens for a user: subject, email, groups and the
 * IAM-federation principal tag. Shared by oidc-provider's findAccount and the token minter.
 */
import { createHash } from 'node:crypto';
import type { SandboxUser, World } from '../world.js';

export const AWS_TAGS_CLAIM = 'https://aws.amazon.com/tags';

/**
 * The user's OIDC `sub` (also oidc-provider's account id): a stable UUID, opaque like most IdPs' and never
 * the login name. Any length would do for OIDC; STS's SubjectFromWebIdentityToken needs 6–255 characters.
 */
export function subjectOf(username: string): string {
  const h = createHash('sha256').update(`idp-subject:${username}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const findUserBySubject = (world: World, sub: string) =>
  world.users.find((u) => subjectOf(u.username) === sub);

export function userClaims(user: SandboxUser): Record<string, unknown> {
  return {
    sub: subjectOf(user.username),
    email: user.email,
    email_verified: true,
    name: user.name,
    groups: user.groups,
    [AWS_TAGS_CLAIM]: { principal_tags: { Email: [user.email] } },
  };
}
