"""Matching service: lender and guarantor products, applications, offers, capacity and loans."""
