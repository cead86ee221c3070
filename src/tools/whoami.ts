/**
 * @module Tool `whoami`: which user, identity mode, Q application and retriever the tools act for.
 * Never returns tokens, keys or identity contexts.
 */
import { z } from 'zod';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, findCode } from '../errors.js';
import { defineTool } from './define-tool.js';

export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I signed in as',
  description: [
    'Show which signed-in user, identity mode, Q application and retriever the tools act for, e.g. when results look wrong.',
    'If signedIn is false, tell the user what remedy says.',
  ].join(' '),
  inputSchema: z.object({}).strict(),
  outputSchema: z.object({
    signedIn: z.boolean(),
    status: z.enum(['signed_in', 'not_signed_in', 'login_expired']),
    user: z.object({ subject: z.string(), email: z.string().optional(), issuer: z.string() }).optional(),
    profile: z.string(),
    mode: z.enum(['idc', 'data-accessor', 'iam-federation']),
    region: z.string(),
    applicationId: z.string(),
    retrieverId: z.string(),
    indexId: z.string().optional(),
    tenantId: z.string().optional(),
    remedy: z.string().optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_params, { ctx }) {
    const { config, q } = ctx;
    const base = {
      profile: config.profile,
      mode: config.mode.type,
      region: q.region,
      applicationId: q.applicationId,
      retrieverId: q.retrieverId,
      ...(q.indexId ? { indexId: q.indexId } : {}),
      ...(config.mode.type === 'data-accessor' ? { tenantId: config.mode.tenantId } : {}),
    };
    const where = `application ${q.applicationId} (${q.region}), retriever ${q.retrieverId}, mode ${config.mode.type}, profile ${config.profile}`;
    try {
      const user = await ctx.user();
      return {
        structured: { signedIn: true, status: 'signed_in' as const, user, ...base },
        text: `Signed in as ${user.email ?? user.subject} (subject ${user.subject}, issuer ${user.issuer}).\nActing on ${where}.`,
      };
    } catch (e) {
      // Being signed out is this tool's answer; any other failure is the tool's error.
      const out = findCode(e, ErrorCode.NotSignedIn, ErrorCode.LoginExpired);
      if (!out) throw e;
      const remedy = out.remedy ?? `Run \`${commandLine('login', { profile: config.profile })}\`.`;
      const status =
        out.code === ErrorCode.LoginExpired ? ('login_expired' as const) : ('not_signed_in' as const);
      const state =
        status === 'login_expired' ? 'Signed out (the sign-in expired or was revoked)' : 'Not signed in';
      return {
        structured: { signedIn: false, status, ...base, remedy },
        text: `${state}: ${out.message}\nWhat to do: ${remedy}\nConfigured for ${where}.`,
      };
    }
  },
});
