/** What the app's unit tests answer in place of the API (imported by *.test.ts only). */

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

/** A token as the API signs it (the app does not check the signature): `lifetime` seconds from `iat`. */
export function token(username: string, lifetime = 300, iat = Math.floor(Date.now() / 1000)) {
  const claims = { user_id: 1, username, is_staff: false, iat, exp: iat + lifetime };
  return `h.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.s`;
}

/** A passkey's answer as @simplewebauthn/browser gives it (the app does not look inside). */
export const assertion = {
  id: 'cred',
  rawId: 'cred',
  type: 'public-key',
  clientExtensionResults: {},
  response: { clientDataJSON: 'c', authenticatorData: 'a', signature: 's' },
};
