"""Training: plain functions (train_one_epoch, evaluate, fit), checkpoints, loggers, tasks."""
