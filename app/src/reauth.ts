/**
 * Re-authentication. A sensitive change (password, email, factors, recovery codes) needs a recent
 * login, else the API answers 403 `reauth_required`: then the user proves who they are again
 * (ReauthPrompt), and the change is retried once with the fresh token.
 */
import { computed, shallowRef } from 'vue';
import { api } from './api/client';
import { networkProblem, problemFrom, type ApiProblem } from './api/errors';
import { setReauthenticatedToken } from './session';
import { signWithPasskey, thrownProblem, type PasskeyAssertion } from './webauthn';

export type ReauthProof = { password: string } | { code: string } | { webauthn: PasskeyAssertion };

/** POST /auth/reauth/: the fresh token is used from now on; answers what went wrong, or null. */
export async function reauthenticate(proof: ReauthProof): Promise<ApiProblem | null> {
  try {
    const { data, error } = await api.POST('/auth/reauth/', { body: proof });
    if (data === undefined) return problemFrom(error);
    await setReauthenticatedToken(data.token);
    return null;
  } catch {
    return networkProblem();
  }
}

/** The same with one of the user's passkeys: request options for the logged-in user, then its answer. */
export async function reauthenticateWithPasskey(): Promise<ApiProblem | null> {
  try {
    const { data, error } = await api.POST('/auth/mfa/webauthn/options/', { body: {} });
    if (data === undefined) return problemFrom(error);
    return await reauthenticate({ webauthn: await signWithPasskey(data) });
  } catch (error) {
    return thrownProblem(error);
  }
}

const needsReauth = ({ response, error }: { response: Response; error?: unknown }): boolean =>
  response.status === 403 &&
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === 'reauth_required';

/**
 * For a component whose requests may need a recent login: `withReauth(request)` answers the
 * request's result, except that a `reauth_required` refusal sets `asking` (show ReauthPrompt)
 * until `finish` is called; confirmed, the request is sent once more and that is the answer.
 */
export function useReauth() {
  const waiting = shallowRef<((confirmed: boolean) => void) | null>(null);

  async function withReauth<Result extends { response: Response; error?: unknown }>(
    request: () => Promise<Result>,
  ): Promise<Result> {
    const first = await request();
    if (!needsReauth(first)) return first;
    const confirmed = await new Promise<boolean>((resolve) => (waiting.value = resolve));
    waiting.value = null;
    return confirmed ? request() : first;
  }

  return {
    asking: computed(() => waiting.value !== null),
    finish: (confirmed: boolean) => waiting.value?.(confirmed),
    withReauth,
  };
}
