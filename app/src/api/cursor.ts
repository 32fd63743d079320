/** The `cursor` of a page link the API answers (`next`, `previous`), or null where there is none. */
export const cursorOf = (link: string | null): string | null =>
  link === null ? null : new URL(link).searchParams.get('cursor');
