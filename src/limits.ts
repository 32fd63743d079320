/** Size limits applied before any parsing or crypto, each in one place. */

/** Request bodies over this many bytes get 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * An Authorization header, or a token sent in a body or a path, longer than this is refused
 * before any parsing or crypto. Counted in characters: a JWT is ASCII, so that is also bytes.
 */
export const MAX_TOKEN_LENGTH = 8192;
