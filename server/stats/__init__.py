"""Quick statistics and traffic-light classification (pure: no Flask, no Redis)."""
