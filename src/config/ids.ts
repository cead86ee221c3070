/**
 * @module The Q Business id pattern (ApplicationId, RetrieverId, IndexId, ConversationId, MessageId,
 * DataSourceId in the service model: `[a-zA-Z0-9][a-zA-Z0-9-]{35}`), once for configuration and tools.
 */
import { z } from 'zod';

export const Q_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9-]{35}$/;

/** A string that must be a Q id; `what` names it in the error ("a 36-character <what>"). */
export const qIdString = (what: string) => z.string().regex(Q_ID_PATTERN, `a 36-character ${what}`);
