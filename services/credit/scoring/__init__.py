"""PD models: estimators, score scaling, reason codes and the model registry."""
