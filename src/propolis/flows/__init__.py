"""Workflows that span domains: each calls the services of the domains it touches, inside
the caller's transaction, and owns no table. Front doors (routes, CLI, automation) call
them; domain services never do (they sit below, see the import-linter contract)."""
