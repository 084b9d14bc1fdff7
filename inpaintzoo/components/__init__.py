"""Components that ship with the core (family `core`): small, generic, and used by the tests."""
