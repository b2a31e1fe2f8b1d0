import { hash, verify, type Options } from '@node-rs/argon2';

// OWASP Password Storage Cheat Sheet, argon2id minimum: m = 19 MiB, t = 2, p = 1.
// 2 is Algorithm.Argon2id: a const enum, which isolatedModules cannot read.
const OPTIONS: Options = { algorithm: 2 as Options['algorithm'], memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string | null, password: string): Promise<boolean>;
}

/**
 * argon2id. `verify` with no hash (an unknown e-mail, a social-only account) still spends the
 * time of one verification, so response times do not tell whether an account exists.
 */
export async function createPasswordHasher(): Promise<PasswordHasher> {
  const decoy = await hash('decoy-password-never-matches', OPTIONS);
  return {
    hash: (password) => hash(password, OPTIONS),
    async verify(stored, password) {
      if (!stored) {
        await verify(decoy, `${password}\u0000`).catch(() => false);
        return false;
      }
      return verify(stored, password).catch(() => false);
    },
  };
}
