"""Training and evaluation (``pip install lipsim[train]``): distillation, 2AFC fine-tuning, evaluation."""
