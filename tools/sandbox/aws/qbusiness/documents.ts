/**
 * @module GetDocumentContent: an ACL-checked presigned URL on the emulator itself, HMAC-signed with the
 * sandbox key and refused after 5 minutes; the download re-checks the ACL and serves the original
 * (RAW, the source's mime type) or the extracted content (EXTRACTED, always application/json).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { countCall, type SandboxState } from '../../state.js';
import { findQApplication, type World } from '../../world.js';
import { extractedContent, renderRaw } from '../../corpus/index.js';
import type { EmulatorRequest, EmulatorResponse } from '../types.js';
import type { Access } from './access.js';
import type { Engine, Principal } from './engine.js';
import { jsonResponse, notFound } from './errors.js';
import { optionalEnum, optionalId, requireId, requireText } from './validate.js';

export const DOWNLOAD_PREFIX = '/_sandbox/qbusiness/document-content';
export const PRESIGNED_TTL_SECONDS = 300;

interface Grant {
  a: string;
  d: string;
  f: 'RAW' | 'EXTRACTED';
  p: Principal;
  /** Expiry, epoch seconds. */
  x: number;
}

const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest('hex');

export function getDocumentContent(
  engine: Engine,
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
  indexId: string,
  documentId: string,
): EmulatorResponse {
  requireId('indexId', indexId);
  requireText('documentId', documentId, 1, 1825);
  const dataSourceId = optionalId('dataSourceId', req.query.get('dataSourceId') ?? undefined);
  const format =
    optionalEnum('outputFormat', req.query.get('outputFormat') ?? undefined, ['RAW', 'EXTRACTED']) ?? 'RAW';
  if (indexId !== access.app.indexId) throw notFound('Index', indexId, `Index ${indexId} not found.`);
  const doc = engine.findDocument(access.app, documentId);
  // A document the caller may not see is answered exactly like one that does not exist.
  if (
    !doc ||
    (dataSourceId && dataSourceId !== doc.dataSourceId) ||
    !engine.canSee(access.app, access.principal, doc)
  ) {
    throw notFound('Document', documentId, `Document ${documentId} not found.`);
  }
  const grant: Grant = {
    a: access.app.applicationId,
    d: doc.id,
    f: format,
    p: access.principal,
    x: Math.floor(Date.now() / 1000) + PRESIGNED_TTL_SECONDS,
  };
  const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
  const host = req.headers['host'] ?? '127.0.0.1';
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const url =
    `http://${host}${DOWNLOAD_PREFIX}/${encodeURIComponent(doc.id)}` +
    `?X-Amz-Date=${amzDate}&X-Amz-Expires=${PRESIGNED_TTL_SECONDS}&X-Amz-Grant=${payload}&X-Amz-Signature=${mac(state.signingKey, payload)}`;
  return jsonResponse(200, {
    presignedUrl: url,
    mimeType: format === 'RAW' ? doc.mimeType : 'application/json',
  });
}

const s3Error = (status: number, code: string, message: string): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>\n`,
});

/** The unsigned download route the presigned URL points at. */
export function downloadDocument(
  world: World,
  engine: Engine,
  state: SandboxState,
  req: EmulatorRequest,
): EmulatorResponse {
  if (req.method !== 'GET') return s3Error(405, 'MethodNotAllowed', 'The specified method is not allowed.');
  const payload = req.query.get('X-Amz-Grant') ?? '';
  const signature = Buffer.from(req.query.get('X-Amz-Signature') ?? '');
  const expected = Buffer.from(mac(state.signingKey, payload));
  if (!payload || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    return s3Error(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Grant;
  if (Date.now() / 1000 > grant.x) return s3Error(403, 'AccessDenied', 'Request has expired');
  const app = findQApplication(world, grant.a);
  const doc = app && engine.findDocument(app, grant.d);
  const wantedId = req.path.slice(DOWNLOAD_PREFIX.length + 1);
  if (!app || !doc || wantedId !== doc.id)
    return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
  if (!engine.canSee(app, grant.p, doc)) return s3Error(403, 'AccessDenied', 'Access Denied');
  const raw = grant.f === 'RAW';
  // Counted: a document read window by window should be downloaded about once.
  countCall(state, `download:${grant.f}`);
  return {
    status: 200,
    headers: {
      'content-type': raw ? `${doc.mimeType}; charset=utf-8` : 'application/json',
      'cache-control': 'private, max-age=0',
    },
    body: raw ? renderRaw(doc) : extractedContent(doc),
  };
}
