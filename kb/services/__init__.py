"""Use cases. Services take the acting user (and ``now``) as arguments, check permissions
themselves, and are the only code that commits."""
