/**
 * Seals the TOTP secrets kept in D1 with AES-256-GCM under keys derived (HKDF) from JWT_SECRET,
 * so a copy of the database alone gives no codes, and a deployment needs no other secret.
 *
 * Every key of JWT_SECRET derives a box key; the first seals, and a sealed value names the key
 * that sealed it, so rotating JWT_SECRET (a new key first, the old one kept after it) keeps every
 * enrolled authenticator working. A value sealed by a key no longer in JWT_SECRET cannot be opened.
 */
import { base64url, fromBase64url } from '../base64url';
import type { Settings } from '../config';
import { perSettings } from '../per-settings';
import type { KeyMaterial } from './key-material';

const VERSION = 'v1';
const encoder = new TextEncoder();

const materialBytes = (material: KeyMaterial) =>
  material.kind === 'secret' ? material.bytes : encoder.encode(JSON.stringify(material.jwk));

interface BoxKey {
  id: string;
  key: CryptoKey;
}

async function deriveBoxKey(material: KeyMaterial): Promise<BoxKey> {
  const base = await crypto.subtle.importKey('raw', materialBytes(material), 'HKDF', false, [
    'deriveKey',
    'deriveBits',
  ]);
  const hkdf = (info: string) => ({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: new Uint8Array(),
    info: encoder.encode(info),
  });
  const id = new Uint8Array(await crypto.subtle.deriveBits(hkdf('secret-box key id'), base, 64));
  const key = await crypto.subtle.deriveKey(
    hkdf('secret-box aes-256-gcm'),
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  return { id: base64url(id), key };
}

const boxKeys = perSettings((settings: Settings) => Promise.all(settings.jwtKeys.map(deriveBoxKey)));

/** `purpose` is bound to the ciphertext: a value sealed for one use cannot be opened as another. */
export async function seal(plaintext: string, purpose: string, settings: Settings): Promise<string> {
  const [first] = await boxKeys(settings);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(purpose) },
    first!.key,
    encoder.encode(plaintext),
  );
  return [VERSION, first!.id, base64url(iv), base64url(new Uint8Array(sealed))].join('.');
}

/** The plaintext, or undefined when no key of JWT_SECRET sealed it (or it was altered). */
export async function open(value: string, purpose: string, settings: Settings): Promise<string | undefined> {
  const [version, id, iv, ciphertext] = value.split('.');
  const box = (await boxKeys(settings)).find((candidate) => candidate.id === id);
  if (version !== VERSION || !box || iv === undefined || ciphertext === undefined) return undefined;
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64url(iv), additionalData: encoder.encode(purpose) },
      box.key,
      fromBase64url(ciphertext),
    );
    return new TextDecoder().decode(plaintext);
  } catch {
    return undefined;
  }
}
