/**
 * @module Q Business errors in the restJson1 shape the SDK parses: status, `x-amzn-errortype`, and a
 * JSON body with the members the model declares (message, reason, fields, resourceId, resourceType).
 */
import { restJsonResponse } from '../errors.js';
import type { EmulatorResponse } from '../types.js';

export class QError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface FieldProblem {
  name: string;
  message: string;
}

export const validationError = (
  message: string,
  fields: FieldProblem[] = [],
  reason: 'CANNOT_PARSE' | 'FIELD_VALIDATION_FAILED' | 'UNKNOWN_OPERATION' = 'FIELD_VALIDATION_FAILED',
) => new QError(400, 'ValidationException', message, { reason, fields });

export const accessDenied = (message: string) => new QError(403, 'AccessDeniedException', message);

export const notFound = (resourceType: string, resourceId: string, message?: string) =>
  new QError(
    404,
    'ResourceNotFoundException',
    message ?? `The ${resourceType} ${resourceId} was not found.`,
    {
      resourceId,
      resourceType,
    },
  );

export const throttled = () =>
  new QError(429, 'ThrottlingException', 'Rate exceeded. Slow down your requests.');

export const internalError = () =>
  new QError(500, 'InternalServerException', 'An internal error occurred. Try your request again.');

export const jsonResponse = restJsonResponse;

export function errorResponse(err: QError): EmulatorResponse {
  return jsonResponse(err.status, { message: err.message, ...err.members }, { 'x-amzn-errortype': err.type });
}
