/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's origin when the app is hosted elsewhere; empty: the app's own origin. */
  readonly VITE_API_URL?: string;
}
