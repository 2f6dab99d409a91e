"""The ops dashboard: the golden thread for operators, under `/ops`, behind the studio's sign-in."""
