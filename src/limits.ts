/** Size limits applied before any parsing or crypto, each in one place. */

/** Request bodies over this many bytes get 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** An Authorization header, or a token sent in a body or a path, longer than this is refused. */
export const MAX_TOKEN_HEADER_BYTES = 8192;
