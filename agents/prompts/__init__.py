"""Prompt templates of the agents, one module per agent, apart from their logic."""
