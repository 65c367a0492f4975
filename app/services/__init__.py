"""Use-cases over a Session, one module per topic; each write owns its commit."""
