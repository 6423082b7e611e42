"""The settings the test suite runs with: the desk's own, with passwords hashed in one round.

PBKDF2's million rounds take 0.3–0.6 s a password on a CI machine, and hundreds of tests make
an agent or sign one in (the demo seeds a dozen users for each browser test). Django's testing
docs advise a fast hasher for tests. pytest-django exports this module's name, so the daphne
and worker processes the tests start read the same settings and can check what the tests hashed.
"""

from supportdesk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
