"""The records bluegreen keeps: this run's plan and the stage's state, their stores, what readiness allows."""
