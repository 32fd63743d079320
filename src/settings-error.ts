/**
 * A setting that cannot be used: the message starts with the setting's name and never holds its
 * value. Thrown by config.ts and by auth/keys.ts, which reads JWT_SECRET.
 */
export class SettingsError extends Error {
  readonly setting: string;

  constructor(setting: string, problem: string, options?: { cause?: unknown }) {
    super(`${setting} ${problem}`, options);
    this.name = 'SettingsError';
    this.setting = setting;
  }
}
