export {
  IdentityVerificationError,
  type Gender,
  type IdentityVerificationErrorCode,
  type IdentityVerifier,
  type MobileCarrier,
  type Nationality,
  type ReturnedParams,
  type StartedVerification,
  type VerifiedIdentity,
} from './identity-verifier';
export { createNiceIdentityVerifier, NICE_PATHS, niceIntegrity, niceSymmetricKey, type NiceOptions } from './nice-client';
export {
  completeVerification,
  NICE_SIMULATOR_DEFAULTS,
  startNiceSimulator,
  type CompletedVerification,
  type NiceSimulator,
  type NiceSimulatorOptions,
  type SimulatedPerson,
} from './nice-simulator';
