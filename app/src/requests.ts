/**
 * A component's requests to the API: `busy` while one is on its way, `problem` for what went
 * wrong, and (through useReauth) the "Confirm it's you" prompt when a change needs a recent login.
 */
import { ref } from 'vue';
import { noProblem, problemFrom } from './api/errors';
import { useReauth } from './reauth';
import { thrownProblem } from './webauthn';

/** What openapi-fetch answers for a request that succeeded. */
type Succeeded<Result> = Extract<Result, { error?: never }>;

export function useRequests() {
  const busy = ref(false);
  const problem = ref(noProblem());
  const { asking, finish, withReauth } = useReauth();

  /**
   * Runs `flow` (a request, or several with a passkey prompt between them): answers its result
   * when that succeeded, else null with `problem` set.
   */
  async function send<Result extends { response: Response; error?: unknown }>(
    flow: () => Promise<Result>,
  ): Promise<Succeeded<Result> | null> {
    busy.value = true;
    problem.value = noProblem();
    try {
      const result = await flow();
      if (result.response.ok) return result as Succeeded<Result>;
      problem.value = problemFrom(result.error);
      return null;
    } catch (error) {
      problem.value = thrownProblem(error);
      return null;
    } finally {
      busy.value = false;
    }
  }

  return { busy, problem, send, withReauth, asking, finish };
}
