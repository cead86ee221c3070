/**
 * @module The configuration's shape, as a zod schema: the single source for validation (with the rules
 * across fields of rules.ts), the TypeScript type and the published JSON Schema. Loading and precedence
 * live in load.ts; which variables and flags set which field, in flags.ts.
 */
import { z } from 'zod';
import { HttpSchema } from './http.js';
import { crossFieldRules } from './rules.js';
import { qIdString } from './ids.js';

const region = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
  .describe('AWS region, e.g. us-east-1');
const roleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)')
  .describe('IAM role that may call Amazon Q Business');
const idcApplicationArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:sso::\d{12}:application\/ssoins-[\w-]+\/apl-[\w-]+$/,
    'an IAM Identity Center application ARN (arn:aws:sso::<account>:application/ssoins-…/apl-…)',
  );
const sessionDurationSeconds = z
  .number()
  .int()
  .min(900)
  .max(3600)
  .default(3600)
  .describe('Role session length; role chaining caps it at one hour');

export const IdpSchema = z
  .object({
    issuer: z.url().describe('OIDC issuer URL of the identity provider'),
    clientId: z.string().min(1).describe('OIDC client id registered for qindex-mcp'),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .describe('Only for confidential clients; prefer a public client'),
    scopes: z
      .array(z.string().min(1))
      .default(['openid', 'email', 'profile', 'offline_access'])
      .describe('Scopes to request; offline_access is needed for a refresh token'),
    redirectPort: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe('Loopback port for the browser login callback; 0 picks a free port'),
    redirectPath: z.string().startsWith('/').default('/callback').describe('Path of the loopback callback'),
  })
  .strict();

export const IdcModeSchema = z
  .object({
    type: z.literal('idc'),
    idcRegion: region.describe('Region of the IAM Identity Center instance'),
    idcApplicationArn: idcApplicationArn.describe(
      'The customer managed IdC application with the trusted token issuer',
    ),
    roleArn,
    sessionDurationSeconds,
  })
  .strict()
  .describe('IAM Identity Center trusted identity propagation, for a customer-owned app (design 2a)');

export const DataAccessorModeSchema = z
  .object({
    type: z.literal('data-accessor'),
    grant: z
      .enum(['tti', 'auth-code'])
      .default('tti')
      .describe('tti: the ISV IdP token; auth-code: IdC login'),
    idcRegion: region.describe('Region of the customer IAM Identity Center instance'),
    idcApplicationArn: idcApplicationArn.describe(
      "The data accessor's IdC application ARN, from the customer",
    ),
    roleArn: roleArn.describe(
      "The ISV's role, trusted for sts:AssumeRole, sts:SetContext and sts:TagSession",
    ),
    tenantId: z
      .string()
      .min(1)
      .max(256)
      .describe('Tenant id agreed with the customer (ExternalId session tag)'),
    sessionDurationSeconds,
  })
  .strict()
  .describe('Amazon Q index data accessor for ISVs (design 2b, 2c)');

export const IamFederationModeSchema = z
  .object({
    type: z.literal('iam-federation'),
    roleArn: roleArn.describe('Role trusting the IdP for sts:AssumeRoleWithWebIdentity'),
    sessionDurationSeconds,
  })
  .strict()
  .describe('IAM federation with an OIDC IdP, no Identity Center (design 2d)');

export const ModeSchema = z.discriminatedUnion('type', [
  IdcModeSchema,
  DataAccessorModeSchema,
  IamFederationModeSchema,
]);

export const QSchema = z
  .object({
    region: region.describe('Region of the Amazon Q Business application'),
    applicationId: qIdString('Q Business application id').describe('Amazon Q Business application id'),
    retrieverId: qIdString('Q Business retriever id').describe('Retriever used by SearchRelevantContent'),
    indexId: qIdString('Q Business index id').optional(),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(30)
      .describe(
        'Abort a Q call after this long without an answer (for Chat: without a new event); retryable',
      ),
  })
  .strict();

export const AwsSchema = z
  .object({
    endpoint: z.url().optional().describe('Override every AWS endpoint (the sandbox); leave unset for AWS'),
    profile: z.string().min(1).optional().describe('Named AWS profile for the base credentials'),
  })
  .strict()
  .default({});

/** The configuration's fields, without the rules across them (for schemas derived from it). */
export const ConfigFieldsSchema = z
  .object({
    $schema: z.string().optional(),
    profile: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "-" or "_", at most 64')
      .default('default')
      .describe('Login profile: several logins can live side by side'),
    idp: IdpSchema,
    mode: ModeSchema,
    q: QSchema,
    aws: AwsSchema,
    tokenStore: z
      .enum(['auto', 'keychain', 'file', 'memory'])
      .default('auto')
      .describe('Where the refresh token lives; auto = OS keychain, else a 0600 file'),
    credentials: z
      .object({
        refreshMarginSeconds: z.number().int().min(0).max(1800).default(300),
      })
      .strict()
      .default({ refreshMarginSeconds: 300 }),
    logging: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    http: HttpSchema.optional().describe('serve --transport http settings (see docs/http.md)'),
  })
  .strict();

// Rules across fields (rules.ts): reported when the configuration is loaded, by doctor as by serve.
export const ConfigSchema = ConfigFieldsSchema.superRefine(crossFieldRules);

export type QindexConfig = z.output<typeof ConfigSchema>;
export type QindexConfigInput = z.input<typeof ConfigSchema>;
export type ModeConfig = QindexConfig['mode'];
export type IdpConfig = QindexConfig['idp'];
