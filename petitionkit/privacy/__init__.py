"""A signer's rights over their data: erasure (the command, the "delete my data" link and
"it wasn't me") and the report an operator gives for a data-access request."""
