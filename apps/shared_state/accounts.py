"""What both variants share: the user row the profile route reads, from PostgreSQL (a real await)."""

USER = "SELECT id, name, email FROM users WHERE id = $1"
