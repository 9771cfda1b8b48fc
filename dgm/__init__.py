"""dgm: a Darwin Gödel Machine. The loop, meta agent, LLM gateway, config and CLI."""
