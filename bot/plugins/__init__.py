"""What a deployment runs with beyond the built-ins: the shop's own flow vocabulary."""
