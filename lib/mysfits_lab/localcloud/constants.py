"""Facts every part of the local cloud shares. Imports nothing, so anyone may import it cheaply
(``Lab`` does, without loading a single provider into the notebook kernel)."""

# moto's default account; every ARN on the local cloud carries it.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
LOOPBACK = "127.0.0.1"

# What the edge accepts as credentials, and what child processes are given.
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"
DUMMY_CREDENTIALS = {
    "aws_access_key_id": DUMMY_ACCESS_KEY,
    "aws_secret_access_key": DUMMY_SECRET_KEY,
}

# JSON endpoints for the CLI, lib, shims and tests: /_localcloud/<provider>/...
CONTROL_PREFIX = "/_localcloud/"

# Loopback runs timers (health checks, draining) this much faster than AWS.
DEFAULT_TIME_SCALE = 0.1
