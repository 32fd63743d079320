import * as z from 'zod';
import { charField } from '../drf/fields';
import { MAX_TOKEN_LENGTH } from '../limits';

/** `{"token": ...}`, the body of activate, refresh and verify. */
export const tokenBody = z.object({ token: charField({ maxLength: MAX_TOKEN_LENGTH }) });
