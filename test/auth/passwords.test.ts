import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  hashPassword,
  MAX_IMPORTED_PBKDF2_ITERATIONS,
  MAX_PBKDF2_ITERATIONS,
  passwordNeedsRehash,
  PBKDF2_ITERATIONS,
  UnsupportedPasswordHash,
  verifyAgainstDummy,
  verifyPassword,
} from '../../src/auth/passwords';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('password hashing', () => {
  it("stores Django's pbkdf2_sha256$<iterations>$<salt>$<base64 hash> format with a fresh salt each time", async () => {
    const first = await hashPassword('s3cret');
    const second = await hashPassword('s3cret');
    expect(first).toMatch(/^pbkdf2_sha256\$100000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword('s3cret', first)).toBe(true);
    expect(await verifyPassword('s3cret ', first)).toBe(false);
    expect(await verifyPassword('', first)).toBe(false);
  });

  // Cloudflare's production runtime throws on PBKDF2 above 100,000 iterations; wrangler dev and
  // this test pool do not, so this is the only guard against shipping a hash production refuses.
  it('never asks WebCrypto for more than the 100,000 iterations production allows', async () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(100_000);
    expect(MAX_PBKDF2_ITERATIONS).toBe(100_000);
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    await hashPassword('pw');
    await verifyPassword('pw', await hashPassword('pw', 1000));
    await verifyAgainstDummy('pw');
    for (const [algorithm] of deriveBits.mock.calls) {
      expect((algorithm as { iterations: number }).iterations).toBeLessThanOrEqual(100_000);
    }
    await expect(hashPassword('pw', 100_001)).rejects.toThrow(UnsupportedPasswordHash);
  });

  // Made by Django 3.2 (Debian's python3-django): PBKDF2PasswordHasher().encode(password, salt,
  // iterations), at Django 2.1's default. Above 100,000, so checked in JavaScript: slowly here
  // (about 2 s in this test pool, 0.3 s under wrangler dev).
  const DJANGO_120K = 'pbkdf2_sha256$120000$importsalt120000$q3fTLnkPktk/zJ/LwcnPuBACBMgonQ4Fy5LOoNRDha8=';

  it('verifies a Django hash above 100,000 iterations in JavaScript, never in WebCrypto', async () => {
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    expect(await verifyPassword('tutorial-pass', DJANGO_120K)).toBe(true);
    expect(deriveBits).not.toHaveBeenCalled();
  }, 30_000);

  it('refuses a stored hash above the cap with UnsupportedPasswordHash, before any PBKDF2 work', async () => {
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    const tooMany = `pbkdf2_sha256$${MAX_IMPORTED_PBKDF2_ITERATIONS + 1}$abcdefgh$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
    await expect(verifyPassword('pw', tooMany)).rejects.toThrow(/2000001 PBKDF2 iterations; at most 2000000/);
    expect(deriveBits).not.toHaveBeenCalled();
  });

  it('asks for a new hash after a check against another iteration count only', async () => {
    expect(passwordNeedsRehash(DJANGO_120K)).toBe(true);
    expect(passwordNeedsRehash('pbkdf2_sha256$1000$somesalt$3UXLHR2dsBArfqHwukhrdUO9gJfc1BvmMq0GPd9sP6E=')).toBe(true);
    expect(passwordNeedsRehash(await hashPassword('pw'))).toBe(false);
  });

  it('verifies a hash made by Django (Python hashlib, 1,000 iterations)', async () => {
    const hash = 'pbkdf2_sha256$1000$somesalt$3UXLHR2dsBArfqHwukhrdUO9gJfc1BvmMq0GPd9sP6E=';
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
  });

  it("checks Django's unusable password (`!...`) as long as a real one, and never matches it", async () => {
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    expect(await verifyPassword('', '!0123456789abcdef0123456789abcdef01234567')).toBe(false);
    expect(deriveBits).toHaveBeenCalledTimes(1);
    expect((deriveBits.mock.calls[0]![0] as { iterations: number }).iterations).toBe(PBKDF2_ITERATIONS);
  });

  it("treats Django's unusable password and malformed hashes as no match", async () => {
    for (const stored of [
      '!unusable',
      'pbkdf2_sha256$abc$salt$hash',
      'pbkdf2_sha256$1000$salt',
      'pbkdf2_sha256$1000$salt$%%%',
    ]) {
      expect(await verifyPassword('pw', stored)).toBe(false);
    }
    await expect(verifyPassword('pw', 'argon2$argon2id$v=19$...')).rejects.toThrow(UnsupportedPasswordHash);
  });

  it('names an unsupported algorithm, but never quotes a stored value that is not one (it may be a password)', async () => {
    await expect(verifyPassword('pw', 'bcrypt_sha256$$2b$12$abc')).rejects.toThrow('uses "bcrypt_sha256"');
    for (const stored of ['5f4dcc3b5aa765d61d8327deb882cf99', 'my plain password', 'Sh0rt$']) {
      const error = await verifyPassword('pw', stored).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsupportedPasswordHash);
      expect((error as Error).message).toBe(
        'stored password hash uses an unknown format, only pbkdf2_sha256 is supported',
      );
    }
  });

  it('does the same PBKDF2 work for an unknown user as for a real check', async () => {
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    expect(await verifyAgainstDummy('anything')).toBe(false);
    expect(deriveBits).toHaveBeenCalledTimes(1);
    expect((deriveBits.mock.calls[0]![0] as { iterations: number }).iterations).toBe(PBKDF2_ITERATIONS);
  });
});
