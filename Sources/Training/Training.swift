// The Training module: layers, losses, optimizers and the trainer.
