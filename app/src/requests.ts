/**
 * A component's requests to the API, the one place that handles their outcome: `loading` while
 * the page's data is on its way, `busy` while a change is, `problem` for what went wrong, and
 * (through useReauth) the "Confirm it's you" prompt when a change needs a recent login.
 */
import { ref, type Ref } from 'vue';
import { noProblem, problemFrom } from './api/errors';
import { useReauth } from './reauth';
import { thrownProblem } from './webauthn';

/** What openapi-fetch answers for a request that succeeded. */
type Succeeded<Result> = Extract<Result, { error?: never }>;
type Flow<Result> = () => Promise<Result>;
type Answer = { response: Response; error?: unknown };

/** `fallback`: the message for a refusal whose body says nothing the app can show. */
export function useRequests({ fallback }: { fallback?: string } = {}) {
  const busy = ref(false);
  /** From the start, as a page that has data loads it when it opens. */
  const loading = ref(true);
  const problem = ref(noProblem());
  const { asking, finish, withReauth } = useReauth();
  let latestLoad = 0;

  /** `current() === false`: a newer request took over, and this one's outcome is dropped. */
  async function run<Result extends Answer>(
    flow: Flow<Result>,
    pending: Ref<boolean>,
    current: () => boolean,
  ): Promise<Succeeded<Result> | null> {
    pending.value = true;
    problem.value = noProblem();
    try {
      const result = await flow();
      if (!current()) return null;
      if (result.response.ok) return result as Succeeded<Result>;
      problem.value = problemFrom(result.error, fallback);
      return null;
    } catch (error) {
      if (current()) problem.value = thrownProblem(error);
      return null;
    } finally {
      if (current()) pending.value = false;
    }
  }

  /**
   * Runs `flow` (a request, or several with a passkey prompt between them) while `busy`: answers
   * its result when that succeeded, else null with `problem` set.
   */
  const send = <Result extends Answer>(flow: Flow<Result>) => run(flow, busy, () => true);

  /**
   * The same while `loading`, for the page's data: only the newest load counts, so after a quick
   * move (another page, another order) an older, slower answer never fills the page.
   */
  function load<Result extends Answer>(flow: Flow<Result>) {
    const thisLoad = ++latestLoad;
    return run(flow, loading, () => thisLoad === latestLoad);
  }

  return { busy, loading, problem, send, load, withReauth, asking, finish };
}
