"""The lender and guarantor back-office console, served by the gateway at /console."""
