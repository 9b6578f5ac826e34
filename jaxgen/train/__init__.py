"""The one training loop, its step kinds, parallelism, checkpoints and logging."""
