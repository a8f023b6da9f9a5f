"""What the engine keeps of signers, and for how long: retention of personal data after a
petition closes, and the record of the consent wording each signer was shown."""
