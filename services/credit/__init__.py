"""Credit service: firms, transactions, monthly metrics, models and scores."""
