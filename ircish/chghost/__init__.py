"""chghost: CHGHOST, an operator changing a user's username and host."""
