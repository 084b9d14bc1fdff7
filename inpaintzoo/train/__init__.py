"""The training loop shared by every model in the zoo."""
