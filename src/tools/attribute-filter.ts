/**
 * @module Q's attribute filter grammar as a typed zod schema, documented for an LLM: leaf conditions on
 * document attributes (equalsTo, containsAny, …) combined with andAllFilters / orAllFilters / notFilter.
 * Bounds are the service model's; its nesting depth and size are checked before this schema ever runs
 * (input-bounds.ts), because a recursive parse of a hostile filter is what can hurt the server.
 * "Exactly one key" rules are refines for zod and minProperties/maxProperties in the published schema.
 */
import { z } from 'zod';
import type { AttributeFilterInput } from '../q/client.js';

/** A valid filter, quoted in the schema's description and in the error for a malformed one. */
export const FILTER_EXAMPLE = '{"equalsTo":{"name":"department","value":{"stringValue":"finance"}}}';

const exactlyOne = (o: object) => Object.values(o).filter((v) => v !== undefined).length === 1;
const ONE_KEY = { minProperties: 1, maxProperties: 1 };

const attributeValue = z
  .object({
    stringValue: z.string().max(2048).optional(),
    stringListValue: z.array(z.string().min(1).max(2048)).min(1).optional(),
    longValue: z.number().int().optional(),
    dateValue: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine(exactlyOne, {
    message:
      'give exactly one of stringValue, stringListValue, longValue or dateValue (ISO 8601, e.g. 2024-01-31T00:00:00Z)',
  })
  .meta(ONE_KEY);

const attribute = z
  .object({
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[a-zA-Z0-9_][a-zA-Z0-9_-]*$/, 'letters, digits, _ and - (not first)'),
    value: attributeValue,
  })
  .strict()
  .meta({ id: 'Attribute' });

export const AttributeFilterSchema: z.ZodType<AttributeFilterInput> = z
  .object({
    get andAllFilters() {
      return z.array(AttributeFilterSchema).min(1).optional();
    },
    get orAllFilters() {
      return z.array(AttributeFilterSchema).min(1).optional();
    },
    get notFilter() {
      return AttributeFilterSchema.optional();
    },
    equalsTo: attribute.optional(),
    containsAll: attribute.optional(),
    containsAny: attribute.optional(),
    greaterThan: attribute.optional(),
    greaterThanOrEquals: attribute.optional(),
    lessThan: attribute.optional(),
    lessThanOrEquals: attribute.optional(),
  })
  .strict()
  .refine(exactlyOne, {
    message:
      'give exactly one operator per filter object; combine several with andAllFilters or orAllFilters',
  })
  .meta({ id: 'AttributeFilter', ...ONE_KEY }) as z.ZodType<AttributeFilterInput>;

/** For an LLM: said once, on search_relevant_content's attributeFilter (chat's refers to it). */
export const FILTER_DOC = [
  `Amazon Q attribute filter: one operator per object, at most 10 levels deep, e.g. ${FILTER_EXAMPLE};`,
  'value has one of stringValue, stringListValue (containsAll/containsAny), longValue, dateValue (ISO 8601).',
  'Names: attributes shown in search results.',
].join(' ');
