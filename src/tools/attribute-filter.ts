/**
 * @module Q's attribute filter grammar as a typed zod schema, documented for an LLM: leaf conditions on
 * document attributes (equalsTo, containsAny, …) combined with andAllFilters / orAllFilters / notFilter.
 * Bounds are the service model's; its nesting depth and size are checked before this schema ever runs
 * (input-bounds.ts), because a recursive parse of a hostile filter is what can hurt the server.
 */
import { z } from 'zod';
import type { AttributeFilterInput } from '../q/client.js';

const attributeValue = z
  .union([
    z.object({ stringValue: z.string().max(2048) }).strict(),
    z.object({ stringListValue: z.array(z.string().min(1).max(2048)).min(1) }).strict(),
    z.object({ longValue: z.number().int() }).strict(),
    z
      .object({ dateValue: z.iso.datetime({ offset: true }).describe('ISO 8601, e.g. 2024-01-31T00:00:00Z') })
      .strict(),
  ])
  .describe('Exactly one of stringValue, stringListValue, longValue or dateValue');

const attribute = z
  .object({
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[a-zA-Z0-9_][a-zA-Z0-9_-]*$/, 'letters, digits, _ and - (not first)')
      .describe(
        'Attribute name, e.g. _category, _source_uri, _created_at, department (see search result attributes)',
      ),
    value: attributeValue,
  })
  .strict();

const leafOperators = {
  equalsTo: attribute.optional().describe('Attribute equals the value'),
  containsAll: attribute.optional().describe('String-list attribute contains every listed value'),
  containsAny: attribute.optional().describe('String-list attribute contains at least one listed value'),
  greaterThan: attribute.optional().describe('Number or date attribute is greater than the value'),
  greaterThanOrEquals: attribute.optional(),
  lessThan: attribute.optional().describe('Number or date attribute is less than the value'),
  lessThanOrEquals: attribute.optional(),
};

export const AttributeFilterSchema: z.ZodType<AttributeFilterInput> = z
  .object({
    get andAllFilters() {
      return z.array(AttributeFilterSchema).min(1).optional().describe('Every filter must match');
    },
    get orAllFilters() {
      return z.array(AttributeFilterSchema).min(1).optional().describe('At least one filter must match');
    },
    get notFilter() {
      return AttributeFilterSchema.optional().describe('The filter must not match');
    },
    ...leafOperators,
  })
  .strict()
  .refine((f) => Object.values(f).filter((v) => v !== undefined).length === 1, {
    message:
      'give exactly one operator per filter object; combine several with andAllFilters or orAllFilters',
  })
  .meta({
    id: 'AttributeFilter',
    description:
      'Amazon Q attribute filter: one operator per object, nested at most 10 levels deep. Leaf: {"equalsTo":{"name":"department","value":{"stringValue":"finance"}}}. Combine: {"andAllFilters":[{...},{...}]}, {"orAllFilters":[...]}, {"notFilter":{...}}. Dates are ISO 8601 strings in dateValue.',
  }) as z.ZodType<AttributeFilterInput>;
