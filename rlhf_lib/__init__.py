"""rlhf_lib: the small library behind the course. One module per stage:

config (profiles and sizes), models (base model), data (preference data), annotate (annotators),
reward (reward model), metrics (validation), ppo (RL fine-tuning), plots, report (course figures).
"""

__version__ = "0.1.0"
