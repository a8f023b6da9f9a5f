# Copy to instance/config.py and adjust. Environment variables PETITIONKIT_* override these.
# Every setting is described in docs/configuration.md.
# Generate a secret with: python -c 'import secrets; print(secrets.token_hex(32))'
SECRET_KEY = "replace-with-a-long-random-string"
# Keep this one stable for the life of the instance: it deduplicates signers.
BLIND_INDEX_KEY = "replace-with-another-long-random-string"
PUBLIC_URL = "https://petitions.example.org"
MAIL_FROM = "Our campaign <petitions@example.org>"
# MAIL_URL = "smtp://user:password@smtp.example.org:587"
# The key pair signers' personal data is sealed to (`petitionkit keys generate`, docs/privacy.md).
# This one process takes signatures and delivers their mail, which reads the addresses, so it
# holds the private key too; without it, it refuses to start. With workers delivering instead
# (OUTBOX_INPROCESS_WORKER = False below), leave the private key off the web hosts.
DATA_PRIVATE_KEY_FILE = "data.key"

# Scaling out: PostgreSQL, Redis for shared rate limits, and `petitionkit worker` processes.
# DATABASE_URL = "postgresql+psycopg://petitionkit@127.0.0.1/petitionkit"
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"
# OUTBOX_INPROCESS_WORKER = False

# TRUSTED_PROXIES = 1
# RATELIMIT_SIGN = "10/minute;60/hour"
