/** A verification begun: send the user's browser to `authUrl`; keep the rest server-side. */
export interface StartedVerification {
  /** Ours, 30 characters; the provider echoes it in the result. */
  transactionId: string;
  /** The provider's window (a GET URL carrying the encrypted request). */
  authUrl: string;
  /** After this the provider refuses to complete the verification and `result` says `expired`. */
  expiresAt: Date;
  /**
   * What `result` needs to check and decrypt the provider's answer (the symmetric key's inputs).
   * Store it with the pending verification, never in the browser, and drop it once used.
   */
  resumeSecret: string;
}

/**
 * The parameters the provider's window sends to `returnUrl` when the user is done (query string
 * or form body): NICE's `token_version_id`, `enc_data`, `integrity_value`. Pass them as received.
 */
export type ReturnedParams = Record<string, unknown>;

export type Gender = 'female' | 'male';
export type Nationality = 'domestic' | 'foreign';
export type MobileCarrier = 'SKT' | 'KT' | 'LGU+' | 'SKT_MVNO' | 'KT_MVNO' | 'LGU+_MVNO';

/** The person the provider vouches for. */
export interface VerifiedIdentity {
  transactionId: string;
  name: string;
  /** `YYYY-MM-DD`. */
  birthDate: string;
  gender: Gender;
  nationality: Nationality;
  /** E.164, `+821012345678`. */
  phone: string;
  mobileCarrier: MobileCarrier;
  /** Connecting Information: 88 characters, the same for one person at every site. */
  ci: string;
  /** Duplication Information: stable per person and per site (our site code). */
  di: string;
  /** When the provider sealed the result. */
  verifiedAt: Date;
}

/**
 * The port for 본인인증 (identity verification through a mobile carrier).
 *
 * `result` decrypts what the browser brought back; it does not remember what it has seen. The
 * caller makes a result single-use by deleting (or marking) the pending verification when it
 * reads it, so a replayed callback finds no `resumeSecret`.
 */
export interface IdentityVerifier {
  start(p: { returnUrl: string }, options?: { signal?: AbortSignal }): Promise<StartedVerification>;
  result(transactionId: string, p: { resumeSecret: string; returned: ReturnedParams }): Promise<VerifiedIdentity>;
}

export type IdentityVerificationErrorCode = 'not_completed' | 'expired' | 'not_found' | 'unauthorized' | 'provider_unavailable' | 'invalid_response';

/** A verification that could not be started or whose result cannot be trusted. */
export class IdentityVerificationError extends Error {
  /** Whether trying again (a new `start`, or the same call later) can succeed. */
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** The provider's own code (NICE `GW_RSLT_CD`, `rsp_cd` or `result_cd`), when it gave one. */
  readonly providerCode: string | undefined;

  constructor(
    readonly code: IdentityVerificationErrorCode,
    message: string,
    details: { retryable: boolean; status?: number; providerCode?: string; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'IdentityVerificationError';
    this.retryable = details.retryable;
    this.status = details.status;
    this.providerCode = details.providerCode;
  }
}
