import type { Settings } from './config';

/** `build(settings)`, computed once per Settings object (so once per isolate) and remembered. */
export function perSettings<T>(build: (settings: Settings) => T): (settings: Settings) => T {
  const cache = new WeakMap<Settings, T>();
  return (settings) => {
    if (!cache.has(settings)) cache.set(settings, build(settings));
    return cache.get(settings)!;
  };
}
