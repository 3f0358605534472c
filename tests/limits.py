"""The one bound on every wait in the suite."""

# Seconds. Tests wait on events, never on sleeps, and every wait is under this bound.
TIMEOUT = 30.0
