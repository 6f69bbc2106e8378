"""Results: extraction by column position, verification, report tables, sourcing, explanations."""
