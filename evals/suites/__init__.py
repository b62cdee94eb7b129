"""One module per dataset: how its cases run and are scored (see ``evals.suite``)."""
