"""People: phone registration, verification, passwords, tokens and scoped roles."""
