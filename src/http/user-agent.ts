/**
 * A User-Agent header shortened to what a person recognises in a sessions list ("Firefox on
 * Linux", "curl"): enough to tell devices apart, and no version or build numbers that would make
 * the stored value a fingerprint.
 */

// Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|HeadlessChrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

const MAX_PRODUCT_LENGTH = 40;

export function shortUserAgent(header: string | undefined): string {
  if (!header) return '';
  const browser = BROWSERS.find(([pattern]) => pattern.test(header))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(header))?.[1];
  if (browser) return system ? `${browser} on ${system}` : browser;
  // A script or tool: its first product name, without the version ("curl/8.5.0" is "curl").
  const product = /^[A-Za-z][\w.-]*/.exec(header)?.[0].slice(0, MAX_PRODUCT_LENGTH) ?? '';
  return system && product ? `${product} on ${system}` : product;
}
