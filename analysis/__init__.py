"""partnersim's tooling around the model: scenarios, experiments, analyses, reports, CLI."""
