/**
 * A software WebAuthn authenticator for the workerd tests: what a browser and a platform
 * authenticator answer to creation and request options (attestation `none`, ES256 keys from
 * WebCrypto, CBOR from the library's own helper), so the server's verification runs for real.
 * The browser tests use Chromium's virtual authenticator instead.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { base64url, fromBase64url } from '../src/base64url';

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

interface Credential {
  id: string;
  keys: CryptoKeyPair;
  rpId: string;
  userHandle: string;
  counter: number;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};
const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
const uint32 = (n: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
};
const json64 = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

/** WebCrypto's r||s as the DER SEQUENCE WebAuthn's ES256 signatures use. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.slice(start);
    const body = trimmed[0]! & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const body = concat(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

export interface AuthenticatorOptions {
  /** The page's origin, as the browser puts it in clientDataJSON. */
  origin: string;
  /** Whether the authenticator verifies the user (PIN, biometrics). */
  userVerification?: boolean;
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(private readonly options: AuthenticatorOptions) {}

  private flags(extra = 0) {
    return UP | (this.options.userVerification === false ? 0 : UV) | extra;
  }

  /** navigator.credentials.create(), as JSON. */
  async create(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON> {
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey;
    const coseKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromBase64url(jwk.x!)],
        [-3, fromBase64url(jwk.y!)],
      ]),
    );
    const rawId = crypto.getRandomValues(new Uint8Array(16));
    const id = base64url(rawId);
    const rpId = options.rp.id!;
    const authData = concat(
      await sha256(new TextEncoder().encode(rpId)),
      new Uint8Array([this.flags(AT)]),
      uint32(0),
      new Uint8Array(16), // AAGUID: none
      new Uint8Array([0, rawId.length]),
      rawId,
      coseKey,
    );
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, never>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, never>()],
        ['authData', authData],
      ]),
    );
    this.credentials.push({ id, keys, rpId, userHandle: options.user.id, counter: 0 });
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: json64({ type: 'webauthn.create', challenge: options.challenge, origin: this.options.origin }),
        attestationObject: base64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * navigator.credentials.get(), as JSON: with the credential the options allow, or for
   * discoverable options (none listed) the newest one for the site; `counter` overrides the
   * sign count it sends.
   */
  async get(
    options: PublicKeyCredentialRequestOptionsJSON,
    { counter, credential: chosen }: { counter?: number; credential?: Credential } = {},
  ): Promise<AuthenticationResponseJSON> {
    const allowed = (options.allowCredentials ?? []).map((entry) => entry.id);
    const credential =
      chosen ??
      [...this.credentials]
        .reverse()
        .find((c) => c.rpId === options.rpId && (allowed.length === 0 || allowed.includes(c.id)));
    if (!credential) throw new Error('no credential for these options');
    credential.counter = counter ?? credential.counter + 1;
    const authData = concat(
      await sha256(new TextEncoder().encode(credential.rpId)),
      new Uint8Array([this.flags()]),
      uint32(credential.counter),
    );
    const clientDataJSON = json64({ type: 'webauthn.get', challenge: options.challenge, origin: this.options.origin });
    const signed = concat(authData, await sha256(fromBase64url(clientDataJSON)));
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, credential.keys.privateKey, signed),
    );
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: base64url(authData),
        signature: base64url(derSignature(raw)),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
