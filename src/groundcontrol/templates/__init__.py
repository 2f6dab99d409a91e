"""Templates: sandboxed rendering, locale fallback, context, checks, overrides and transfer."""
