export { canonicalJson } from "./canonical-json.js";
export { generateKeyPair, KeyFormatError, keyIdOf, parsePublicKey, type ReleaseKeyPair } from "./keys.js";
export {
  parseSignature,
  ReleasePayload,
  Signature,
  SignatureError,
  type SignatureFailure,
  signatureFailures,
  signRelease,
  verifyRelease,
} from "./signature.js";
export {
  loadTrustedKeys,
  type ReleaseTrustInput,
  type ReleaseTrustResult,
  verifyReleaseTrust,
} from "./trust.js";
