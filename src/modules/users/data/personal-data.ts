/**
 * How the users component protects personal data at rest: values encrypted with AES-256-GCM
 * bound to their row (AAD), lookups through a keyed blind index. Implemented by the platform's
 * field cipher.
 */
export interface PersonalDataCipher {
  encrypt(plaintext: string, aad: string): string;
  decrypt(value: string, aad: string): string;
  blindIndex(normalisedValue: string, purpose: string): string;
}
