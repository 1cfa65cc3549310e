"""One module per step; each has run(ctx, args) -> Result."""
