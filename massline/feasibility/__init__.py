"""One-month feasibility reports: the public, dated answer to every successful priority."""
