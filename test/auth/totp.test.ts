/**
 * TOTP against independent implementations: RFC 6238 Appendix B's SHA-1 test vectors, and codes
 * Debian's `oathtool --totp -b SECRET -N @T` printed for a base32 secret.
 */
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, matchTotp, otpauthUri, timeStep, totpCode } from '../../src/auth/totp';

const at = (seconds: number) => new Date(seconds * 1000);

describe('totpCode', () => {
  it('gives the 8-digit SHA-1 codes of RFC 6238 Appendix B', async () => {
    const secret = base32Encode(new TextEncoder().encode('12345678901234567890'));
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) expect(await totpCode(secret, timeStep(at(seconds)), 8)).toBe(code);
  });

  it("gives oathtool's 6-digit codes for a base32 secret", async () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const printed: [number, string][] = [
      [1796616000, '021498'],
      [1796616029, '021498'],
      [1796616030, '120357'],
      [2000000000, '978524'],
    ];
    for (const [seconds, code] of printed) expect(await totpCode(secret, timeStep(at(seconds)))).toBe(code);
  });
});

describe('matchTotp', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const step = timeStep(at(1796616030));

  it('accepts the current step and one step either way, and says which', async () => {
    const now = at(1796616030);
    expect(await matchTotp(secret, '120357', 0, now)).toBe(step);
    expect(await matchTotp(secret, '021498', 0, now)).toBe(step - 1);
    expect(await matchTotp(secret, await totpCode(secret, step + 1), 0, now)).toBe(step + 1);
  });

  it('refuses two steps away, a step already used, and anything but six digits', async () => {
    const now = at(1796616030);
    expect(await matchTotp(secret, await totpCode(secret, step - 2), 0, now)).toBeUndefined();
    expect(await matchTotp(secret, await totpCode(secret, step + 2), 0, now)).toBeUndefined();
    expect(await matchTotp(secret, '120357', step, now)).toBeUndefined();
    expect(await matchTotp(secret, '021498', step - 1, now)).toBeUndefined();
    for (const code of ['12035', '1203570', '12035a', ' 120357', '']) {
      expect(await matchTotp(secret, code, 0, now)).toBeUndefined();
    }
  });
});

describe('base32 and the otpauth URI', () => {
  it('round-trips bytes and reads lower case and padding', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(20));
    expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    expect(new TextDecoder().decode(base32Decode('mzxw6ytboi======'))).toBe('foobar');
  });

  it('names the issuer and account and the parameters apps need', () => {
    const url = new URL(otpauthUri('JBSWY3DPEHPK3PXP', 'api.example.com', 'alice smith'));
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/api.example.com:alice smith');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      secret: 'JBSWY3DPEHPK3PXP',
      issuer: 'api.example.com',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });
});
