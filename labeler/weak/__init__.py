"""Weak supervision: labeling functions, label matrix, label model, propagation."""
