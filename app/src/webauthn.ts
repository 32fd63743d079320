/**
 * The browser's passkey prompts, through @simplewebauthn/browser. The library is loaded on first
 * use, so it is not part of the first page.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { networkProblem, type ApiProblem } from './api/errors';
import type { components, operations } from './api/schema';

type WebAuthnOptions = components['schemas']['WebAuthnOptions'];
/** A passkey's signed answer (navigator.credentials.get() as JSON), as the API takes it. */
export type PasskeyAssertion = operations['postAuthPasskey']['requestBody']['content']['application/json']['response'];
/** A new passkey (navigator.credentials.create() as JSON), as the API takes it. */
type PasskeyRegistration = operations['postAuthPasskeys']['requestBody']['content']['application/json']['response'];

/** The prompt ended without an answer: cancelled, timed out, or not possible in this browser. */
export class PasskeyError extends Error {
  override name = 'PasskeyError';
}

function refused(error: unknown): never {
  // Chrome and Firefox say NotAllowedError both when the user cancels and when the prompt times out.
  const cancelled = error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'AbortError');
  const message = cancelled
    ? 'No passkey was used. Try again, or use another way.'
    : error instanceof Error
      ? error.message
      : 'The passkey could not be used.';
  throw new PasskeyError(message, { cause: error });
}

/** Signs the API's challenge with one of the user's passkeys (navigator.credentials.get()). */
export async function signWithPasskey(options: WebAuthnOptions): Promise<PasskeyAssertion> {
  const { startAuthentication } = await import('@simplewebauthn/browser');
  // The API's options and answers are the library's JSON. Its document types them loosely (a
  // challenge and more; `clientExtensionResults` any object), which the library's interfaces
  // do not say of themselves.
  const optionsJSON = options as unknown as PublicKeyCredentialRequestOptionsJSON;
  return (await startAuthentication({ optionsJSON }).catch(refused)) as PasskeyAssertion;
}

/** Makes a new passkey for the API's creation options (navigator.credentials.create()). */
export async function createPasskey(options: WebAuthnOptions): Promise<PasskeyRegistration> {
  const { startRegistration } = await import('@simplewebauthn/browser');
  const optionsJSON = options as unknown as PublicKeyCredentialCreationOptionsJSON;
  return (await startRegistration({ optionsJSON }).catch(refused)) as PasskeyRegistration;
}

/** What to show for what a passkey flow threw: the prompt's refusal, or a network failure. */
export const thrownProblem = (error: unknown): ApiProblem =>
  error instanceof PasskeyError ? { fields: {}, message: error.message } : networkProblem();
