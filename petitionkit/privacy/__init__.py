"""What the engine keeps of signers, and what a signer can ask of it: erasure (the command, the
"delete my data" link and "it wasn't me"), the report an operator gives for a data-access
request, retention of personal data after a petition closes, and the record of the consent
wording each signer was shown."""
